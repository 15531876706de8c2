"""Reading HL7 v2: timestamps, escapes, PID-3 identifiers, and ORU^R01 into reports (no database needed
except for the catalogue and the sender)."""

from datetime import UTC, datetime

import hl7
import pytest

from yilian.interop import compose, oru
from yilian.interop.hl7_parse import Reject, header, loose_header, parse, timestamp, value
from yilian.interop.pid import identifiers, person, pid_segment
from yilian.interop.tests import hl7_data as d
from yilian.patients import residentid
from yilian.testing.factories import make_network

RID = residentid.make("330782", datetime(1960, 5, 1).date(), 11)


@pytest.fixture
def lis(db):
    return d.make_sender(make_network())


def seg(name: str, **fields) -> str:
    """A segment from its fields by number: seg("OBR", f3="F1", f25="F")."""
    numbered = {int(k[1:]): v for k, v in fields.items()}
    return "|".join([name] + [numbered.get(i, "") for i in range(1, max(numbered) + 1)])


def obr(code="ELEC", filler="F1", collected="20261120", status="F", **more) -> str:
    return seg("OBR", f1="1", f3=filler, f4=code, f7=collected, f22="20261120103000", f25=status, **more)


def obx(n, kind, code, val, unit="", status="F", **more) -> str:
    return seg("OBX", f1=str(n), f2=kind, f3=code, f5=val, f6=unit, f11=status, **more)


def reports(text, sender):
    message = parse(text)
    return oru.reports(message, header(message), sender)


def test_timestamps_keep_their_offset_or_are_china_time():
    assert timestamp("20261120080000+0800", "x") == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert timestamp("202611200800", "x") == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # Asia/Shanghai
    assert timestamp("20261120", "x").utcoffset().total_seconds() == 8 * 3600
    assert timestamp("20261120080000.25-0500", "x") == datetime(2026, 11, 20, 13, 0, 0, 250000, tzinfo=UTC)
    assert timestamp("", "x") is None
    for bad in ("2026132001", "2026-11-20", "20261120+99", "20261120080000+2500"):
        with pytest.raises(Reject) as exc:
            timestamp(bad, "OBR^1^7")
        assert exc.value.code == 102 and exc.value.location == "OBR^1^7"


def _tree(node):
    """A parsed message as plain data: each container's class, attributes and children."""
    if isinstance(node, str):
        return node
    return type(node).__name__, sorted(vars(node).items(), key=lambda kv: kv[0]), [_tree(child) for child in node]


@pytest.mark.parametrize("text", [
    d.oru("C1", d.person(mrn="TW-1", name="王小明", birth_date=datetime(1960, 5, 1).date()),
          [d.electrolytes("F1"), d.chest_ct("F2")]),
    d.adt("A1", d.person(mrn="TW-2", resident_id=False, name="李四")),
    "MSH|^~\\&|A|F|||20261120||ORU^R01|C1|P|2.5\rPID|1||12^^^H&1.2&ISO^MR~34^^^^NNCHN||a\\F\\b^c~d\rOBX|1|NM|x^y||",
    "MSH#$%*@#A#F###20261120##ORU$R01#C2#P#2.5\rPID#1##12$$$H@H2$MR%34*F*x",  # other separators
])
def test_the_faster_parse_gives_python_hl7s_own_containers(text):
    assert _tree(parse(text)) == _tree(hl7.parse(text.strip()))


def test_values_are_unescaped_and_missing_ones_are_empty():
    message = parse("MSH|^~\\&|A|F|||20261120||ORU^R01|C1|P|2.5\rNTE|1|L|a\\F\\b\\S\\c\\T\\d\\E\\e\\.br\\f\\XE4B8AD\\\r"
                    "PID|1||12^^^H^MR~34^^^^NNCHN")
    nte, pid = message.segment("NTE"), message.segment("PID")
    assert value(nte, 3) == "a|b^c&d\\e\nf中"
    assert value(pid, 3, 1, 2) == "34" and value(pid, 3, 5, 2) == "NNCHN"
    assert value(pid, 3, 1, 3) == "" and value(pid, 30) == "" and value(pid, 3, 9) == ""
    assert value(nte, 3, 2) == ""  # a component of a plain value


