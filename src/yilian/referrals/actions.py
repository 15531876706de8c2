"""Two-way referral: the only code that changes a referral (docs/referrals.md).

`check_*` validates and raises `ActionError` naming each bad field; `do_*` writes in a transaction with its
event and audit rows. Each step moves the status by one conditional UPDATE from the states it may start
from, so two desks acting on one referral at once leave one step, and the other is told.

- Sending grants the receiving institution access to the patient (kind referral) until `GRANT_DAYS` after
  the referral closes; a rejection or a cancellation revokes it at once, a redirection moves it.
- A reserved outpatient slot is booked on the referral channel (`scheduling.actions.claim_place`); it is
  released when the referral is rejected, redirected or cancelled.
- The patient is told at each step by a message (`scheduling.Message`, sent by the SMS gateway).
"""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_grant, do_record_care
from yilian.access.gate import Decision, access_object, access_patient_for_write, audit_row, decide
from yilian.access.models import Action, Basis, Grant, GrantKind
from yilian.care.models import Encounter
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor, require_cap
from yilian.network.models import Department, Institution, InstitutionKind, Membership
from yilian.network.roles import Cap
from yilian.referrals.codes import name_of
from yilian.referrals.models import (
    OPEN,
    Direction,
    FollowUp,
    Referral,
    ReferralEvent,
    Setting,
    Status,
    Urgency,
)
from yilian.scheduling.actions import check_slot_open, claim_place, find_slot, release_place
from yilian.scheduling.models import BookingStatus, Channel, Message
from yilian.scheduling.slots import free_for

# Service levels for the direction of a referral: up means to a higher level, down to a lower one.
LEVEL = {
    InstitutionKind.GENERAL_TERTIARY: 3, InstitutionKind.GENERAL_SECONDARY: 2, InstitutionKind.TCM: 2,
    InstitutionKind.MATERNAL_CHILD: 2, InstitutionKind.TOWNSHIP: 1, InstitutionKind.COMMUNITY_CENTRE: 1,
    InstitutionKind.COMMUNITY_STATION: 0, InstitutionKind.VILLAGE: 0,
}
# How long the receiving side has to accept before the consortium manager is alerted (the consortium's
# referral rules; the national guidance leaves the figures to each consortium).
DEADLINE = {Urgency.EMERGENCY: timedelta(minutes=30), Urgency.URGENT: timedelta(hours=4),
            Urgency.ROUTINE: timedelta(hours=24)}
GRANT_DAYS = 30  # the receiving institution keeps access this long after the referral closes
OPEN_ENDED = timedelta(days=3650)  # a grant's end while the referral is open (set at closure)
SHAREABLE = {"encounter": Encounter}


@dataclass
class NewReferral:
    patient_id: int
    direction: str
    setting: str
    urgency: str
    to_institution_id: int
    diagnosis_code: str
    reason: str
    to_department_id: int | None = None
    to_staff_id: int | None = None
    summary: str = ""
    shared: list[dict] = field(default_factory=list)
    follow_up_plan: str = ""
    follow_up_staff_id: int | None = None
    slot_id: int | None = None
    bed_requested: bool = False


def _member(staff_id, institution_id) -> bool:
    return isinstance(staff_id, int) and Membership.objects.filter(
        staff_id=staff_id, institution_id=institution_id, active=True).exists()


def level_of(institution: Institution) -> int:
    return LEVEL.get(institution.kind, 0)


def _check_target(from_institution_id: int, direction: str, institution_id, department_id, staff_id,
                  errors: dict) -> None:
    """The receiving institution (same consortium, another one, the right level for the direction), its
    department and doctor."""
    here = Institution.objects.get(pk=from_institution_id)
    there = Institution.objects.filter(pk=institution_id, consortium_id=here.consortium_id).first() \
        if isinstance(institution_id, int) else None
    if there is None or there.pk == here.pk:
        errors["to_institution_id"] = _("Receiving institution: choose another member of the consortium.")
        return
    if direction == Direction.UP and level_of(there) <= level_of(here):
        errors["to_institution_id"] = _("Referral up: choose an institution of a higher level.")
    elif direction == Direction.DOWN and level_of(there) >= level_of(here):
        errors["to_institution_id"] = _("Referral down: choose an institution of a lower level.")
    if department_id is not None and not Department.objects.filter(pk=department_id, institution=there).exists():
        errors["to_department_id"] = _("Department: choose a department of the receiving institution.")
    if staff_id is not None and not _member(staff_id, there.pk):
        errors["to_staff_id"] = _("Doctor: choose a staff member of the receiving institution.")


