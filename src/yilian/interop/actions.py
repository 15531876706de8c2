"""The matching queue of result messages whose patient the index did not know (`Unmatched`).

- `match_pending(sender)` — after an ADT message linked identifiers: each waiting message of that sender
  whose PID-3 now names one record is stored (`match_one`), oldest first, each in its own transaction, as
  the interface (audit rows of the interface actor).
- `do_resolve_unmatched(actor, id, patient)` — the index desk (`patients.stewardship`: a registrar of the
  lead institution) chooses the patient by hand: the sender's identifiers the record lacks are added
  (those another record holds are left out), the reports are stored, and the sender's other waiting
  messages that now match follow.
- `do_discard_unmatched(actor, id, reason)` — the desk throws a message away (a test patient, garbage).
- `pending_page(actor)` — what the desk's page shows: masked identifiers only, each row audited.

A report taken from the queue is skipped when the store already holds a newer version of it (a
preliminary result released after its final one must not replace it).
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import audit_row
from yilian.access.models import Action, AuditEvent
from yilian.errors import ActionError
from yilian.interop import oru
from yilian.interop.hl7_parse import header, parse
from yilian.interop.identity import Ident, find_patient, interface_actor
from yilian.interop.models import MatchStatus, Unmatched
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients.identifiers import Ident as PatientIdent
from yilian.patients.interface import do_claim_from_interface
from yilian.patients.masking import mask_identifier
from yilian.patients.merging import survivor_id
from yilian.patients.models import Identifier, IdentifierType, Patient
from yilian.patients.stewardship import check_steward, consortium_id
from yilian.results.actions import store_report
from yilian.results.models import Report

OBJECT = "hl7-unmatched"


def _idents(queued: Unmatched) -> list[Ident]:
    return [Ident(d["type"], d["system"], d["value"]) for d in queued.identifiers]


def _store(actor: Actor, queued: Unmatched, patient: Patient, reason: str) -> bool:
    """Store a waiting message's reports for `patient` and close it; False when it was no longer waiting."""
    with transaction.atomic():
        queued = (Unmatched.objects.select_for_update().select_related("message", "sender__institution__consortium")
                  .filter(pk=queued.pk, status=MatchStatus.PENDING).first())
        if queued is None:
            return False
        message = parse(queued.message.raw)
        for incoming in oru.reports(message, header(message), queued.sender):
            newer = Report.objects.filter(identifier_system=incoming.identifier_system,
                                          identifier_value=incoming.identifier_value,
                                          reported_at__gt=incoming.reported_at).exists()
            if not newer:
                store_report(actor, patient, incoming, message_id=queued.message_id)
        Unmatched.objects.filter(pk=queued.pk).update(
            status=MatchStatus.MATCHED, patient=patient, resolved_at=timezone.now(),
            resolved_by_membership_id=actor.membership.pk if actor.membership else None)
        row = audit_row(actor, patient_id=patient.pk, object_type=OBJECT, object_id=queued.pk, action=Action.UPDATE,
                        reason=reason)
        row.institution_id = row.institution_id or queued.sender.institution_id
        row.save()
    return True


def match_one(unmatched_id: int) -> bool:
    """Store one waiting message if its identifiers now name one record."""
    queued = Unmatched.objects.select_related("sender").filter(pk=unmatched_id, status=MatchStatus.PENDING).first()
    patient = find_patient(_idents(queued)) if queued is not None else None
    if patient is None:
        return False
    return _store(interface_actor(queued.sender, "hl7"), queued, patient, "matched by the index")


def match_pending(sender) -> int:
    """Store the waiting messages of the sender's institution that now match (its HIS registers the patient
    its LIS sent results for: both use the institution's record numbers); returns how many were stored."""
    matched = 0
    for pk in (Unmatched.objects.filter(sender__institution_id=sender.institution_id, status=MatchStatus.PENDING)
               .order_by("message_id").values_list("pk", flat=True)):
        try:
            matched += match_one(pk)
        except ActionError:
            continue  # the store refused this one (e.g. its order belongs to another patient): the desk decides
    return matched


