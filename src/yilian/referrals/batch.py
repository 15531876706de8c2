"""Batch forms of the referral actions, for the demo generator and importers of past activity (the rules of
`scheduling/batch.py`): each item carries the time its step happened, which must carry a time zone and not
lie in the future; the checks of the single form run on every item at that time; a failing item is named by
its index (`referrals.3.to_institution_id`, `steps.2.at`); a patient the actor may not see is audited as
denied and answered "not found". Everything is written in one transaction with the events, the audit rows
and the patient's messages.

- `do_refer_many` is `actions.do_refer` (as the sending doctor): the referral, its grant from the time it was
  sent, the reserved slot if one was chosen (open and not started at that time).
- `do_steps_many` is `do_accept`, `do_reject`, `do_redirect`, `do_arrive` and `do_close` (as the receiving
  side) and `do_cancel` (as the sender), in the order of their times: each from the states its single form
  starts from, never before the referral's last step.
- `do_escalate_many` is `do_escalate_overdue` for named referrals at past times: still waiting, past the
  deadline at that time, once each.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, decide_many
from yilian.access.models import Action, AuditEvent, Basis, CareRelation, Grant, GrantKind
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor
from yilian.network.models import Department, Institution
from yilian.network.roles import Cap
from yilian.referrals.actions import (
    DEADLINE,
    GRANT_DAYS,
    OPEN_ENDED,
    NewReferral,
    _check_target,
    check_referral,
)
from yilian.referrals.codes import name_of
from yilian.referrals.models import OPEN, Direction, FollowUp, Referral, ReferralEvent, Status
from yilian.scheduling.actions import claim_place
from yilian.scheduling.batch import audit_for, bad_time, not_found, refuse, require, update_each, valid_id
from yilian.scheduling.models import Channel, Message

STEPS = ("accept", "reject", "redirect", "arrive", "close", "cancel")
FROM = {"accept": (Status.SENT,), "reject": (Status.SENT,), "redirect": OPEN, "arrive": OPEN,
        "close": (Status.ARRIVED,), "cancel": OPEN}
FIELDS = ["status", "to_institution", "to_department", "to_staff", "accepted_at", "rejected_at", "arrived_at",
          "closed_at", "deadline_at", "escalated_at", "grant"]


@dataclass
class PastReferral:
    data: NewReferral
    at: datetime  # when it was sent


@dataclass
class Step:
    referral_id: int
    kind: str  # accept, reject, redirect, arrive, close (the receiving side) or cancel (the sender)
    at: datetime
    reason: str = ""
    to_institution_id: int | None = None  # redirect
    to_department_id: int | None = None


def _event(actor: Actor, referral: Referral, kind: str, at, **data) -> ReferralEvent:
    return ReferralEvent(referral=referral, kind=kind, at=at, user_id=actor.user_id,
                         membership_id=actor.membership.pk if actor.membership else None, data=data)


def _where(institution: Institution, department: Department | None) -> str:
    return f"{institution.name}{f' {department.name}' if department else ''}"


def do_refer_many(actor: Actor, items: list[PastReferral]) -> list[Referral]:
    """Send many referrals, each at its own past time (`do_refer`'s checks at that time). Returns them in
    the order given."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not refer patients."))
    now = timezone.now()
    decisions = decide_many(actor, {item.data.patient_id for item in items if valid_id(item.data.patient_id)})
    checked = []
    for i, item in enumerate(items):
        bad = bad_time(item.at, now)
        if bad:
            refuse("referrals", i, {"at": bad})
        if item.data.patient_id not in decisions:
            not_found(actor, "referrals", i, "patient_id", _("Patient not found."),
                      patient_id=item.data.patient_id if valid_id(item.data.patient_id) else None,
                      object_type="referral", object_id="")
        try:
            checked.append(check_referral(actor, item.data, item.at))
        except ActionError as exc:
            raise exc.prefixed(f"referrals.{i}") from None
    places = {p.pk: p for p in Institution.objects.filter(pk__in={i.data.to_institution_id for i in items})}
    departments = {d.pk: d for d in Department.objects.filter(
        pk__in={i.data.to_department_id for i in items if i.data.to_department_id})}
    out, events, audits, messages = [], [], [], []
    with transaction.atomic():
        for item, (shared, slot) in zip(items, checked, strict=True):
            data, at = item.data, item.at
            referral = Referral.objects.create(
                number=secrets.token_hex(8), patient_id=data.patient_id,
                direction=data.direction, setting=data.setting, urgency=data.urgency,
                from_institution_id=actor.institution_id, from_department_id=actor.membership.department_id,
                from_staff_id=actor.membership.staff_id, to_institution_id=data.to_institution_id,
                to_department_id=data.to_department_id, to_staff_id=data.to_staff_id,
                diagnosis_code=data.diagnosis_code.strip().upper(), diagnosis_name=name_of(data.diagnosis_code),
                reason=data.reason.strip(), summary=(data.summary or "").strip(), shared=shared,
                follow_up_plan=(data.follow_up_plan or "").strip(), bed_requested=data.bed_requested,
                created_at=at, deadline_at=at + DEADLINE[data.urgency])
            referral.number = f"ZZ{timezone.localtime(at):%Y%m%d}{referral.pk:06d}"
            referral.grant = Grant.objects.create(
                patient_id=data.patient_id, kind=GrantKind.REFERRAL, scope="all",
                to_institution_id=data.to_institution_id, valid_from=at, valid_to=at + OPEN_ENDED,
                reason=referral.number, source_type="referral", source_id=referral.pk)
            audits.append(audit_for(actor, data.patient_id, "grant", referral.grant.pk, Action.CREATE,
                                    Decision(Basis.GRANT, referral.grant.pk, referral.number)))
            when = ""
            if slot is not None:
                referral.booking = claim_place(actor, data.patient_id, slot, Channel.REFERRAL, at,
                                               referral=referral.pk)
                when = _(", appointment %(time)s") % {"time": f"{timezone.localtime(slot.start):%Y-%m-%d %H:%M}"}
            referral.save(update_fields=["number", "grant", "booking"])
            events.append(_event(actor, referral, "sent", at, to_institution=data.to_institution_id,
                                 follow_up_staff=data.follow_up_staff_id))
            audits.append(audit_for(actor, data.patient_id, "referral", referral.pk, Action.CREATE,
                                    decisions[data.patient_id]))
            where = _where(places[data.to_institution_id], departments.get(data.to_department_id))
            messages.append(Message(patient_id=data.patient_id, booking=referral.booking, created_at=at, text=_(
                "You are referred to %(where)s%(when)s. Referral number %(number)s; bring your ID card.")
                % {"where": where, "when": when, "number": referral.number}))
            out.append(referral)
        ReferralEvent.objects.bulk_create(events)
        AuditEvent.objects.bulk_create(audits)
        Message.objects.bulk_create(messages)
    return out


