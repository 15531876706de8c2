"""Remote consultation: the only code that changes a consultation or a guided-operation record
(docs/consults.md).

`check_*` validates and raises `ActionError` naming each bad field; `do_*` writes in a transaction with its
event and audit rows. Each step moves the status by one conditional UPDATE from the states it may start
from, so two people acting on one consultation at once leave one step and the other is told (field
`status`): in particular, of several experts claiming one request at once exactly one wins.

- The requesting side reads the patient through its care relationship; an expert through the grant the
  consultation gives them (`access.Grant`, kind consultation, to the staff member, scope all), from the
  claim or assignment until `GRANT_DAYS` after the opinion is signed (again after an amendment and after
  the requester's confirmation). A cancellation revokes every grant at once, a reassignment the previous
  lead's.
- A signed opinion never changes: an amendment is a new signed version that points to the one it amends.

Who may claim or assign what is in `experts.py`; the guided-operation record and partner hospitals'
actions in `operations.py`.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_grant, do_revoke_grant
from yilian.access.gate import (
    MAX_ID,
    Decision,
    access_object,
    access_patient_for_write,
    audit,
    audit_row,
    decide,
)
from yilian.access.models import Action, Basis, Grant, GrantKind, Outcome
from yilian.care.models import Encounter
from yilian.consults.experts import (
    assignable,
    centre_of,
    check_expert,
    claimable,
    consortium_of,
    expert_institutions,
    is_doctor_at,
    require,
    require_doctor,
    staff_id_of,
)
from yilian.consults.models import (
    ANSWERED,
    IN_WORK,
    Consultation,
    ConsultationEvent,
    ConsultationExpert,
    Mode,
    Opinion,
    Status,
    Target,
    Urgency,
)
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Department
from yilian.network.roles import Cap

GRANT_DAYS = 30  # an expert keeps access this long after the opinion is signed (or confirmed, or amended)
OPEN_ENDED = timedelta(days=3650)  # a grant's end while the expert works on it (set at signing)
SESSION_AHEAD = timedelta(days=90)  # a video session is booked at most this far ahead
SESSION_MINUTES = (10, 240)
SHAREABLE = {"encounter": Encounter}
CANCELLABLE = (Status.REQUESTED, Status.ASSIGNED, Status.DRAFTED)


@dataclass
class NewConsultation:
    patient_id: int
    target: str
    mode: str
    urgency: str
    question: str
    summary: str
    consent: bool = False
    to_institution_id: int | None = None  # a department's or a named expert's institution; the centre: none
    to_department_id: int | None = None
    to_staff_id: int | None = None
    mdt: bool = False
    shared: list[dict] = field(default_factory=list)
    session_start: datetime | None = None
    session_minutes: int | None = None


# --- request ---------------------------------------------------------------------------------------------


def _check_target(actor: Actor, data: NewConsultation, errors: dict) -> int | None:
    """The institution asked: the centre (the lead institution), a department's, or a named expert's."""
    consortium_id = consortium_of(actor.institution_id)
    if data.target == Target.CENTRE:
        centre = centre_of(consortium_id)
        if data.to_department_id is not None or data.to_staff_id is not None:
            errors["target"] = _("The consultation centre assigns the expert itself: choose no department or "
                                 "expert, or ask a department or a named expert.")
        if centre is None or centre.pk == actor.institution_id:
            errors["target"] = _("Your institution is the consultation centre: ask a department of another "
                                 "hospital or a named expert (e.g. of a partner hospital).")
            return None
        if data.to_institution_id not in (None, centre.pk):
            errors["to_institution_id"] = _("The consultation centre is the lead institution.")
        return centre.pk
    allowed = expert_institutions(consortium_id).exclude(pk=actor.institution_id)
    there = allowed.filter(pk=data.to_institution_id).first() if isinstance(data.to_institution_id, int) else None
    if there is None:
        errors["to_institution_id"] = _("Institution: choose another hospital of the consortium or a partner "
                                        "hospital.")
        return None
    if data.target == Target.DEPARTMENT:
        if not isinstance(data.to_department_id, int) or not Department.objects.filter(
                pk=data.to_department_id, institution=there).exists():
            errors["to_department_id"] = _("Department: choose a department of that institution.")
        if data.to_staff_id is not None:
            errors["to_staff_id"] = _("A request to a department names no expert; ask a named expert instead.")
    else:  # a named expert
        if not is_doctor_at(data.to_staff_id, there.pk) or data.to_staff_id == staff_id_of(actor):
            errors["to_staff_id"] = _("Expert: choose a doctor of that institution.")
        if data.to_department_id is not None and not Department.objects.filter(
                pk=data.to_department_id, institution=there).exists():
            errors["to_department_id"] = _("Department: choose a department of that institution.")
    return there.pk


def _check_shared(patient_id: int, shared, errors: dict) -> list[dict]:
    """[{type, id}] of the patient's own records; anything else names the field."""
    if not isinstance(shared, list) or len(shared) > 50:
        errors["shared"] = _("Attached records: a list of at most 50 records.")
        return []
    clean = []
    for item in shared:
        kind, pk = (item.get("type"), item.get("id")) if isinstance(item, dict) else (None, None)
        model = SHAREABLE.get(kind)
        if model is None or not isinstance(pk, int) or not model.objects.filter(pk=pk, patient_id=patient_id).exists():
            errors["shared"] = _("Attached records: only this patient's records (encounters) can be attached.")
            return []
        if {"type": kind, "id": pk} not in clean:
            clean.append({"type": kind, "id": pk})
    return clean