def test_the_header_and_what_cannot_be_parsed():
    head = header(parse("MSH|^~\\&|LIS^1.2^ISO|T-W01|YL|YL|20261120||ORU^R01^ORU_R01|C1|P|2.5.1\r"))
    assert (head.application, head.application_id, head.facility_id) == ("LIS^1.2^ISO", "LIS", "T-W01")
    assert (head.control_id, head.message_type, head.trigger, head.version) == ("C1", "ORU^R01", "R01", "2.5.1")
    for bad, code in (("PID|1", 100), ("MSH|^~\\&|A|F|||20261120||ORU^R01||P|2.5", 101),
                      ("MSH|^~\\&||F|||20261120||ORU^R01|C1|P|2.5", 101),
                      ("MSH|^~\\&|A|F|||20261120||ORU^R01|C1|P|3.0", 203),
                      ("MSH|^~\\&|A|F|||20261120||ORU^R01|C1|P|2.5\rpid|1", 100),
                      ("MSH|^~\\&|A|F|||20261120||ORU^R01|C1|P|2.5\rPID 1", 100),
                      ("MSH|^~\\&|A|F|||2026-11-20||ORU^R01|C1|P|2.5", 102)):
        with pytest.raises(Reject) as exc:
            header(parse(bad))
        assert exc.value.code == code, bad
    assert loose_header("MSH|^~\\&|LIS|F|||x||ORU^R01|C9|P\r\xff") == ("LIS", "C9", "ORU^R01")
    assert loose_header("garbage") == ("", "", "")


def test_pid3_identifiers_are_typed_by_cx5(lis):
    text = d.oru("C1", compose.Person([("NNCHN", RID.lower(), ""), ("MR", "m-001", ""), ("MR", "99", "T-H01"),
                                       ("SS", "A1234567", ""), ("PPN", "E1234567", "CHN"), ("XX", "1", ""),
                                       ("", "777", "")], name="张三"))
    got = identifiers(pid_segment(parse(text)), lis)
    assert [(i.type, i.system, i.value) for i in got] == [
        ("resident_id", "GB11643", RID), ("mrn", "T-W01", "M-001"), ("mrn", "T-H01", "99"),
        ("insurance", "330782", "A1234567"), ("passport", "CHN", "E1234567"), ("mrn", "T-W01", "777")]


def test_demographics_of_pid():
    message = parse("MSH|^~\\&|A|F|||20261120||ADT^A04|C1|P|2.5\rPID|1||1^^^^MR||欧阳^明||19600501|F|||"
                    "东山村3组^^义乌市^浙江省^^^^^城关镇||+86 139 0000 1234\r")
    who = person(pid_segment(message))
    assert (who.name, who.sex, who.birth_date.isoformat()) == ("欧阳明", "2", "1960-05-01")
    assert who.phone == "13900001234" and who.address == "浙江省义乌市城关镇东山村3组"
    cleared = person(pid_segment(parse('MSH|^~\\&|A|F|||20261120||ADT^A08|C1|P|2.5\rPID|1||1||SMITH^JOHN|||M|||'
                                       '""||""\r')))
    assert cleared.name == "JOHN SMITH" and cleared.cleared == {"phone", "address"}