def _basis(grant: Grant | None, at) -> Decision | None:
    """Why the receiving side saw the patient at `at`: the referral's grant, valid then."""
    if grant is None or not grant.valid_from <= at < grant.valid_to or (grant.revoked_at and grant.revoked_at <= at):
        return None
    return Decision(Basis.GRANT, grant.pk, grant.get_kind_display())


def do_steps_many(actor: Actor, steps: list[Step]) -> list[Referral]:
    """The receiving side's steps (accept, reject, redirect, arrive, close) and the sender's cancellation
    for many referrals, each at its own past time, in the order of the times. The single forms' checks:
    the role; the referral is the actor's institution's to receive (or, to cancel, to send) and its patient
    visible (the referral's grant at that time, or care); the step starts from an allowed state, not before
    the referral's last step; a reason for reject, redirect and cancel; a redirection's target of the
    right level. Returns the referrals touched, in the order first named."""
    now = timezone.now()
    need = Cap.RECORD_VISIT if any(s.kind == "cancel" for s in steps) else Cap.CLINICAL
    require(actor, need, _("Your role may not act on referrals."))
    if any(s.kind != "cancel" for s in steps):
        require(actor, Cap.CLINICAL, _("Your role may not act on referrals."))
    ids = {s.referral_id for s in steps if valid_id(s.referral_id)}
    referrals = {r.pk: r for r in Referral.objects.filter(pk__in=ids).order_by("pk")}
    loaded = {pk: r.status for pk, r in referrals.items()}
    by_pk = {g.pk: g for g in Grant.objects.filter(pk__in={r.grant_id for r in referrals.values()})}
    grants = {pk: by_pk.get(r.grant_id) for pk, r in referrals.items()}  # the referral's current grant
    care = decide_many(actor, {r.patient_id for r in referrals.values()})
    last = {pk: ReferralEvent.objects.filter(referral_id=pk).order_by("-at").values_list("at", flat=True).first()
            for pk in referrals}
    followers = dict(ReferralEvent.objects.filter(referral_id__in=referrals, kind="sent").values_list(
        "referral_id", "data__follow_up_staff"))
    institutions = {p.pk: p for p in Institution.objects.all()}
    departments = {d.pk: d for d in Department.objects.filter(
        institution_id__in={r.to_institution_id for r in referrals.values()}
        | {s.to_institution_id for s in steps if s.to_institution_id})}
    events, audits, messages, follow_ups, cares, new_grants, touched = [], [], [], [], [], [], {}
    for i in sorted(range(len(steps)), key=lambda k: (steps[k].at, k)):
        step = steps[i]
        referral = referrals.get(step.referral_id)
        side = "from_institution_id" if step.kind == "cancel" else "to_institution_id"
        if referral is None or getattr(referral, side) != actor.institution_id:
            not_found(actor, "steps", i, "referral_id", _("Referral not found."),
                      patient_id=referral.patient_id if referral else None, object_type="referral",
                      object_id=step.referral_id if valid_id(step.referral_id) else "", action=Action.UPDATE)
        decision = care.get(referral.patient_id) if step.kind == "cancel" else (
            _basis(grants[referral.pk], step.at) or care.get(referral.patient_id))
        if decision is None:
            not_found(actor, "steps", i, "referral_id", _("Referral not found."), patient_id=referral.patient_id,
                      object_type="referral", object_id=referral.pk, action=Action.UPDATE)
        errors: dict[str, str] = {}
        bad = bad_time(step.at, now)
        if step.kind not in STEPS:
            errors["kind"] = _("Step: accept, reject, redirect, arrive, close or cancel.")
        elif referral.status not in FROM[step.kind]:
            errors["status"] = _("This referral has moved on meanwhile (now: %(status)s); reload it.") % {
                "status": referral.get_status_display()}
        if bad:
            errors["at"] = bad
        elif last[referral.pk] and step.at < last[referral.pk]:
            errors["at"] = _("A step cannot come before the referral's last step.")
        reason = (step.reason or "").strip()
        if step.kind in ("reject", "redirect", "cancel") and (not reason or len(reason) > 200):
            errors["reason"] = _("Reason: required, at most 200 characters.")
        if step.kind == "redirect" and "status" not in errors:
            _check_target(referral.from_institution_id, referral.direction, step.to_institution_id,
                          step.to_department_id, None, errors)
        refuse("steps", i, errors)
        at, grant = step.at, grants[referral.pk]
        touched.setdefault(referral.pk, referral)
        last[referral.pk] = at
        here = _where(institutions[referral.to_institution_id], departments.get(referral.to_department_id))
        if step.kind == "accept":
            referral.status, referral.accepted_at = Status.ACCEPTED, at
            text = _("%(where)s has accepted your referral %(number)s.") % {"where": here, "number": referral.number}
        elif step.kind in ("reject", "cancel"):
            referral.status, referral.closed_at = (Status.REJECTED if step.kind == "reject" else Status.CANCELLED), at
            if step.kind == "reject":
                referral.rejected_at = at
            if referral.booking_id:
                raise ActionError(f"steps.{i}.referral_id", _("A referral with a reserved slot is released one by "
                                                              "one (actions.do_reject or do_cancel)."))
            if grant is not None and grant.revoked_at is None:
                grant.revoked_at = at
            text = (_("%(where)s could not take your referral %(number)s; your doctor will advise you.")
                    % {"where": here, "number": referral.number} if step.kind == "reject" else
                    _("Your referral %(number)s has been cancelled.") % {"number": referral.number})
        elif step.kind == "redirect":
            if referral.booking_id:
                raise ActionError(f"steps.{i}.referral_id", _("A referral with a reserved slot is redirected one "
                                                              "by one (actions.do_redirect)."))
            previous = referral.to_institution_id
            if grant is not None and grant.revoked_at is None:
                grant.revoked_at = at
            grant = Grant(patient_id=referral.patient_id, kind=GrantKind.REFERRAL, scope="all",
                          to_institution_id=step.to_institution_id, valid_from=at, valid_to=at + OPEN_ENDED,
                          reason=referral.number, source_type="referral", source_id=referral.pk)
            grants[referral.pk] = grant
            new_grants.append((grant, referral))
            referral.status, referral.to_institution_id = Status.SENT, step.to_institution_id
            referral.to_department_id, referral.to_staff_id, referral.accepted_at = step.to_department_id, None, None
            referral.deadline_at, referral.escalated_at = at + DEADLINE[referral.urgency], None
            events.append(_event(actor, referral, "redirected", at, reason=reason, from_institution=previous,
                                 to_institution=step.to_institution_id))
            there = _where(institutions[step.to_institution_id], departments.get(step.to_department_id))
            text = _("Your referral %(number)s has been passed on to %(where)s.") % {"number": referral.number,
                                                                                   "where": there}
        elif step.kind == "arrive":
            referral.status, referral.arrived_at = Status.ARRIVED, at
            referral.accepted_at = referral.accepted_at or at
            cares.append(CareRelation(patient_id=referral.patient_id, institution_id=referral.to_institution_id,
                                      source_type="referral", source_id=referral.pk, since=at))
            if referral.direction == Direction.DOWN:
                follow_ups.append(FollowUp(referral=referral, patient_id=referral.patient_id,
                                           institution_id=referral.to_institution_id,
                                           assignee_id=followers.get(referral.pk), plan=referral.follow_up_plan,
                                           created_at=at))
            text = None
        else:  # close
            referral.status, referral.closed_at = Status.CLOSED, at
            if grant is not None and grant.revoked_at is None:
                grant.valid_to = at + timedelta(days=GRANT_DAYS)
            text = None
        if step.kind != "redirect":
            data = {"reason": reason} if step.kind in ("reject", "cancel") else {}
            events.append(_event(actor, referral, {"accept": "accepted", "reject": "rejected", "arrive": "arrived",
                                                   "close": "closed", "cancel": "cancelled"}[step.kind], at, **data))
        audits.append(audit_for(actor, referral.patient_id, "referral", referral.pk, Action.UPDATE, decision,
                                {"accept": "accepted", "reject": "rejected", "redirect": "redirected",
                                 "arrive": "arrived", "close": "closed", "cancel": "cancelled"}[step.kind]))
        if text:
            messages.append(Message(patient_id=referral.patient_id, booking_id=referral.booking_id, text=text,
                                    created_at=at))
    with transaction.atomic():
        current = dict(Referral.objects.select_for_update().filter(pk__in=touched).values_list("pk", "status"))
        if any(current[pk] != loaded[pk] for pk in touched):
            raise ActionError("status", _("A referral of the batch has moved on meanwhile; reload it."))
        Grant.objects.bulk_create([g for g, _r in new_grants])
        for grant, referral in new_grants:
            audits.append(audit_for(actor, referral.patient_id, "grant", grant.pk, Action.CREATE,
                                    Decision(Basis.GRANT, grant.pk, referral.number)))
            if grants[referral.pk] is grant:
                referral.grant = grant
        update_each(Referral, FIELDS, touched.values())
        update_each(Grant, ["valid_to", "revoked_at"], [g for g in by_pk.values() if g is not None])
        CareRelation.objects.bulk_create(cares, ignore_conflicts=True)
        FollowUp.objects.bulk_create(follow_ups)
        ReferralEvent.objects.bulk_create(events)
        AuditEvent.objects.bulk_create(audits)
        Message.objects.bulk_create(messages)
    return list(touched.values())