def _check_shared(actor: Actor, patient_id: int, shared, errors: dict) -> list[dict]:
    """[{type, id}] of the patient's own records the actor may see; anything else names the field."""
    if not isinstance(shared, list) or len(shared) > 50:
        errors["shared"] = _("Shared items: a list of at most 50 records.")
        return []
    clean = []
    for item in shared:
        kind, pk = (item.get("type"), item.get("id")) if isinstance(item, dict) else (None, None)
        model = SHAREABLE.get(kind)
        if model is None or not isinstance(pk, int) or not model.objects.filter(pk=pk, patient_id=patient_id).exists():
            errors["shared"] = _("Shared items: only this patient's records (encounters) can be shared.")
            return []
        clean.append({"type": kind, "id": pk})
    return clean


def check_referral(actor: Actor, data: NewReferral, now):
    """Every bad field at once; returns (clean shared items, the slot or None)."""
    require_cap(actor, Cap.RECORD_VISIT, _("Your role may not refer patients."))
    errors: dict[str, str] = {}
    if data.direction not in Direction.values:
        errors["direction"] = _("Direction: up or down.")
    if data.setting not in Setting.values:
        errors["setting"] = _("Choose outpatient or inpatient.")
    if data.urgency not in Urgency.values:
        errors["urgency"] = _("Urgency: routine, urgent or emergency.")
    if data.direction in Direction.values:
        _check_target(actor.institution_id, data.direction, data.to_institution_id, data.to_department_id,
                      data.to_staff_id, errors)
    if not name_of(data.diagnosis_code):
        errors["diagnosis_code"] = _("Diagnosis: choose a code from the ICD-10 list.")
    if not (data.reason or "").strip() or len(data.reason) > 500:
        errors["reason"] = _("Reason: required, at most 500 characters.")
    if len(data.summary or "") > 4000:
        errors["summary"] = _("Summary: at most 4000 characters.")
    shared = _check_shared(actor, data.patient_id, data.shared, errors)
    if data.direction == Direction.DOWN and not (data.follow_up_plan or "").strip():
        errors["follow_up_plan"] = _("A referral down carries the follow-up plan.")
    if len(data.follow_up_plan or "") > 2000:
        errors["follow_up_plan"] = _("Follow-up plan: at most 2000 characters.")
    if data.follow_up_staff_id is not None and not _member(data.follow_up_staff_id, data.to_institution_id):
        errors["follow_up_staff_id"] = _("Family doctor: choose a staff member of the receiving institution.")
    slot = None
    if data.slot_id is not None:
        if data.setting != Setting.OUTPATIENT:
            errors["slot_id"] = _("A reserved slot is for an outpatient referral; an inpatient one requests a bed.")
        else:
            try:
                slot = find_slot(data.slot_id)
                check_slot_open(slot, now)
            except ActionError as exc:
                errors.update(exc.errors)
            else:
                if slot.schedule.institution_id != data.to_institution_id or (
                        data.to_department_id and slot.schedule.department_id != data.to_department_id):
                    errors["slot_id"] = _("Slot: choose a slot of the receiving institution and department.")
    if data.bed_requested and data.setting != Setting.INPATIENT:
        errors["bed_requested"] = _("A bed is requested for an inpatient referral.")
    if errors:
        raise ActionError(errors=errors)
    return shared, slot


