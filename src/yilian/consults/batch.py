"""Batch forms of the consultation actions, for the demo generator and importers of past activity (the rules of
`scheduling/batch.py`): every step carries the time it happened (with a time zone, not in the future, in the
order of the steps); the checks of the single forms run on every item at those times; a failing item is
named by its index (`consultations.3.signed_at`); a patient the requesting side may not see is audited as
denied and answered "not found". One transaction, with the events, grants and audit rows.

- `do_record_consultations` records whole past consultations as the requesting doctor's side imports them:
  the request (`actions.do_request`, checked at its time: the session in the 90 days after it), the claim by
  the expert or the assignment by the desk of the institution asked (`do_claim` / `do_assign`: who may claim
  what, `experts.check_expert`), the MDT panel and its contributions (`do_add_expert`, `do_contribute`), the
  draft and the signature (`do_write_opinion`, `do_sign`: an MDT conclusion needs a contribution first), an
  amendment (`do_amend`, with its reason), the requester's confirmation (`do_confirm`, a doctor) or the
  cancellation before signing (`do_cancel`, with its reason). Each expert step is written as that expert
  (their membership), the desk's as the desk; the grants run from the claim to `GRANT_DAYS` after the last
  signature or confirmation, and a cancellation revokes them at its time.
- `do_record_operations` is `operations.do_record_guided_operation` with the time it was recorded.
"""

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, decide_many
from yilian.access.models import Action, AuditEvent, Basis, Grant, GrantKind
from yilian.consults.actions import GRANT_DAYS, OPEN_ENDED, NewConsultation, _check_opinion, check_request
from yilian.consults.experts import check_expert
from yilian.consults.models import (
    Consultation,
    ConsultationEvent,
    ConsultationExpert,
    GuidedOperation,
    Opinion,
    Status,
    Target,
)
from yilian.consults.operations import BACKDATE_DAYS, NewGuidedOperation, check_guided_operation
from yilian.errors import ActionError
from yilian.network.acting import Actor, actor_for_membership
from yilian.network.models import Membership
from yilian.network.roles import Cap, Role
from yilian.scheduling.batch import audit_for, bad_time, not_found, refuse, require, valid_id


@dataclass
class PastConsultation:
    data: NewConsultation
    at: datetime  # requested
    expert: Membership | None = None  # the lead expert's doctor membership (None: never taken)
    taken_at: datetime | None = None
    desk: Membership | None = None  # the desk that assigned it; None: the expert claimed it
    panel: list[tuple[Membership, datetime, str]] = field(default_factory=list)  # MDT: expert, contributed, text
    opinion: str = ""
    recommendation: str = ""
    drafted_at: datetime | None = None
    signed_at: datetime | None = None
    amendment: tuple[datetime, str, str] | None = None  # (at, opinion, reason)
    confirmed_at: datetime | None = None
    cancelled_at: datetime | None = None
    cancel_reason: str = ""


def _times(item: PastConsultation) -> list[tuple[str, datetime | None]]:
    contributions = [("panel", at) for _m, at, _t in item.panel]
    return [("at", item.at), ("taken_at", item.taken_at), *contributions, ("drafted_at", item.drafted_at),
            ("signed_at", item.signed_at), ("amendment", item.amendment[0] if item.amendment else None),
            ("confirmed_at", item.confirmed_at), ("cancelled_at", item.cancelled_at)]


def _may_claim(item: PastConsultation, to_institution_id: int) -> bool:
    m, data = item.expert, item.data
    return (data.target == Target.CENTRE and m.institution_id == to_institution_id) or (
        data.target == Target.DEPARTMENT and m.institution_id == to_institution_id
        and m.department_id == data.to_department_id) or (
        data.target == Target.EXPERT and m.staff_id == data.to_staff_id)