def _check_session(data: NewConsultation, now, errors: dict) -> None:
    if data.mode == Mode.ASYNC:
        if data.session_start is not None or data.session_minutes is not None:
            errors["session_start"] = _("An asynchronous consultation has no video session.")
        return
    start, minutes = data.session_start, data.session_minutes
    if not isinstance(start, datetime) or timezone.is_naive(start) or not now < start <= now + SESSION_AHEAD:
        errors["session_start"] = _("Video session: a time with its time zone in the next 90 days.")
    low, high = SESSION_MINUTES
    if not isinstance(minutes, int) or not low <= minutes <= high:
        errors["session_minutes"] = _("Video session: %(low)s to %(high)s minutes.") % {"low": low, "high": high}


def check_request(actor: Actor, data: NewConsultation, now) -> tuple[int | None, list[dict]]:
    """Every bad field at once; returns (the institution asked, the clean attached records)."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not request consultations."))
    errors: dict[str, str] = {}
    to_institution_id = None
    if data.target not in Target.values:
        errors["target"] = _("Ask the consultation centre, a department or a named expert.")
    else:
        to_institution_id = _check_target(actor, data, errors)
    if data.mode not in Mode.values:
        errors["mode"] = _("Mode: synchronous (video session) or asynchronous.")
    else:
        _check_session(data, now, errors)
    if data.urgency not in Urgency.values:
        errors["urgency"] = _("Urgency: routine, urgent or emergency.")
    if not (data.question or "").strip() or len(data.question) > 1000:
        errors["question"] = _("Question: required, at most 1000 characters.")
    if not (data.summary or "").strip() or len(data.summary) > 4000:
        errors["summary"] = _("Patient summary: required, at most 4000 characters.")
    if data.consent is not True:
        errors["consent"] = _("Record that the patient (or their family) agreed in writing to the remote "
                              "consultation (国卫医发〔2018〕25号).")
    shared = _check_shared(data.patient_id, data.shared, errors)
    if errors:
        raise ActionError(errors=errors)
    return to_institution_id, shared


def event(actor: Actor, consultation: Consultation, kind: str, at, **data) -> None:
    ConsultationEvent.objects.create(consultation=consultation, kind=kind, at=at, user_id=actor.user_id,
                                     membership_id=actor.membership.pk if actor.membership else None, data=data)


def _audit(actor: Actor, consultation: Consultation, action: str, decision: Decision | None,
           reason: str = "") -> None:
    audit_row(actor, patient_id=consultation.patient_id, object_type="consultation", object_id=consultation.pk,
              action=action, decision=decision or Decision(Basis.CARE), reason=reason).save()


def do_request(actor: Actor, data: NewConsultation) -> Consultation:
    """Ask for a consultation on a patient the actor's institution may see: the request, its event and
    its audit row. No grant yet: the expert who claims it, or is assigned, gets one."""
    patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE,
                                                 object_type="consultation")
    now = timezone.now()
    to_institution_id, shared = check_request(actor, data, now)
    sync = data.mode == Mode.SYNC
    with transaction.atomic():
        consultation = Consultation.objects.create(
            number=secrets.token_hex(8), patient=patient, mode=data.mode, mdt=bool(data.mdt),
            urgency=data.urgency, from_institution_id=actor.institution_id,
            from_department_id=actor.membership.department_id, from_staff_id=actor.membership.staff_id,
            target=data.target, to_institution_id=to_institution_id, to_department_id=data.to_department_id,
            to_staff_id=data.to_staff_id, question=data.question.strip(), summary=data.summary.strip(),
            shared=shared, consent=True, session_start=data.session_start if sync else None,
            session_minutes=data.session_minutes if sync else None, created_at=now)
        consultation.number = f"HZ{timezone.localtime(now):%Y%m%d}{consultation.pk:06d}"
        consultation.save(update_fields=["number"])
        event(actor, consultation, "requested", now, target=data.target, to_institution=to_institution_id,
               to_department=data.to_department_id, to_staff=data.to_staff_id)
        _audit(actor, consultation, Action.CREATE, decision)
    return consultation


# --- finding a consultation for each side ------------------------------------------------------------------


def panel_of(actor: Actor) -> QuerySet[ConsultationExpert]:
    return ConsultationExpert.objects.filter(staff_id=staff_id_of(actor), left_at__isnull=True)


def consultation_for(actor: Actor, consultation_id, *, side: str = "any", action: str = Action.UPDATE,
                     audit_success: bool = False) -> tuple[Consultation, Decision | None]:
    """A consultation the actor's institution asked for (`side="from"`), one the actor is an expert on
    (`"expert"`), or either (`"any"`), whose patient the actor may see now; 404 (audited) otherwise. An
    expert sees it through the consultation's grant: once that is revoked or expired, 404."""
    mine = {"from": Q(from_institution_id=actor.institution_id),
            "expert": Q(pk__in=panel_of(actor).values("consultation_id"))}
    mine["any"] = mine["from"] | mine["expert"]
    queryset = Consultation.objects.filter(mine[side]).select_related(
        "from_institution", "to_institution", "to_department", "to_staff", "from_staff", "expert",
        "expert_institution")
    if not (isinstance(consultation_id, int) and 0 < consultation_id < MAX_ID):
        consultation_id = None  # no such row (and none the database could be asked about)
    consultation = access_object(actor, queryset, consultation_id, object_type="consultation", action=action,
                                 audit_success=audit_success)
    return consultation, decide(actor, consultation.patient_id, "consultation")


