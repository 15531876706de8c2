"""One HL7 v2 message in, its ACK out (docs/hl7.md).

1. Not UTF-8, not HL7, no control ID, an unknown sender (MSH-3/MSH-4 of no active `Sender`), a message
   type other than ORU^R01, ADT^A04, ADT^A08, or a content error found while reading it (no PID, an OBX
   before any OBR, a bad timestamp, …) → AR, with ERR naming the problem.
2. Otherwise, in ONE transaction: the `Message` row is inserted first — the unique (MSH-3, MSH-10) is the
   claim: a control ID already stored (or being stored by a concurrent delivery) fails there, the
   transaction is rolled back and the ACK stored with the first copy is returned, word for word — then the
   reports (`results.actions.store_report`), or the `Unmatched` row when the index knows no patient by
   PID-3, or the ADT's registration. The AA is built before and returned only after the commit.
3. The store fails (an `ActionError` of the results store or the index, a database error) → AE with ERR;
   everything of the message is rolled back.

Every AE/AR leaves a `Rejection` row (written after the rollback, outside the failed transaction). After a
commit, an unmatched ORU is looked at once more and an ADT that linked identifiers releases the sender's
waiting results (`actions.match_pending`), each in its own transaction.
"""

import logging
import time
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.interop import actions, adt, oru
from yilian.interop.ack import ACCEPT, ERROR, REJECT, ack, ack_code
from yilian.interop.hl7_parse import (
    DATA_TYPE,
    INTERNAL,
    REQUIRED_MISSING,
    SEGMENT_SEQUENCE,
    UNKNOWN_KEY,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_TYPE,
    Header,
    Reject,
    header,
    loose_header,
    parse,
)
from yilian.interop.identity import find_patient, interface_actor
from yilian.interop.models import Message, Outcome, Rejection, Sender, Unmatched
from yilian.interop.pid import identifiers, pid_segment
from yilian.results.actions import store_report
from yilian.sql import insert_id, insert_sql

log = logging.getLogger("yilian.interop.hl7")
SUPPORTED = {"ORU": ("R01",), "ADT": adt.EVENTS}


@dataclass(frozen=True)
class Result:
    ack: str
    code: str  # AA, AE, AR
    duplicate: bool = False
    sender: str = ""  # the sender's code (for the log line: never a patient's data)
    message_type: str = ""


class Senders:
    """`find_sender`, remembered for `seconds` (a listener keeps one: a sender deactivated or changed is
    seen within that time)."""

    def __init__(self, seconds: float = 10.0):
        self.seconds = seconds
        self._known: dict[tuple[str, str], tuple[float, Sender | None]] = {}

    def get(self, head: Header) -> Sender | None:
        key, now = (head.application_id, head.facility_id), time.monotonic()
        known = self._known.get(key)
        if known is None or now - known[0] >= self.seconds:
            known = self._known[key] = (now, find_sender(head))
        return known[1]


def handle(raw: bytes, senders: Senders | None = None) -> bytes:
    """The listener's entry: bytes of one MLLP block in, the ACK's bytes out."""
    return ingest_bytes(raw, senders).ack.encode("utf-8")


def refuse(problem: str) -> bytes:
    """The AR for a block the listener could not take whole: "framing" (no start character) or "size"."""
    reason = {"framing": _("The block does not start with the MLLP start character (0x0B)."),
              "size": _("The message is larger than the listener accepts (1 MiB).")}[problem]
    return _rejected("", None, None, REJECT, Reject(reason, SEGMENT_SEQUENCE)).ack.encode("utf-8")


def ingest_bytes(raw: bytes, senders: Senders | None = None) -> Result:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return _rejected(raw.decode("utf-8", "replace"), None, None, REJECT, Reject(
            _("The message is not valid UTF-8 (Yilian accepts UTF-8 only)."), DATA_TYPE))
    return ingest(text, senders)


def ingest(text: str, senders: Senders | None = None) -> Result:
    started = time.perf_counter()
    result = _ingest(text, senders)
    level = logging.DEBUG if result.code == ACCEPT else logging.WARNING
    log.log(level, "hl7 %s from %s: %s%s in %.1f ms", result.message_type or "?", result.sender or "?",
            result.code, " (duplicate)" if result.duplicate else "", (time.perf_counter() - started) * 1000)
    return result


def find_sender(head: Header) -> Sender | None:
    """The active sender with this MSH-3 and MSH-4; one configured without a facility takes any."""
    candidates = [s for s in Sender.objects.filter(hl7_application=head.application_id, active=True)
                  .select_related("institution__consortium") if s.hl7_facility in (head.facility_id, "")]
    candidates.sort(key=lambda s: s.hl7_facility == "")
    return candidates[0] if candidates else None


def original_ack(head: Header) -> str | None:
    return (Message.objects.filter(sending_application=head.application, control_id=head.control_id)
            .values_list("ack", flat=True).first())


def patient_identifiers(message, sender) -> list:
    """PID-3's identifiers; none that Yilian can use is AR (nobody could ever match the result)."""
    idents = identifiers(pid_segment(message), sender)
    if not idents:
        raise Reject(_("PID-3 carries no identifier Yilian can use (resident ID, record number, …)."),
                     REQUIRED_MISSING, "PID^1^3")
    return idents


