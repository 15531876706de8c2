"""Test data for the HL7 v2 tests: a township LIS registered as a sender, and its messages written by
`interop.compose` as a real LIS would."""

import itertools
from datetime import datetime
from zoneinfo import ZoneInfo

from yilian.interop import compose
from yilian.interop.hl7_parse import parse, value
from yilian.interop.senders import NewSender, do_register_sender
from yilian.network.acting import SYSTEM

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 11, 20, 8, 0, tzinfo=SH)
REPORTED = datetime(2026, 11, 20, 10, 30, tzinfo=SH)
APPLICATION, FACILITY = "TW-LIS", "T-W01"
_fillers = itertools.count(1)


def make_sender(network, code: str = "TW-LIS", application: str = APPLICATION, facility: str = FACILITY):
    sender, _token = do_register_sender(SYSTEM, NewSender(code, "城关卫生院检验系统", network.township.pk,
                                                          hl7_application=application, hl7_facility=facility))
    return sender


def person(patient=None, *, mrn: str = "", resident_id: bool = True, **demographics) -> compose.Person:
    ids = []
    if patient is not None and resident_id and patient.resident_id:
        ids.append(("NNCHN", patient.resident_id, ""))
    if mrn:
        ids.append(("MR", mrn, ""))
    if patient is not None:
        demographics = {"name": patient.name, "sex": {"1": "M", "2": "F"}.get(patient.sex, "U"),
                        "birth_date": patient.birth_date} | demographics
    return compose.Person(ids, **demographics)


def electrolytes(filler: str = "", status: str = "F", potassium: str = "4.1") -> compose.Result:
    return compose.Result(filler or f"F{next(_fillers):05d}", "ELEC", "电解质", AT, REPORTED, status=status, values=[
        compose.Value("K", "钾", potassium, "mmol/L", loinc="2823-3"),
        compose.Value("NA", "钠", "140", "mmol/L", loinc="2951-2"),
        compose.Value("CL", "氯", "95", "mmol/L", "96-108", "L", loinc="2075-0")])


def chest_ct(filler: str = "") -> compose.Result:
    return compose.Result(filler or f"F{next(_fillers):05d}", "CT-CHEST", "胸部CT平扫", AT, REPORTED, values=[
        compose.Value("FINDINGS", "检查所见", "双肺纹理清晰，未见实变影。", kind="TX"),
        compose.Value("IMPRESSION", "诊断意见", "胸部CT平扫未见明显异常。", kind="TX")])


def oru(control_id: str, who: compose.Person, results=None, application: str = APPLICATION,
        facility: str = FACILITY) -> str:
    return compose.oru_r01(application, facility, control_id, who, results or [electrolytes()], REPORTED)


def adt(control_id: str, who: compose.Person, event: str = "A04") -> str:
    return compose.adt(APPLICATION, FACILITY, control_id, who, REPORTED, event=event)


def msa(ack: str) -> list[str]:
    """MSA-1, MSA-2, MSA-3 of an ACK."""
    segment = next(s for s in ack.split("\r") if s.startswith("MSA"))
    return (segment.split("|") + ["", ""])[1:4]


def err(ack: str) -> list[str]:
    """The ERR segment's fields, unescaped (ERR-3 whole, as code^text^HL70357)."""
    segment = parse(ack).segment("ERR")
    return ["ERR"] + [value(segment, i) if i != 3 else str(segment[3]) for i in range(1, len(segment))]