def _worklist_item(actor: Actor, consultation_id, which: Q, action: str) -> Consultation:
    """A request on the actor's worklist, whose patient the actor may not see yet: missing and not on the
    worklist both answer 404, audited as denied."""
    pk = consultation_id if isinstance(consultation_id, int) and 0 < consultation_id < MAX_ID else None
    found = Consultation.objects.filter(which, pk=pk).first() if pk else None
    if found is None:
        known = Consultation.objects.filter(pk=pk).values_list("patient_id", flat=True).first() if pk else None
        audit(actor, patient_id=known, object_type="consultation", object_id=consultation_id, action=action,
              outcome=Outcome.DENIED)
        raise Http404
    return found


def for_choosing_experts(actor: Actor, consultation_id) -> Consultation:
    """A consultation whose expert the actor may choose: the desk of the institution asked (to assign),
    or the lead expert (to invite an MDT panel); 404 (audited) otherwise. Shows no patient data."""
    lead = Q(expert_id=staff_id_of(actor)) if staff_id_of(actor) else Q(pk__in=[])
    return _worklist_item(actor, consultation_id, assignable(actor) | lead, Action.READ)


def _move(consultation: Consultation, sources, **changes) -> None:
    """One conditional UPDATE from the states the step may start from (with no change, it only holds
    the row for the rest of the transaction); refused if someone moved it first."""
    moved = Consultation.objects.filter(pk=consultation.pk, status__in=sources).update(
        **(changes or {"status": F("status")}))
    if not moved:
        now = Consultation.objects.get(pk=consultation.pk)
        raise ActionError("status", _("This consultation has moved on meanwhile (now: %(status)s); reload it.")
                          % {"status": now.get_status_display()})
    for name, value in changes.items():
        setattr(consultation, name, value)


