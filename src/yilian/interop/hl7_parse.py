"""Reading an HL7 v2 message (v2.3 to v2.5.1) with python-hl7: the header, fields by position, timestamps.

Everything that makes a message unreadable raises `Reject`, carrying the HL7 error code (table 0357), the
place (`PID^1^3`: segment, its sequence, field) and a reason for the ERR segment. The reason is written
here, never copied from the parser's exception, whose text quotes the message (patient data).

Field values are read with `value(segment, field, component, repetition, subcomponent)`, 1-based as HL7
numbers them; a value that is not there is "". Escapes (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ \\X..\\ \\.br\\) are
undone here rather than by python-hl7, whose unescape logs the field it cannot read.
"""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import hl7
import hl7.parser
from django.utils.translation import gettext as _

LOCAL = ZoneInfo("Asia/Shanghai")  # a timestamp without offset is the sender's local time: China's
TS = re.compile(r"^(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2}(?:\.\d{1,4})?)?([+-]\d{4})?$", re.ASCII)

# HL7 table 0357 (message error condition codes)
SEGMENT_SEQUENCE = 100
REQUIRED_MISSING = 101
DATA_TYPE = 102
TABLE_VALUE = 103
UNSUPPORTED_TYPE = 200
UNSUPPORTED_EVENT = 201
UNSUPPORTED_VERSION = 203
UNKNOWN_KEY = 204
INTERNAL = 207


class Reject(Exception):
    """The message cannot be accepted as sent (answered AR)."""

    def __init__(self, reason: str, code: int = SEGMENT_SEQUENCE, location: str = ""):
        super().__init__(reason)
        self.reason, self.code, self.location = reason, code, location


@dataclass(frozen=True)
class Header:
    application: str  # MSH-3 as received (all its components)
    application_id: str  # MSH-3.1, the namespace id a Sender is configured with
    facility_id: str  # MSH-4.1
    receiving_application: str  # MSH-5
    receiving_facility: str  # MSH-6
    control_id: str  # MSH-10
    message_type: str  # MSH-9.1^MSH-9.2, e.g. ORU^R01
    trigger: str  # MSH-9.2
    processing_id: str  # MSH-11
    version: str  # MSH-12
    sent_at: datetime | None  # MSH-7


def _unescape(text: str, esc: str, separators: str) -> str:
    if esc not in text:
        return text
    out, i = [], 0
    simple = {"F": separators[1], "S": separators[3], "R": separators[2], "T": separators[4], "E": esc,
              ".br": "\n", ".sp": "\n", "H": "", "N": ""}
    while i < len(text):
        end = text.find(esc, i + 1) if text[i] == esc else -1
        if end < 0:
            out.append(text[i])
            i += 1
            continue
        code = text[i + 1:end]
        if code in simple:
            out.append(simple[code])
        elif code[:1] == "X" and re.fullmatch(r"(?:[0-9A-Fa-f]{2})+", code[1:]):
            out.append(bytes.fromhex(code[1:]).decode("utf-8", "replace"))
        # anything else (character-set switches, unknown escapes) is dropped, as the standard allows
        i = end + 1
    return "".join(out)


def value(segment, field: int, component: int = 1, repetition: int = 1, subcomponent: int = 1) -> str:
    """One value of a segment, unescaped and stripped; "" when it is not there."""
    if field >= len(segment):
        return ""
    f = segment[field]
    if len(f) < repetition:
        return ""
    part = f[repetition - 1]
    for index in (component, subcomponent):
        if isinstance(part, str):
            if index != 1:
                return ""
            break
        if len(part) < index:
            return ""
        part = part[index - 1]
    while not isinstance(part, str):  # a deeper tree than asked for: its first leaf
        part = part[0] if len(part) else ""
    return _unescape(part, segment.esc, segment.separators).strip()


def repetitions(segment, field: int) -> int:
    return len(segment[field]) if field < len(segment) else 0


def raw_field(segment, field: int) -> str:
    return str(segment[field]) if field < len(segment) else ""


def timestamp(text: str, where: str, required: bool = False) -> datetime | None:
    """An HL7 TS/DTM (`YYYY[MM[DD[HH[MM[SS[.S]]]]]][+/-ZZZZ]`) as an aware datetime: its own offset, or
    Asia/Shanghai when it has none. Empty: None, or Reject when `required`."""
    if not text:
        if required:
            raise Reject(_("A required time is missing."), REQUIRED_MISSING, where)
        return None
    match = TS.match(text)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second, offset = match.groups()
        seconds = float(second or 0)
        at = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
                      int(seconds), int(round((seconds % 1) * 1_000_000)) % 1_000_000, tzinfo=LOCAL)
        if offset:
            sign = -1 if offset[0] == "-" else 1
            minutes = int(offset[1:3]) * 60 + int(offset[3:5])
            if int(offset[1:3]) > 14 or int(offset[3:5]) > 59:
                raise ValueError
            at = at.replace(tzinfo=timezone(sign * timedelta(minutes=minutes)))
    except ValueError:
        raise Reject(_("A time is not a valid HL7 timestamp (YYYYMMDDHHMMSS, optionally +ZZZZ)."), DATA_TYPE,
                     where) from None
    return at