def proposed_slots(institution_id: int, department_id: int | None = None, staff_id: int | None = None,
                   limit: int = 5):
    """The earliest free places a referral may take (the reserved ones included) at the receiving side."""
    from yilian.scheduling.models import Slot

    filters = Q(schedule__institution_id=institution_id)
    if department_id:
        filters &= Q(schedule__department_id=department_id)
    if staff_id:
        filters &= Q(schedule__doctor_id=staff_id)
    return list(Slot.objects.filter(free_for(Channel.REFERRAL, timezone.now())).filter(filters)
                .select_related("schedule", "schedule__department", "schedule__doctor").order_by("start", "pk")[:limit])


def _event(actor: Actor, referral: Referral, kind: str, at, **data) -> None:
    ReferralEvent.objects.create(referral=referral, kind=kind, at=at, user_id=actor.user_id,
                                 membership_id=actor.membership.pk if actor.membership else None, data=data)


def _audit(actor: Actor, referral: Referral, action: str, decision: Decision | None, reason: str = "") -> None:
    audit_row(actor, patient_id=referral.patient_id, object_type="referral", object_id=referral.pk, action=action,
              decision=decision or Decision(Basis.CARE), reason=reason).save()


def _tell(referral: Referral, text: str, now) -> None:
    Message.objects.create(patient_id=referral.patient_id, booking=referral.booking, text=text, created_at=now)


def _where(referral: Referral) -> str:
    department = f" {referral.to_department.name}" if referral.to_department_id else ""
    return f"{referral.to_institution.name}{department}"


def do_refer(actor: Actor, data: NewReferral) -> Referral:
    """Send a patient up or down: the referral, its grant, the reserved slot if one was chosen, the event,
    the audit row and the patient's message, all or nothing."""
    patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE, object_type="referral")
    now = timezone.now()
    shared, slot = check_referral(actor, data, now)
    with transaction.atomic():
        referral = Referral.objects.create(
            number=secrets.token_hex(8), patient=patient, direction=data.direction, setting=data.setting,
            urgency=data.urgency, from_institution_id=actor.institution_id,
            from_department_id=actor.membership.department_id, from_staff_id=actor.membership.staff_id,
            to_institution_id=data.to_institution_id, to_department_id=data.to_department_id,
            to_staff_id=data.to_staff_id, diagnosis_code=data.diagnosis_code.strip().upper(),
            diagnosis_name=name_of(data.diagnosis_code), reason=data.reason.strip(),
            summary=(data.summary or "").strip(), shared=shared, follow_up_plan=(data.follow_up_plan or "").strip(),
            bed_requested=data.bed_requested, created_at=now, deadline_at=now + DEADLINE[data.urgency])
        referral.number = f"ZZ{timezone.localtime(now):%Y%m%d}{referral.pk:06d}"
        referral.grant = do_grant(actor, patient_id=patient.pk, kind=GrantKind.REFERRAL,
                                  to_institution_id=data.to_institution_id, valid_from=now,
                                  valid_to=now + OPEN_ENDED, reason=referral.number, source_type="referral",
                                  source_id=referral.pk)
        if slot is not None:
            referral.booking = claim_place(actor, patient.pk, slot, Channel.REFERRAL, now, referral=referral.pk)
        referral.save(update_fields=["number", "grant", "booking"])
        _event(actor, referral, "sent", now, to_institution=data.to_institution_id,
               follow_up_staff=data.follow_up_staff_id)
        _audit(actor, referral, Action.CREATE, decision)
        when = ""
        if referral.booking is not None:
            when = _(", appointment %(time)s") % {"time": f"{timezone.localtime(slot.start):%Y-%m-%d %H:%M}"}
        _tell(referral, _("You are referred to %(where)s%(when)s. Referral number %(number)s; bring your ID card.")
              % {"where": _where(referral), "when": when, "number": referral.number}, now)
    return referral


# --- the receiving side and the sender's cancellation ----------------------------------------------------


def referral_for(actor: Actor, referral_id, *, side: str, action: str = Action.UPDATE,
                 audit_success: bool = False) -> tuple[Referral, Decision | None]:
    """A referral the actor's institution sends (`side="from"`) or receives (`"to"`, or `"any"`), whose
    patient the actor may see; 404 (audited) otherwise."""
    mine = {"from": Q(from_institution_id=actor.institution_id), "to": Q(to_institution_id=actor.institution_id),
            "any": Q(from_institution_id=actor.institution_id) | Q(to_institution_id=actor.institution_id)}[side]
    queryset = Referral.objects.filter(mine).select_related("to_institution", "to_department", "booking")
    referral = access_object(actor, queryset, referral_id, object_type="referral", action=action,
                             audit_success=audit_success)
    return referral, decide(actor, referral.patient_id)