def _join(actor: Actor, consultation: Consultation, staff_id: int, institution_id: int, *, lead: bool,
          now) -> ConsultationExpert:
    """Put an expert on the consultation with the grant that lets them see the patient."""
    grant = do_grant(actor, patient_id=consultation.patient_id, kind=GrantKind.CONSULTATION,
                     to_staff_id=staff_id, valid_from=now, valid_to=now + OPEN_ENDED, reason=consultation.number,
                     source_type="consultation", source_id=consultation.pk)
    return ConsultationExpert.objects.create(consultation=consultation, staff_id=staff_id,
                                             institution_id=institution_id, lead=lead, grant=grant, joined_at=now)


def _grants(consultation: Consultation) -> QuerySet[Grant]:
    ids = ConsultationExpert.objects.filter(consultation=consultation, left_at__isnull=True).values("grant_id")
    return Grant.objects.filter(pk__in=ids, revoked_at__isnull=True)


def _extend_grants(consultation: Consultation, now) -> None:
    """The experts keep access `GRANT_DAYS` from now (the opinion signed, amended or confirmed)."""
    _grants(consultation).update(valid_to=now + timedelta(days=GRANT_DAYS))


# --- the expert's side -----------------------------------------------------------------------------------


def do_claim(actor: Actor, consultation_id) -> Consultation:
    """An expert takes a waiting request: one conditional UPDATE, so of several claiming at once exactly
    one wins; the others are told (field `status`). The winner gets the grant."""
    require_doctor(actor, _("Only a doctor may take a consultation."))
    consultation = _worklist_item(actor, consultation_id, claimable(actor), Action.UPDATE)
    now = timezone.now()
    staff_id = staff_id_of(actor)
    if staff_id == consultation.from_staff_id:
        raise ActionError("role", _("You asked for this consultation; another expert must answer it."))
    with transaction.atomic():
        won = Consultation.objects.filter(pk=consultation.pk, status=Status.REQUESTED, expert__isnull=True).update(
            status=Status.ASSIGNED, expert_id=staff_id, expert_institution_id=actor.institution_id,
            assigned_at=now)
        if not won:
            raise ActionError("status", _("Another expert has taken this consultation."))
        expert = _join(actor, consultation, staff_id, actor.institution_id, lead=True, now=now)
        event(actor, consultation, "claimed", now, staff=staff_id, institution=actor.institution_id)
        _audit(actor, consultation, Action.UPDATE, Decision(Basis.GRANT, expert.grant_id), reason="claimed")
    consultation.refresh_from_db()
    return consultation