# --- the index desk -------------------------------------------------------------------------------------


def _waiting(actor: Actor, unmatched_id) -> Unmatched:
    try:
        pk = int(unmatched_id)
    except (TypeError, ValueError):
        pk = 0
    queued = (Unmatched.objects.select_related("sender__institution")
              .filter(pk=pk, status=MatchStatus.PENDING, sender__institution__consortium_id=consortium_id(actor))
              .first() if 0 < pk < 2**63 else None)
    if queued is None:
        raise ActionError("unmatched", _("This message is not waiting in the matching queue (resolved already, "
                                         "or unknown)."))
    return queued


def find_record(actor: Actor, reference: str) -> Patient:
    """The record the desk means: its consortium patient number (11 characters) or its record number, in
    the desk's consortium; a merged record answers with its survivor."""
    reference = (reference or "").strip().upper()
    pid = None
    if len(reference) == 11:
        pid = (Identifier.objects.filter(type=IdentifierType.CONSORTIUM, value=reference)
               .values_list("patient_id", flat=True).first())
    elif reference.isdigit() and 0 < int(reference) < 2**63:
        pid = int(reference)
    patient = Patient.objects.filter(pk=survivor_id(pid)).first() if pid else None
    if patient is None or patient.registered_at.consortium_id != consortium_id(actor):
        raise ActionError("patient", _("No patient record of this consortium has this number."))
    return patient


def do_resolve_unmatched(actor: Actor, unmatched_id, reference: str) -> Patient:
    check_steward(actor, Cap.LINK_REVIEW)
    queued = _waiting(actor, unmatched_id)
    patient = find_record(actor, reference)
    own = [PatientIdent(i.type, i.system, i.value) for i in _idents(queued)]
    with transaction.atomic():
        do_claim_from_interface(actor, queued.sender.institution_id, patient, own,
                                reason="HL7 results matched by the index desk", skip_taken=True)
        if not _store(actor, queued, patient, "matched by the index desk"):
            raise ActionError("unmatched", _("This message is not waiting in the matching queue (resolved "
                                             "already, or unknown)."))
    match_pending(queued.sender)
    return patient


def do_discard_unmatched(actor: Actor, unmatched_id, reason: str) -> None:
    check_steward(actor, Cap.LINK_REVIEW)
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ActionError("reason", _("Reason: 1–200 characters."))
    queued = _waiting(actor, unmatched_id)
    with transaction.atomic():
        if not Unmatched.objects.filter(pk=queued.pk, status=MatchStatus.PENDING).update(
                status=MatchStatus.DISCARDED, resolved_at=timezone.now(),
                resolved_by_membership_id=actor.membership.pk):
            raise ActionError("unmatched", _("This message is not waiting in the matching queue (resolved "
                                             "already, or unknown)."))
        audit_row(actor, patient_id=None, object_type=OBJECT, object_id=queued.pk, action=Action.DELETE,
                  reason=f"discarded: {reason}").save()


@dataclass
class Waiting:
    id: int
    received_at: object
    sender: str
    message_type: str
    identifiers: list[dict]


def pending_page(actor: Actor, limit: int = 50, offset: int = 0) -> tuple[list[Waiting], int]:
    """A page of the consortium's waiting messages, oldest first, with masked identifiers; each shown is
    audited."""
    check_steward(actor, Cap.LINK_REVIEW)
    queryset = Unmatched.objects.filter(status=MatchStatus.PENDING,
                                        sender__institution__consortium_id=consortium_id(actor))
    page = list(queryset.select_related("message", "sender").order_by("message_id")[offset:offset + limit])
    AuditEvent.objects.bulk_create([audit_row(actor, patient_id=None, object_type=OBJECT, object_id=q.pk,
                                              reason="matching queue (masked)") for q in page])
    labels = dict(IdentifierType.choices)
    rows = [Waiting(q.pk, q.message.received_at, q.sender.name, q.message.message_type,
                    [{"type": str(labels.get(d["type"], d["type"])), "system": d["system"],
                      "masked": mask_identifier(d["value"])} for d in q.identifiers]) for q in page]
    return rows, queryset.count()