def _move(referral: Referral, sources, **changes) -> None:
    """One conditional UPDATE from the states the step may start from; refused if someone moved it first."""
    moved = Referral.objects.filter(pk=referral.pk, status__in=sources).update(**changes)
    if not moved:
        raise ActionError("status", _("This referral has moved on meanwhile (now: %(status)s); reload it.")
                          % {"status": Referral.objects.get(pk=referral.pk).get_status_display()})
    for name, value in changes.items():
        setattr(referral, name, value)


def _release_booking(referral: Referral, reason: str) -> None:
    if referral.booking is not None and referral.booking.status == BookingStatus.BOOKED:
        release_place(referral.booking, BookingStatus.CANCELLED, reason)


def _end_grant(referral: Referral, now) -> None:
    if referral.grant_id:
        Grant.objects.filter(pk=referral.grant_id, revoked_at__isnull=True).update(revoked_at=now)


def do_accept(actor: Actor, referral_id, note: str = "") -> Referral:
    require_cap(actor, Cap.CLINICAL, _("Your role may not accept referrals."))
    referral, decision = referral_for(actor, referral_id, side="to")
    now = timezone.now()
    with transaction.atomic():
        _move(referral, [Status.SENT], status=Status.ACCEPTED, accepted_at=now)
        _event(actor, referral, "accepted", now, note=(note or "")[:200])
        _audit(actor, referral, Action.UPDATE, decision, reason="accepted")
        _tell(referral, _("%(where)s has accepted your referral %(number)s.")
              % {"where": _where(referral), "number": referral.number}, now)
    return referral


def do_reject(actor: Actor, referral_id, reason: str) -> Referral:
    """Refuse with a reason: the reserved place and the grant end at once."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not reject referrals."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ActionError("reason", _("Reason: required, at most 200 characters."))
    referral, decision = referral_for(actor, referral_id, side="to")
    now = timezone.now()
    with transaction.atomic():
        _move(referral, [Status.SENT], status=Status.REJECTED, rejected_at=now, closed_at=now)
        _release_booking(referral, "referral rejected")
        _end_grant(referral, now)
        _event(actor, referral, "rejected", now, reason=reason)
        _audit(actor, referral, Action.UPDATE, decision, reason="rejected")
        _tell(referral, _("%(where)s could not take your referral %(number)s; your doctor will advise you.")
              % {"where": _where(referral), "number": referral.number}, now)
    return referral


def do_redirect(actor: Actor, referral_id, to_institution_id, reason: str, to_department_id=None) -> Referral:
    """Pass the referral on to another member (of the right level): the grant and the deadline move with it,
    a reserved place at this institution is released."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not redirect referrals."))
    referral, decision = referral_for(actor, referral_id, side="to")
    reason = (reason or "").strip()
    errors: dict[str, str] = {}
    if not reason or len(reason) > 200:
        errors["reason"] = _("Reason: required, at most 200 characters.")
    _check_target(referral.from_institution_id, referral.direction, to_institution_id, to_department_id, None,
                  errors)
    if errors:
        raise ActionError(errors=errors)
    now = timezone.now()
    with transaction.atomic():
        previous = referral.to_institution_id
        _move(referral, OPEN, status=Status.SENT, to_institution_id=to_institution_id,
              to_department_id=to_department_id, to_staff_id=None, accepted_at=None,
              deadline_at=now + DEADLINE[referral.urgency], escalated_at=None)
        _release_booking(referral, "referral redirected")
        _end_grant(referral, now)
        grant = do_grant(actor, patient_id=referral.patient_id, kind=GrantKind.REFERRAL,
                         to_institution_id=to_institution_id, valid_from=now, valid_to=now + OPEN_ENDED,
                         reason=referral.number, source_type="referral", source_id=referral.pk)
        Referral.objects.filter(pk=referral.pk).update(grant=grant, booking=None)
        referral.grant, referral.booking = grant, None
        _event(actor, referral, "redirected", now, reason=reason, from_institution=previous,
               to_institution=to_institution_id)
        _audit(actor, referral, Action.UPDATE, decision, reason="redirected")
        referral.to_institution = Institution.objects.get(pk=to_institution_id)
        referral.to_department = Department.objects.filter(pk=to_department_id).first()
        _tell(referral, _("Your referral %(number)s has been passed on to %(where)s.")
              % {"number": referral.number, "where": _where(referral)}, now)
    return referral