def do_assign(actor: Actor, consultation_id, staff_id, institution_id, replacing=None) -> Consultation:
    """The desk of the institution asked (the consultation centre's, for a request to the centre) gives
    the request to an expert. `replacing` is the expert the desk saw holding it (None: nobody), so a
    desk that saw a waiting request never takes it from an expert who claimed it meanwhile; replacing an
    expert (while no opinion is drafted) revokes their grant at once."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not assign consultations."))
    consultation = _worklist_item(actor, consultation_id, assignable(actor), Action.UPDATE)
    errors: dict[str, str] = {}
    check_expert(consultation, staff_id, institution_id, errors, "staff_id")
    if staff_id is not None and staff_id == replacing:
        errors["staff_id"] = _("This expert already has the consultation.")
    elif ConsultationExpert.objects.filter(consultation=consultation, staff_id=staff_id, left_at__isnull=True).exists():
        errors["staff_id"] = _("This expert is already on the panel.")
    if errors:
        raise ActionError(errors=errors)
    now = timezone.now()
    previous = replacing if isinstance(replacing, int) else None
    with transaction.atomic():
        moved = Consultation.objects.filter(
            pk=consultation.pk, status__in=(Status.REQUESTED, Status.ASSIGNED), expert_id=previous).update(
            status=Status.ASSIGNED, expert_id=staff_id, expert_institution_id=institution_id, assigned_at=now)
        if not moved:
            raise ActionError("status", _("This consultation has moved on meanwhile; reload it."))
        for old in ConsultationExpert.objects.filter(consultation=consultation, lead=True, left_at__isnull=True):
            ConsultationExpert.objects.filter(pk=old.pk).update(left_at=now)
            if old.grant_id:
                do_revoke_grant(actor, old.grant)
        _join(actor, consultation, staff_id, institution_id, lead=True, now=now)
        event(actor, consultation, "assigned", now, staff=staff_id, institution=institution_id,
               previous=previous)
        _audit(actor, consultation, Action.UPDATE, Decision(Basis.NONE, reason="consultation desk"),
               reason="assigned")
    consultation.refresh_from_db()
    return consultation


def _as_expert(actor: Actor, consultation_id, *, lead: bool):
    consultation, decision = consultation_for(actor, consultation_id, side="expert")
    if lead and consultation.expert_id != staff_id_of(actor):
        raise ActionError("role", _("Only the lead expert of the consultation may do this."))
    return consultation, decision


def do_add_expert(actor: Actor, consultation_id, staff_id, institution_id) -> ConsultationExpert:
    """The lead expert of an MDT consultation invites another expert onto the panel (with a grant)."""
    require_doctor(actor, _("Only a doctor may lead a consultation."))
    consultation, decision = _as_expert(actor, consultation_id, lead=True)
    errors: dict[str, str] = {}
    if not consultation.mdt:
        errors["mdt"] = _("Only a multidisciplinary (MDT) consultation has a panel of experts.")
    check_expert(consultation, staff_id, institution_id, errors, "staff_id")
    if ConsultationExpert.objects.filter(consultation=consultation, staff_id=staff_id, left_at__isnull=True).exists():
        errors["staff_id"] = _("This expert is already on the panel.")
    if errors:
        raise ActionError(errors=errors)
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, IN_WORK)
        expert = _join(actor, consultation, staff_id, institution_id, lead=False, now=now)
        event(actor, consultation, "expert_added", now, staff=staff_id, institution=institution_id)
        _audit(actor, consultation, Action.UPDATE, decision, reason="expert added")
    return expert


def do_contribute(actor: Actor, consultation_id, text: str) -> ConsultationExpert:
    """An expert of an MDT panel writes (or rewrites) their contribution, until the conclusion is signed."""
    require_doctor(actor, _("Only a doctor may contribute to a consultation."))
    text = (text or "").strip()
    if not text or len(text) > 4000:
        raise ActionError("text", _("Contribution: required, at most 4000 characters."))
    consultation, decision = _as_expert(actor, consultation_id, lead=False)
    if not consultation.mdt:
        raise ActionError("mdt", _("Only a multidisciplinary (MDT) consultation takes contributions."))
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, IN_WORK)
        mine = panel_of(actor).get(consultation=consultation)
        ConsultationExpert.objects.filter(pk=mine.pk).update(contribution=text, contributed_at=now)
        event(actor, consultation, "contributed", now, staff=mine.staff_id, again=mine.contributed_at is not None)
        _audit(actor, consultation, Action.UPDATE, decision, reason="contribution")
    mine.refresh_from_db()
    return mine


def _check_opinion(opinion: str, recommendation: str) -> tuple[str, str]:
    opinion, recommendation = (opinion or "").strip(), (recommendation or "").strip()
    errors = {}
    if not opinion or len(opinion) > 4000:
        errors["opinion"] = _("Opinion: required, at most 4000 characters.")
    if len(recommendation) > 4000:
        errors["recommendation"] = _("Recommendation: at most 4000 characters.")
    if errors:
        raise ActionError(errors=errors)
    return opinion, recommendation


def do_write_opinion(actor: Actor, consultation_id, opinion: str, recommendation: str = "") -> Opinion:
    """The lead expert writes the draft opinion (the conclusion, for an MDT) or changes it; a draft
    changes freely until it is signed."""
    require_doctor(actor, _("Only a doctor may write an opinion."))
    opinion, recommendation = _check_opinion(opinion, recommendation)
    consultation, decision = _as_expert(actor, consultation_id, lead=True)
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, IN_WORK, status=Status.DRAFTED)
        draft = Opinion.objects.filter(consultation=consultation, signed_at__isnull=True).first()
        if draft is None:
            version = (Opinion.objects.filter(consultation=consultation).aggregate(n=Max("version"))["n"] or 0) + 1
            draft = Opinion.objects.create(consultation=consultation, version=version, author_id=staff_id_of(actor),
                                           opinion=opinion, recommendation=recommendation, created_at=now,
                                           updated_at=now)
            event(actor, consultation, "drafted", now, version=version)
        else:
            Opinion.objects.filter(pk=draft.pk, signed_at__isnull=True).update(
                opinion=opinion, recommendation=recommendation, updated_at=now)
            event(actor, consultation, "draft_updated", now, version=draft.version)
        _audit(actor, consultation, Action.UPDATE, decision, reason="opinion drafted")
    draft.refresh_from_db()
    return draft


def do_sign(actor: Actor, consultation_id) -> Opinion:
    """The lead expert signs the draft: from then on it never changes. An MDT conclusion is signed once
    at least one other expert of the panel has contributed."""
    require_doctor(actor, _("Only a doctor may sign an opinion."))
    consultation, decision = _as_expert(actor, consultation_id, lead=True)
    if consultation.mdt and not ConsultationExpert.objects.filter(
            consultation=consultation, lead=False, left_at__isnull=True, contributed_at__isnull=False).exists():
        raise ActionError("contributions", _("An MDT conclusion needs a contribution from at least one other "
                                             "expert of the panel."))
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, [Status.DRAFTED], status=Status.SIGNED, signed_at=consultation.signed_at or now)
        draft = Opinion.objects.get(consultation=consultation, signed_at__isnull=True)
        Opinion.objects.filter(pk=draft.pk, signed_at__isnull=True).update(signed_at=now)
        _extend_grants(consultation, now)
        event(actor, consultation, "signed", now, version=draft.version)
        _audit(actor, consultation, Action.UPDATE, decision, reason="opinion signed")
    draft.refresh_from_db()
    return draft


def do_amend(actor: Actor, consultation_id, opinion: str, recommendation: str, reason: str) -> Opinion:
    """Correct a signed opinion: a new signed version that points to the one it amends, which stays as it
    was. The requester is asked to confirm again."""
    require_doctor(actor, _("Only a doctor may amend an opinion."))
    reason = (reason or "").strip()
    errors = {}
    try:
        opinion, recommendation = _check_opinion(opinion, recommendation)
    except ActionError as exc:
        errors.update(exc.errors)
    if not reason or len(reason) > 200:
        errors["reason"] = _("Reason for the amendment: required, at most 200 characters.")
    if errors:
        raise ActionError(errors=errors)
    consultation, decision = _as_expert(actor, consultation_id, lead=True)
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, ANSWERED, status=Status.SIGNED)
        current = Opinion.objects.filter(consultation=consultation, signed_at__isnull=False).order_by("-version").first()
        amended = Opinion.objects.create(
            consultation=consultation, version=current.version + 1, author_id=staff_id_of(actor), opinion=opinion,
            recommendation=recommendation, created_at=now, updated_at=now, signed_at=now, amends=current,
            amendment_reason=reason)
        _extend_grants(consultation, now)
        event(actor, consultation, "amended", now, version=amended.version, amends=current.version, reason=reason)
        _audit(actor, consultation, Action.UPDATE, decision, reason="opinion amended")
    return amended


# --- the requesting side -------------------------------------------------------------------------------


def do_confirm(actor: Actor, consultation_id) -> Consultation:
    """A doctor of the requesting institution confirms the signed opinion (会诊意见确认): the consultation
    is closed; the experts keep access `GRANT_DAYS` more days."""
    require_doctor(actor, _("Only a doctor may confirm a consultation's opinion."))
    consultation, decision = consultation_for(actor, consultation_id, side="from")
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, [Status.SIGNED], status=Status.CONFIRMED, confirmed_at=now)
        _extend_grants(consultation, now)
        version = Opinion.objects.filter(consultation=consultation, signed_at__isnull=False).aggregate(
            n=Max("version"))["n"]
        event(actor, consultation, "confirmed", now, version=version)
        _audit(actor, consultation, Action.UPDATE, decision, reason="confirmed")
    return consultation


def do_cancel(actor: Actor, consultation_id, reason: str) -> Consultation:
    """The requesting side withdraws a request not yet answered: every expert's grant ends at once."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not cancel consultations."))
    reason = (reason or "").strip()
    if not reason or len(reason) > 200:
        raise ActionError("reason", _("Reason: required, at most 200 characters."))
    consultation, decision = consultation_for(actor, consultation_id, side="from")
    now = timezone.now()
    with transaction.atomic():
        _move(consultation, CANCELLABLE, status=Status.CANCELLED, cancelled_at=now)
        for grant in _grants(consultation):
            do_revoke_grant(actor, grant)
        event(actor, consultation, "cancelled", now, reason=reason)
        _audit(actor, consultation, Action.UPDATE, decision, reason="cancelled")
    return consultation