def _check_type(head: Header) -> None:
    kind = head.message_type.split("^")[0]
    if kind not in SUPPORTED:
        raise Reject(_("Unsupported message type (MSH-9): Yilian takes ORU^R01, ADT^A04 and ADT^A08."),
                     UNSUPPORTED_TYPE, "MSH^1^9")
    if head.trigger not in SUPPORTED[kind]:
        raise Reject(_("Unsupported trigger event (MSH-9.2): Yilian takes ORU^R01, ADT^A04 and ADT^A08."),
                     UNSUPPORTED_EVENT, "MSH^1^9")


def _ingest(text: str, senders: Senders | None) -> Result:
    head = sender = None
    try:
        message = parse(text)
        head = header(message)
        _check_type(head)
        sender = senders.get(head) if senders is not None else find_sender(head)
        if sender is None:
            raise Reject(_("Unknown sending system: MSH-3 and MSH-4 name no sender configured in Yilian."),
                         UNKNOWN_KEY, "MSH^1^3")
        if head.message_type == "ORU^R01":
            try:
                work = (patient_identifiers(message, sender), oru.reports(message, head, sender))
            except Reject:
                original = original_ack(head)  # the same control ID was stored: its ACK, whatever came now
                if original is not None:
                    return Result(original, ack_code(original), True, sender.code, head.message_type)
                raise
        else:
            work = message
        return _store(text, head, sender, work)
    except Reject as exc:
        return _rejected(text, head, sender, REJECT, exc)
    except ActionError as exc:
        return _rejected(text, head, sender, ERROR, Reject(str(exc), INTERNAL))
    except IntegrityError:
        try:
            original = original_ack(head) if head is not None else None
        except DatabaseError:
            original = None
        if original is not None:  # a concurrent duplicate won the claim
            return Result(original, ack_code(original), True, sender.code, head.message_type)
        return _rejected(text, head, sender, ERROR, Reject(
            _("The message conflicts with data stored meanwhile; send it again."), INTERNAL))
    except DatabaseError:
        return _rejected(text, head, sender, ERROR, Reject(
            _("The message could not be stored (database error); send it again."), INTERNAL))
    except Exception as exc:  # never AA, never a dead connection: the type only, the text may quote the message
        log.error("hl7 ingest failed with %s", type(exc).__name__)
        return _rejected(text, head, sender, ERROR, Reject(
            _("The message could not be processed (internal error); send it again."), INTERNAL))


def _store(text: str, head: Header, sender: Sender, work) -> Result:
    actor = interface_actor(sender, "hl7")
    after = None
    with transaction.atomic(durable=True):
        if head.message_type == "ORU^R01":
            idents, reports = work
            patient = find_patient(idents)
            reply = ack(ACCEPT, head, text="" if patient else _("Stored; waiting for the patient to be matched."))
            message = _claim(text, head, sender, reply, Outcome.STORED if patient else Outcome.UNMATCHED)
            if patient is not None:
                for incoming in reports:
                    store_report(actor, patient, incoming, message_id=message.pk)
            else:
                queued = Unmatched.objects.create(message=message, sender=sender,
                                                  identifiers=[i.as_dict() for i in idents])
                after = lambda: actions.match_one(queued.pk)  # noqa: E731  an ADT may have linked meanwhile
        else:
            reply = ack(ACCEPT, head)
            _claim(text, head, sender, reply, Outcome.STORED)
            applied = adt.apply(actor, work, head, sender)
            if applied.linked:
                after = lambda: actions.match_pending(sender)  # noqa: E731
    if after is not None:
        _release(after)
    return Result(reply, ACCEPT, False, sender.code, head.message_type)


_CLAIM = ("sender_id", "sending_application", "control_id", "message_type", "received_at", "raw", "outcome", "ack")


def _claim(text: str, head: Header, sender: Sender, reply: str, outcome: str) -> Message:
    """The message's row (a hand-written INSERT: `yilian.sql`); a control ID stored already: IntegrityError."""
    message = Message(sender=sender, sending_application=head.application, control_id=head.control_id,
                      message_type=head.message_type, received_at=timezone.now(), raw=text, outcome=outcome, ack=reply)
    message.pk = insert_id(insert_sql(Message._meta.db_table, _CLAIM), [getattr(message, c) for c in _CLAIM])
    return message


def _release(work) -> None:
    """Waiting results after the commit: best effort (a failure leaves them waiting for the desk)."""
    try:
        work()
    except Exception as exc:  # the message itself is stored and acknowledged; nothing to undo
        log.warning("hl7 matching of waiting results failed with %s", type(exc).__name__)


def _rejected(text: str, head: Header | None, sender: Sender | None, code: str, exc: Reject) -> Result:
    fallback = loose_header(text) if head is None else ("", "", "")
    reply = ack(code, head, text=exc.reason, error=exc.code, location=exc.location, fallback=fallback)
    application, control, kind = (head.application, head.control_id, head.message_type) if head else fallback
    try:
        Rejection.objects.create(sending_application=application[:180], control_id=control[:199],
                                 message_type=kind[:20], received_at=timezone.now(), code=code,
                                 reason=exc.reason[:500], raw=text.replace("\x00", ""))
    except DatabaseError as db_exc:
        log.warning("hl7 rejection row not written: %s", type(db_exc).__name__)
    return Result(reply, code, False, sender.code if sender else "", kind)