def check_past(actor: Actor, item: PastConsultation, now) -> tuple[int, list[dict]]:
    """Every rule of the single steps for one past consultation; returns (institution asked, attached)."""
    errors: dict[str, str] = {}
    try:
        to_institution_id, shared = check_request(actor, item.data, item.at)
    except ActionError as exc:
        errors.update(exc.errors)
        to_institution_id, shared = None, []
    previous = None
    for name, at in _times(item):
        if at is None:
            continue
        bad = bad_time(at, now)
        if bad or (previous is not None and at < previous):
            errors[name] = bad or _("A step cannot come before the one it follows.")
        previous = at
    probe = Consultation(from_institution_id=actor.institution_id, from_staff_id=actor.membership.staff_id)
    if (item.expert is None) != (item.taken_at is None):
        errors["taken_at"] = _("An expert takes a consultation at a time.")
    if item.expert is not None and to_institution_id is not None:
        if item.expert.role != Role.DOCTOR:
            errors["expert"] = _("Only a doctor may take a consultation.")
        check_expert(probe, item.expert.staff_id, item.expert.institution_id, errors, "expert")
        if item.desk is None and not _may_claim(item, to_institution_id):
            errors["expert"] = _("This expert may not claim this request.")
        if item.desk is not None and (item.desk.institution_id != to_institution_id
                                      or not actor_for_membership(item.desk).can(Cap.RECORD_VISIT)):
            errors["desk"] = _("Your role may not assign consultations.")
    seen = {item.expert.staff_id} if item.expert else set()
    for k, (member, _at, text) in enumerate(item.panel):
        if not item.data.mdt:
            errors["mdt"] = _("Only a multidisciplinary (MDT) consultation has a panel of experts.")
        check_expert(probe, member.staff_id, member.institution_id, errors, f"panel.{k}")
        if member.staff_id in seen or member.role != Role.DOCTOR:
            errors[f"panel.{k}"] = _("This expert is already on the panel.")
        seen.add(member.staff_id)
        if not (text or "").strip() or len(text) > 4000:
            errors[f"panel.{k}"] = _("Contribution: required, at most 4000 characters.")
    if item.drafted_at is not None:
        if item.expert is None:
            errors["drafted_at"] = _("Only the lead expert of the consultation may do this.")
        try:
            _check_opinion(item.opinion, item.recommendation)
        except ActionError as exc:
            errors.update(exc.errors)
    if item.signed_at is not None:
        if item.drafted_at is None:
            errors["signed_at"] = _("Write the opinion before signing it.")
        if item.data.mdt and not any(at <= item.signed_at for _m, at, _t in item.panel):
            errors["contributions"] = _("An MDT conclusion needs a contribution from at least one other expert "
                                        "of the panel.")
    if item.amendment is not None:
        _at, text, reason = item.amendment
        if item.signed_at is None:
            errors["amendment"] = _("Only a signed opinion can be amended.")
        if not (text or "").strip() or not (reason or "").strip() or len(reason) > 200:
            errors["amendment"] = _("Reason for the amendment: required, at most 200 characters.")
    if item.confirmed_at is not None and (item.signed_at is None or actor.role != Role.DOCTOR):
        errors["confirmed_at"] = _("Only a doctor may confirm a consultation's opinion.")
    if item.cancelled_at is not None:
        if item.signed_at is not None:
            errors["cancelled_at"] = _("This consultation has moved on meanwhile (now: %(status)s); reload it.") % {
                "status": Status.SIGNED.label}
        if not (item.cancel_reason or "").strip() or len(item.cancel_reason) > 200:
            errors["cancel_reason"] = _("Reason: required, at most 200 characters.")
    if errors:
        raise ActionError(errors=errors)
    return to_institution_id, shared


def _event(actor: Actor, consultation: Consultation, kind: str, at, **data) -> ConsultationEvent:
    return ConsultationEvent(consultation=consultation, kind=kind, at=at, user_id=actor.user_id,
                             membership_id=actor.membership.pk if actor.membership else None, data=data)