class _Plan(hl7.parser._ParsePlan):
    """python-hl7's parse plan, made cheaper where python-hl7 0.4 spends its time (docs/hl7.md, "Performance"):
    each level's next plan and separators are worked out once (python-hl7 makes a new plan for every piece of
    the message), whether a piece splits further is one regular-expression search, and a container is made
    with the attributes its class's `__init__` would give it without running the `__init__` chain. The same
    containers come out, attributes included (`test_hl7_parse`: compared with `hl7.parse`)."""

    def __init__(self, *args):
        super().__init__(*args)
        self._search = re.compile(f"[{re.escape(self.separators[self.separators.find(self.separator):])}]").search
        self._next: _Plan | None | bool = False
        self._kind = self.containers[0]
        self._attributes = {"separator": self.separator, "esc": self.esc, "separators": self.separators,
                            "factory": self.factory}

    def next(self):
        if self._next is False:
            self._next = super().next()
        return self._next

    def applies(self, text: str) -> bool:
        return self._search(text) is not None

    def container(self, data):
        made = self._kind.__new__(self._kind)
        list.__init__(made, data)
        made.__dict__.update(self._attributes)
        return made


def _hl7_parse(text: str):
    """`hl7.parse(text)`, with `_Plan` (python-hl7 0.4's own `_split` does the work)."""
    split = getattr(hl7.parser, "_split", None)
    if split is None:  # another python-hl7 than the one this was written for
        return hl7.parse(text)
    text = text.strip()
    plan = hl7.parser.create_parse_plan(text)
    return split(text, _Plan(plan.separator, plan.separators, plan.containers, plan.esc, plan.factory))


def parse(text: str):
    """The python-hl7 message, after the checks every message must pass (starts with MSH, segments named by
    three characters, no NUL)."""
    lines = text.replace("\r\n", "\r").replace("\n", "\r").split("\r")
    text = "\r".join(line for line in lines if line.strip()).strip().lstrip("\ufeff")  # blank lines: no segments
    if not text.startswith("MSH") or len(text) < 8:
        raise Reject(_("The message does not start with an MSH segment."), SEGMENT_SEQUENCE, "MSH^1")
    if "\x00" in text:
        raise Reject(_("The message contains a NUL character."), DATA_TYPE)
    field_separator = text[3]
    for n, line in enumerate(text.split("\r"), start=1):
        if len(line) < 3 or not re.fullmatch(r"[A-Z][A-Z0-9]{2}", line[:3]) or (
                len(line) > 3 and line[3] != field_separator):
            raise Reject(_("Segment %(n)d is not a valid segment (a three-character name and fields).") % {"n": n},
                         SEGMENT_SEQUENCE, f"^{n}")
    try:
        return _hl7_parse(text)
    except Exception:  # python-hl7 raises several kinds; its text quotes the message
        raise Reject(_("The message cannot be parsed as HL7 v2."), SEGMENT_SEQUENCE) from None


def header(message) -> Header:
    msh = message.segment("MSH")
    control_id = value(msh, 10)
    if not control_id:
        raise Reject(_("The message has no control ID (MSH-10)."), REQUIRED_MISSING, "MSH^1^10")
    if len(control_id) > 199:
        raise Reject(_("The control ID (MSH-10) is longer than 199 characters."), DATA_TYPE, "MSH^1^10")
    application = raw_field(msh, 3)
    if not value(msh, 3):
        raise Reject(_("The message names no sending application (MSH-3)."), REQUIRED_MISSING, "MSH^1^3")
    if len(application) > 180:
        raise Reject(_("The sending application (MSH-3) is longer than 180 characters."), DATA_TYPE, "MSH^1^3")
    kind, trigger = value(msh, 9, 1), value(msh, 9, 2)
    version = value(msh, 12)
    if version and not version.startswith("2."):
        raise Reject(_("Only HL7 version 2 messages are accepted (MSH-12)."), UNSUPPORTED_VERSION, "MSH^1^12")
    return Header(application=application, application_id=value(msh, 3), facility_id=value(msh, 4),
                  receiving_application=raw_field(msh, 5), receiving_facility=raw_field(msh, 6),
                  control_id=control_id, message_type=f"{kind}^{trigger}"[:20], trigger=trigger,
                  processing_id=value(msh, 11), version=version, sent_at=timestamp(value(msh, 7), "MSH^1^7"))


def loose_header(text: str) -> tuple[str, str, str]:
    """(MSH-3, MSH-10, MSH-9) of a text that could not be parsed, as far as they can be read, for the
    rejection's ACK and row."""
    line = text.lstrip().split("\r", 1)[0].split("\n", 1)[0]
    if not line.startswith("MSH") or len(line) < 4:
        return "", "", ""
    fields = line.split(line[3])
    pick = lambda i: fields[i - 1][:180] if len(fields) >= i else ""  # noqa: E731  MSH-n is fields[n-1]
    return pick(3), pick(10)[:199], pick(9)[:20]
