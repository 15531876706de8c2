"""The acknowledgement (original mode): MSH, MSA, and ERR when the message was not accepted.

    MSH|^~\\&|YILIAN|<MSH-6>|<MSH-3>|<MSH-4>|<now, +0800>||ACK^<event>^ACK|<new id>|P|<MSH-12>||||||UNICODE UTF-8
    MSA|AA|<MSH-10 of the message>|<text>
    ERR||<segment^sequence^field>|<code>^<text>^HL70357|E||||<reason>

ERR is written the v2.5 way (ERR-2 location, ERR-3 code, ERR-4 severity, ERR-8 user message); MSA-3 carries
the reason too, for v2.3 senders that read only MSA. Values are escaped (| ^ ~ \\ & in a reason).
"""

import itertools
import os
from datetime import datetime

from yilian.interop.hl7_parse import LOCAL, Header

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
APPLICATION = "YILIAN"
CODE_TEXT = {0: "Message accepted", 100: "Segment sequence error", 101: "Required field missing",
             102: "Data type error", 103: "Table value not found", 200: "Unsupported message type",
             201: "Unsupported event code", 203: "Unsupported version id", 204: "Unknown key identifier",
             207: "Application internal error"}

_sequence = itertools.count(1)
_prefix = f"{os.getpid() % 100000:05d}"


def escape(text: str) -> str:
    text = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("~", "\\R\\")
    return text.replace("&", "\\T\\").replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def control_id(now: datetime) -> str:
    """A new control ID for an ACK: time, process and a counter (unique per process and second)."""
    return f"ACK{now:%Y%m%d%H%M%S}{_prefix}{next(_sequence) % 1_000_000:06d}"


def ack(code: str, head: Header | None, *, text: str = "", error: int | None = None, location: str = "",
        fallback: tuple[str, str, str] = ("", "", "")) -> str:
    """The ACK text for a message whose header was read (`head`), or, when it could not be, for what
    `fallback` = (MSH-3, MSH-10, MSH-9) recovered of it."""
    now = datetime.now(LOCAL)
    if head is not None:
        to_app, to_fac, from_fac = head.application, escape(head.facility_id), head.receiving_facility
        event, their_id, version = head.trigger, head.control_id, head.version or "2.5.1"
    else:
        to_app, to_fac, from_fac = fallback[0], "", ""
        event, their_id, version = fallback[2].split("^")[1] if "^" in fallback[2] else "", fallback[1], "2.5.1"
    msh = (f"MSH|^~\\&|{APPLICATION}|{from_fac}|{to_app}|{to_fac}|{now:%Y%m%d%H%M%S%z}||ACK^{escape(event)}^ACK|"
           f"{control_id(now)}|P|{escape(version)}||||||UNICODE UTF-8")
    segments = [msh, f"MSA|{code}|{escape(their_id)}|{escape(text[:80])}"]
    if code != ACCEPT:
        number = error if error is not None else 207
        segments.append(f"ERR||{location}|{number}^{CODE_TEXT.get(number, '')}^HL70357|E||||{escape(text)}")
    return "\r".join(segments) + "\r"


def ack_code(text: str) -> str:
    """MSA-1 of an ACK ("" if it has none)."""
    for segment in text.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA") and len(segment) > 4:
            return segment.split(segment[3])[1]
    return ""