def do_record_consultations(actor: Actor, items: list[PastConsultation]) -> list[Consultation]:
    """Record many past consultations of the actor's institution, each step at its time (see the module)."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not request consultations."))
    now = timezone.now()
    decisions = decide_many(actor, {item.data.patient_id for item in items if valid_id(item.data.patient_id)})
    checked = []
    for i, item in enumerate(items):
        if item.data.patient_id not in decisions:
            not_found(actor, "consultations", i, "patient_id", _("Patient not found."),
                      patient_id=item.data.patient_id if valid_id(item.data.patient_id) else None,
                      object_type="consultation", object_id="")
        try:
            checked.append(check_past(actor, item, now))
        except ActionError as exc:
            raise exc.prefixed(f"consultations.{i}") from None
    out, events, audits = [], [], []
    with transaction.atomic():
        for item, (to_institution_id, shared) in zip(items, checked, strict=True):
            data, at = item.data, item.at
            sync = data.mode == "sync"
            status = (Status.CANCELLED if item.cancelled_at else Status.CONFIRMED if item.confirmed_at
                      else Status.SIGNED if item.signed_at else Status.DRAFTED if item.drafted_at
                      else Status.ASSIGNED if item.expert else Status.REQUESTED)
            c = Consultation.objects.create(
                number=secrets.token_hex(8), patient_id=data.patient_id, mode=data.mode, mdt=bool(data.mdt),
                urgency=data.urgency, from_institution_id=actor.institution_id,
                from_department_id=actor.membership.department_id, from_staff_id=actor.membership.staff_id,
                target=data.target, to_institution_id=to_institution_id, to_department_id=data.to_department_id,
                to_staff_id=data.to_staff_id, question=data.question.strip(), summary=data.summary.strip(),
                shared=shared, consent=True, session_start=data.session_start if sync else None,
                session_minutes=data.session_minutes if sync else None, created_at=at, status=status,
                expert_id=item.expert.staff_id if item.expert else None,
                expert_institution_id=item.expert.institution_id if item.expert else None,
                assigned_at=item.taken_at, signed_at=item.signed_at, confirmed_at=item.confirmed_at,
                cancelled_at=item.cancelled_at)
            c.number = f"HZ{timezone.localtime(at):%Y%m%d}{c.pk:06d}"
            c.save(update_fields=["number"])
            pid = data.patient_id
            events.append(_event(actor, c, "requested", at, target=data.target, to_institution=to_institution_id,
                                 to_department=data.to_department_id, to_staff=data.to_staff_id))
            audits.append(audit_for(actor, pid, "consultation", c.pk, Action.CREATE, decisions[pid]))
            if item.expert is not None:
                last = item.amendment[0] if item.amendment else item.signed_at
                last = max(d for d in (last, item.confirmed_at) if d) if last else None
                ends = last + timedelta(days=GRANT_DAYS) if last else item.taken_at + OPEN_ENDED
                lead = actor_for_membership(item.expert, source=actor.source)
                members = [(item.expert, lead, item.taken_at, True, None, "")] + [
                    (m, actor_for_membership(m, source=actor.source), item.taken_at, False, cat, text)
                    for m, cat, text in item.panel]
                for member, member_actor, joined, is_lead, contributed, text in members:
                    grant = Grant.objects.create(
                        patient_id=pid, kind=GrantKind.CONSULTATION, scope="all", to_staff_id=member.staff_id,
                        valid_from=joined, valid_to=max(ends, joined + timedelta(minutes=1)), reason=c.number,
                        source_type="consultation", source_id=c.pk, revoked_at=item.cancelled_at)
                    ConsultationExpert.objects.create(
                        consultation=c, staff_id=member.staff_id, institution_id=member.institution_id, lead=is_lead,
                        grant=grant, joined_at=joined, contribution=(text or "").strip(), contributed_at=contributed)
                    granted = Decision(Basis.GRANT, grant.pk, c.number)
                    audits.append(audit_for(lead if not is_lead or item.desk is None
                                            else actor_for_membership(item.desk, source=actor.source),
                                            pid, "grant", grant.pk, Action.CREATE, granted))
                    if is_lead and item.desk is None:
                        events.append(_event(lead, c, "claimed", joined, staff=member.staff_id,
                                             institution=member.institution_id))
                        audits.append(audit_for(lead, pid, "consultation", c.pk, Action.UPDATE, granted, "claimed"))
                    elif is_lead:
                        desk = actor_for_membership(item.desk, source=actor.source)
                        events.append(_event(desk, c, "assigned", joined, staff=member.staff_id,
                                             institution=member.institution_id, previous=None))
                        audits.append(audit_for(desk, pid, "consultation", c.pk, Action.UPDATE,
                                                Decision(Basis.NONE, reason="consultation desk"), "assigned"))
                    else:
                        events.append(_event(lead, c, "expert_added", joined, staff=member.staff_id,
                                             institution=member.institution_id))
                        events.append(_event(member_actor, c, "contributed", contributed, staff=member.staff_id,
                                             again=False))
                        audits.append(audit_for(member_actor, pid, "consultation", c.pk, Action.UPDATE, granted,
                                                "contribution"))
                lead_grant = Decision(Basis.GRANT, None, c.number)
                if item.drafted_at:
                    first = Opinion.objects.create(
                        consultation=c, version=1, author_id=item.expert.staff_id, opinion=item.opinion.strip(),
                        recommendation=(item.recommendation or "").strip(), created_at=item.drafted_at,
                        updated_at=item.drafted_at, signed_at=item.signed_at)
                    events.append(_event(lead, c, "drafted", item.drafted_at, version=1))
                    audits.append(audit_for(lead, pid, "consultation", c.pk, Action.UPDATE, lead_grant,
                                            "opinion drafted"))
                if item.signed_at:
                    events.append(_event(lead, c, "signed", item.signed_at, version=1))
                    audits.append(audit_for(lead, pid, "consultation", c.pk, Action.UPDATE, lead_grant,
                                            "opinion signed"))
                if item.amendment:
                    when, text, reason = item.amendment
                    Opinion.objects.create(consultation=c, version=2, author_id=item.expert.staff_id,
                                           opinion=text.strip(), recommendation=first.recommendation,
                                           created_at=when, updated_at=when, signed_at=when, amends=first,
                                           amendment_reason=reason.strip())
                    events.append(_event(lead, c, "amended", when, version=2, amends=1, reason=reason.strip()))
                    audits.append(audit_for(lead, pid, "consultation", c.pk, Action.UPDATE, lead_grant,
                                            "opinion amended"))
            if item.confirmed_at:
                events.append(_event(actor, c, "confirmed", item.confirmed_at, version=2 if item.amendment else 1))
                audits.append(audit_for(actor, pid, "consultation", c.pk, Action.UPDATE, decisions[pid], "confirmed"))
            if item.cancelled_at:
                events.append(_event(actor, c, "cancelled", item.cancelled_at, reason=item.cancel_reason.strip()))
                audits.append(audit_for(actor, pid, "consultation", c.pk, Action.UPDATE, decisions[pid], "cancelled"))
            out.append(c)
        ConsultationEvent.objects.bulk_create(events)
        AuditEvent.objects.bulk_create(audits)
    return out


def do_record_operations(actor: Actor, items: list[tuple[NewGuidedOperation, datetime]]) -> list[GuidedOperation]:
    """Record many guided operations of the actor's institution (`do_record_guided_operation`'s checks), each
    recorded at its own past time, on or after the day it was performed."""
    now = timezone.now()
    decisions = decide_many(actor, {data.patient_id for data, _at in items if valid_id(data.patient_id)})
    consultations = {}
    for i, (data, at) in enumerate(items):
        if data.patient_id not in decisions:
            not_found(actor, "operations", i, "patient_id", _("Patient not found."),
                      patient_id=data.patient_id if valid_id(data.patient_id) else None,
                      object_type="guided-operation", object_id="")
        errors: dict[str, str] = {}
        try:
            check_guided_operation(actor, data)
        except ActionError as exc:
            errors.update(exc.errors)
        bad = bad_time(at, now)
        if bad:
            errors["recorded_at"] = bad
        elif isinstance(data.performed_on, date):  # "the past year" counts back from when it was recorded
            recorded_on = timezone.localtime(at).date()
            if recorded_on - timedelta(days=BACKDATE_DAYS) <= data.performed_on <= recorded_on:
                errors.pop("performed_on", None)
            else:
                errors["performed_on"] = _("Date: the day it was recorded or a day of the year before.")
        refuse("operations", i, errors)
        if data.consultation_id:
            consultations[data.consultation_id] = None
    consultations = Consultation.objects.in_bulk(list(consultations))
    rows = [GuidedOperation(
        patient_id=data.patient_id, consultation_id=data.consultation_id, institution_id=actor.institution_id,
        department_id=data.department_id, procedure=data.procedure.strip(), performed_on=data.performed_on,
        mode=data.mode, expert_id=data.expert_staff_id, expert_institution_id=data.expert_institution_id,
        operator_id=data.operator_staff_id, outcome=data.outcome, notes=(data.notes or "").strip(),
        recorded_by_id=actor.membership.staff_id, recorded_at=at) for data, at in items]
    with transaction.atomic():
        GuidedOperation.objects.bulk_create(rows)
        ConsultationEvent.objects.bulk_create([
            _event(actor, consultations[r.consultation_id], "guided_operation", r.recorded_at, operation=r.pk)
            for r in rows if r.consultation_id])
        AuditEvent.objects.bulk_create([audit_for(actor, r.patient_id, "guided-operation", r.pk, Action.CREATE,
                                                  decisions[r.patient_id]) for r in rows])
    return rows
