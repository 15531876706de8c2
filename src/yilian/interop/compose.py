"""Writing HL7 v2.5 messages as a member's LIS or HIS would send them: ORU^R01 (results) and ADT^A04/A08
(registration, update). Used by the demo (which drives the real listener), the benchmark and the tests;
a site can use it to try its listener (`yilian hl7 send`).

Text is escaped with HL7's escape sequences (\\F\\ \\S\\ \\R\\ \\E\\ \\T\\), segments end with a carriage
return, times are written with their offset (`20261123083000+0800`).
"""

from dataclasses import dataclass, field
from datetime import date, datetime

ESCAPES = {"\\": "\\E\\", "|": "\\F\\", "^": "\\S\\", "~": "\\R\\", "&": "\\T\\"}


def esc(text) -> str:
    return "".join(ESCAPES.get(c, c) for c in str(text)).replace("\r", " ").replace("\n", " ")


def number(text: str) -> float | int | None:
    """A value written as a number (for a FHIR valueQuantity), or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in text else value


def ts(moment: datetime | date | None) -> str:
    if moment is None:
        return ""
    if isinstance(moment, datetime):
        return moment.strftime("%Y%m%d%H%M%S%z")
    return moment.strftime("%Y%m%d")


@dataclass
class Person:
    """What PID carries: identifiers as (type code, value, assigning authority) — NNCHN for a resident ID,
    MR for a record number — and the demographics."""

    identifiers: list[tuple[str, str, str]]
    name: str = ""
    sex: str = ""  # HL7 table 0001: M, F, O, U
    birth_date: date | None = None
    phone: str = ""
    address: str = ""


@dataclass
class Value:
    code: str
    name: str
    value: str
    unit: str = ""
    reference: str = ""
    flag: str = ""
    loinc: str = ""
    kind: str = "NM"  # HL7 value type: NM, ST, TX


@dataclass
class Result:
    """One OBR group: a panel or an exam, its filler number, status (F, P, C, X) and times."""

    filler: str
    code: str
    name: str
    collected_at: datetime
    reported_at: datetime
    ordered_at: datetime | None = None
    status: str = "F"
    values: list[Value] = field(default_factory=list)


def _msh(application: str, facility: str, control_id: str, kind: str, at: datetime) -> str:
    return f"MSH|^~\\&|{esc(application)}|{esc(facility)}|YILIAN|YILIAN|{ts(at)}||{kind}|{esc(control_id)}|P|2.5|||AL|NE||UNICODE UTF-8"


def _pid(person: Person) -> str:
    ids = "~".join(f"{esc(value)}^^^{esc(authority)}^{esc(code)}" for code, value, authority in person.identifiers)
    return (f"PID|1||{ids}||{esc(person.name)}||{ts(person.birth_date)}|{person.sex}|||{esc(person.address)}||"
            f"{esc(person.phone)}")


def oru_r01(application: str, facility: str, control_id: str, person: Person, results: list[Result],
            at: datetime) -> str:
    segments = [_msh(application, facility, control_id, "ORU^R01^ORU_R01", at), _pid(person)]
    for i, result in enumerate(results, 1):
        obr = [""] * 26
        obr[:8] = ["OBR", str(i), "", esc(result.filler), f"{esc(result.code)}^{esc(result.name)}^L", "",
                   ts(result.ordered_at), ts(result.collected_at)]
        obr[22], obr[25] = ts(result.reported_at), result.status
        segments.append("|".join(obr))
        for j, v in enumerate(result.values, 1):
            code = f"{esc(v.loinc)}^{esc(v.name)}^LN^{esc(v.code)}^{esc(v.name)}^L" if v.loinc else \
                f"{esc(v.code)}^{esc(v.name)}^L"
            segments.append(f"OBX|{j}|{v.kind}|{code}||{esc(v.value)}|{esc(v.unit)}|{esc(v.reference)}|{v.flag}|||"
                            f"{result.status}|||{ts(result.collected_at)}")
    return "\r".join(segments) + "\r"


def adt(application: str, facility: str, control_id: str, person: Person, at: datetime, event: str = "A04") -> str:
    return "\r".join([_msh(application, facility, control_id, f"ADT^{event}^ADT_A01", at),
                      f"EVN|{event}|{ts(at)}", _pid(person), "PV1|1|O"]) + "\r"