def test_an_oru_becomes_one_report_per_obr(lis):
    text = d.oru("C1", d.person(mrn="M1", resident_id=False), [d.electrolytes("F1", potassium="6.8"), d.chest_ct("F2")])
    lab, ct = reports(text, lis)
    assert (lab.identifier_system, lab.identifier_value, lab.code, lab.status) == ("TW-LIS:filler", "F1", "ELEC", "final")
    assert lab.collected_at == d.AT and lab.reported_at == d.REPORTED and lab.institution_id == lis.institution_id
    assert [(o.code, o.loinc, o.value, o.unit) for o in lab.observations] == [
        ("K", "2823-3", "6.8", "mmol/L"), ("NA", "2951-2", "140", "mmol/L"), ("CL", "2075-0", "95", "mmol/L")]
    assert lab.observations[2].flag == "L" and lab.observations[2].reference == "96-108"
    assert (ct.code, ct.observations) == ("CT-CHEST", [])
    assert ct.conclusion == "检查所见：双肺纹理清晰，未见实变影。\n诊断意见：胸部CT平扫未见明显异常。"


def test_codes_statuses_and_values_of_an_oru(lis):
    base = "MSH|^~\\&|TW-LIS|T-W01|||20261120110000||ORU^R01|C1|P|2.5\rPID|1||M1^^^^MR\r"
    text = base + "\r".join([
        obr("BLD-GAS^血气^L", filler="F9", collected="", status="", f6="20261120070000"),
        obx(1, "NM", "K^钾^L", "3.2", "mmol/L", "C", f7="3.5-5.3", f8="L", f14="20261120075500"),
        obx(2, "SN", "X1^稀释度^L", "^1^:^40"),
        obx(3, "CWE", "U-PRO^尿蛋白^L", "POS^阳性^L"),
        obx(4, "NM", "99999-9^某项目^LN", "1.5", "mg/L"),
        obx(5, "NM", "NA^钠^L", ""),  # no value: not a result
        obx(6, "NM", "CL^氯^L", "100", status="X"),  # not done
    ])
    (report,) = reports(text, lis)
    assert (report.code, report.name, report.status) == ("BLD-GAS", "血气", "amended")  # OBX-11 C
    assert report.ordered_at == datetime(2026, 11, 19, 23, 0, tzinfo=UTC)
    assert report.collected_at == datetime(2026, 11, 19, 23, 55, tzinfo=UTC)  # no OBR-7: the first OBX-14
    assert [(o.code, o.value, o.loinc) for o in report.observations] == [
        ("K", "3.2", "2823-3"), ("X1", "1:40", ""), ("U-PRO", "阳性", "5804-0"), ("99999-9", "1.5", "99999-9")]
    assert report.observations[0].reference == "3.5-5.3" and report.observations[0].flag == "L"
    for status, expected in (("P", "preliminary"), ("F", "final"), ("C", "amended"), ("X", "cancelled")):
        (r,) = reports(base + obr("CBC", status=status), lis)
        assert r.status == expected and r.code == "CBC" and r.name == "血常规"


@pytest.mark.parametrize(("segments", "code", "location"), [
    (obx(1, "NM", "K", "4"), 100, "OBX^3"),  # an OBX before any OBR
    ("NTE|1", 101, "OBR^1"),  # no OBR
    (obr(filler=""), 101, "OBR^1^3"),
    (obr(filler="F" * 65), 102, "OBR^1^3"),
    (obr(code=""), 101, "OBR^1^4"),
    (obr(code="X" * 21), 102, "OBR^1^4"),
    (obr(collected="") + "\r" + obx(1, "NM", "K", "4"), 101, "OBR^1^7"),
    (obr(status="Q"), 103, "OBR^1^25"),
    (obr(status="") + "\r" + obx(1, "NM", "K", "4", status=""), 101, "OBR^1^25"),
    (obr(collected="2026112"), 102, "OBR^1^7"),
])
def test_bad_orus_are_rejected_with_the_place(lis, segments, code, location):
    text = "MSH|^~\\&|TW-LIS|T-W01|||20261120||ORU^R01|C1|P|2.5\rPID|1||M1^^^^MR\r" + segments
    with pytest.raises(Reject) as exc:
        reports(text, lis)
    assert (exc.value.code, exc.value.location) == (code, location)