def do_escalate_many(items: list[tuple[int, datetime]]) -> int:
    """Escalate named referrals at past times (`do_escalate_overdue`): each still waiting for acceptance,
    past its deadline at that time, not escalated before. Returns how many."""
    now = timezone.now()
    referrals = {r.pk: r for r in Referral.objects.filter(pk__in={pk for pk, _at in items if valid_id(pk)})}
    rows, events = [], []
    for i, (pk, at) in enumerate(items):
        referral = referrals.get(pk)
        bad = bad_time(at, now)
        if referral is None:
            raise ActionError(f"escalations.{i}.referral_id", _("Referral not found."))
        if bad:
            refuse("escalations", i, {"at": bad})
        if referral.status != Status.SENT or referral.escalated_at is not None or at <= referral.deadline_at:
            refuse("escalations", i, {"referral_id": _("Only a referral still waiting past its deadline is "
                                                       "escalated, once.")})
        referral.escalated_at = at
        rows.append(referral)
        events.append(_event(SYSTEM, referral, "escalated", at,
                             overdue_minutes=int((at - referral.deadline_at).total_seconds() // 60)))
    with transaction.atomic():
        update_each(Referral, ["escalated_at"], rows, status=Status.SENT)
        ReferralEvent.objects.bulk_create(events)
    return len(rows)