def do_arrive(actor: Actor, referral_id) -> Referral:
    """The patient has arrived: the loop is closed on the receiving side, which now cares for the patient;
    a referral down hands its follow-up plan to the family doctor (or the institution)."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not receive patients."))
    referral, decision = referral_for(actor, referral_id, side="to")
    now = timezone.now()
    with transaction.atomic():
        _move(referral, OPEN, status=Status.ARRIVED, arrived_at=now,
              accepted_at=referral.accepted_at or now)
        do_record_care(referral.patient_id, referral.to_institution_id, "referral", referral.pk, now)
        if referral.direction == Direction.DOWN:
            assignee = ReferralEvent.objects.filter(referral=referral, kind="sent").values_list(
                "data__follow_up_staff", flat=True).first()
            FollowUp.objects.create(referral=referral, patient_id=referral.patient_id,
                                    institution_id=referral.to_institution_id, assignee_id=assignee,
                                    plan=referral.follow_up_plan, created_at=now)
        _event(actor, referral, "arrived", now)
        _audit(actor, referral, Action.UPDATE, decision, reason="arrived")
    return referral


def do_close(actor: Actor, referral_id) -> Referral:
    """Close after the visit or the stay; the receiving side keeps access `GRANT_DAYS` more days."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not close referrals."))
    referral, decision = referral_for(actor, referral_id, side="to")
    now = timezone.now()
    with transaction.atomic():
        _move(referral, [Status.ARRIVED], status=Status.CLOSED, closed_at=now)
        if referral.grant_id:
            Grant.objects.filter(pk=referral.grant_id, revoked_at__isnull=True).update(
                valid_to=now + timedelta(days=GRANT_DAYS))
        _event(actor, referral, "closed", now)
        _audit(actor, referral, Action.UPDATE, decision, reason="closed")
    return referral


def do_cancel(actor: Actor, referral_id, reason: str) -> Referral:
    """The sender withdraws a referral not yet arrived: the place and the grant end at once."""
    require_cap(actor, Cap.RECORD_VISIT, _("Your role may not cancel referrals."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ActionError("reason", _("Reason: required, at most 200 characters."))
    referral, decision = referral_for(actor, referral_id, side="from")
    now = timezone.now()
    with transaction.atomic():
        _move(referral, OPEN, status=Status.CANCELLED, closed_at=now)
        _release_booking(referral, "referral cancelled")
        _end_grant(referral, now)
        _event(actor, referral, "cancelled", now, reason=reason)
        _audit(actor, referral, Action.UPDATE, decision, reason="cancelled")
        _tell(referral, _("Your referral %(number)s has been cancelled.") % {"number": referral.number}, now)
    return referral


def do_escalate_overdue(now=None) -> int:
    """Mark every referral still waiting for acceptance past its deadline as escalated to the consortium
    manager (once each); returns how many. Run by `yilian referrals escalate` (every few minutes)."""
    now = now or timezone.now()
    count = 0
    overdue = Referral.objects.filter(status=Status.SENT, deadline_at__lt=now, escalated_at__isnull=True)
    for referral in overdue.order_by("deadline_at")[:1000]:
        with transaction.atomic():
            if Referral.objects.filter(pk=referral.pk, status=Status.SENT, escalated_at__isnull=True).update(
                    escalated_at=now):
                _event(SYSTEM, referral, "escalated", now,
                       overdue_minutes=int((now - referral.deadline_at).total_seconds() // 60))
                count += 1
    return count
