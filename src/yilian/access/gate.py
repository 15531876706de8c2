"""The single way to patient data: decide, audit, and answer 404 for missing and forbidden alike."""

from dataclasses import dataclass

from django.apps import apps
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from yilian.access.models import Action, AuditEvent, Basis, BreakGlass, CareRelation, Grant, Outcome
from yilian.network.acting import Actor
from yilian.network.roles import Cap

MAX_ID = 2**63 - 1  # the largest primary key a BigAutoField can hold


@dataclass(frozen=True)
class Decision:
    basis: str
    grant_id: int | None = None
    reason: str = ""


def _active_grants(actor: Actor, now) -> QuerySet[Grant]:
    staff_id = actor.membership.staff_id if actor.membership else None
    return Grant.objects.filter(
        Q(to_institution_id=actor.institution_id) | Q(to_staff_id=staff_id),
        valid_from__lte=now,
        valid_to__gt=now,
        revoked_at__isnull=True,
    )


def _current_care(actor: Actor, now) -> QuerySet[CareRelation]:
    """Care relationships of the acting institution that have not ended (`until` is set when an episode
    closes for good, e.g. a transfer of the contracted family doctor)."""
    return CareRelation.objects.filter(Q(until__isnull=True) | Q(until__gt=now), institution_id=actor.institution_id)


def _active_break_glass(actor: Actor, now) -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(membership=actor.membership, started_at__lte=now, expires_at__gt=now)


def decide(actor: Actor, patient_id: int, scope: str = "all") -> Decision | None:
    """Why `actor` may see `patient_id` now, or None. Care first, then a grant, then break-glass."""
    if not actor.can(Cap.CLINICAL) or patient_id is None:
        return None
    now = timezone.now()
    if _current_care(actor, now).filter(patient_id=patient_id).exists():
        return Decision(Basis.CARE)
    grant = (
        _active_grants(actor, now)
        .filter(patient_id=patient_id, scope__in={"all", scope})
        .order_by("-valid_to")
        .first()
    )
    if grant is not None:
        return Decision(Basis.GRANT, grant_id=grant.pk, reason=grant.get_kind_display())
    glass = _active_break_glass(actor, now).filter(patient_id=patient_id).order_by("-started_at").first()
    if glass is not None:
        return Decision(Basis.BREAK_GLASS, reason=glass.reason)
    return None


def decide_many(actor: Actor, patient_ids) -> dict[int, Decision]:
    """`decide` for many patients at once (three queries, same precedence): patient id → decision, for
    the patients the actor may see."""
    ids = set(patient_ids)
    if not actor.can(Cap.CLINICAL) or not ids:
        return {}
    now = timezone.now()
    out: dict[int, Decision] = {}
    for glass in _active_break_glass(actor, now).filter(patient_id__in=ids).order_by("started_at"):
        out[glass.patient_id] = Decision(Basis.BREAK_GLASS, reason=glass.reason)
    for grant in _active_grants(actor, now).filter(patient_id__in=ids, scope="all").order_by("valid_to"):
        out[grant.patient_id] = Decision(Basis.GRANT, grant_id=grant.pk, reason=grant.get_kind_display())
    care = _current_care(actor, now).filter(patient_id__in=ids)
    for patient_id in care.values_list("patient_id", flat=True):
        out[patient_id] = Decision(Basis.CARE)
    return out


def visible(actor: Actor, queryset: QuerySet, patient_field: str = "pk") -> QuerySet:
    """Filter any queryset to the rows whose patient the actor may see (`patient_field` names the
    patient id on that model: "pk" for Patient, "patient_id" for an encounter)."""
    if not actor.can(Cap.CLINICAL):
        return queryset.none()
    now = timezone.now()
    ref = OuterRef(patient_field)
    care = _current_care(actor, now).filter(patient_id=ref)
    grant = _active_grants(actor, now).filter(patient_id=ref, scope="all")
    glass = _active_break_glass(actor, now).filter(patient_id=ref)
    return queryset.filter(Exists(care) | Exists(grant) | Exists(glass))


def audit_row(
    actor: Actor,
    *,
    patient_id: int | None,
    object_type: str,
    object_id: object = "",
    action: str = Action.READ,
    outcome: str = Outcome.SUCCESS,
    decision: Decision | None = None,
    reason: str = "",
) -> AuditEvent:
    """One audit row, not yet saved: `audit` saves it, batch actions `bulk_create` many."""
    membership = actor.membership
    return AuditEvent(
        at=timezone.now(),
        user_id=actor.user_id,
        username=actor.username,
        membership_id=membership.pk if membership else None,
        institution_id=membership.institution_id if membership else None,
        role=membership.role if membership else "",
        patient_id=patient_id,
        object_type=object_type,
        object_id="" if object_id is None else str(object_id)[:40],
        action=action,
        outcome=outcome,
        basis=decision.basis if decision else Basis.NONE,
        grant_id=decision.grant_id if decision else None,
        reason=(reason or (decision.reason if decision else ""))[:500],
        source=actor.source,
    )


def audit(actor: Actor, **fields) -> AuditEvent:
    """Write one audit row now (fields as for `audit_row`)."""
    row = audit_row(actor, **fields)
    row.save()
    return row


def audit_many(actor: Actor, patient_ids, *, object_type: str, action: str = Action.READ,
               decisions: dict | None = None) -> None:
    """One success row per patient shown (a list page, an export), with the basis each was shown on
    (`decisions`: the caller's `decide_many` of these patients, when it has just made it)."""
    patient_ids = list(patient_ids)
    if decisions is None:
        decisions = decide_many(actor, patient_ids)
    AuditEvent.objects.bulk_create([
        audit_row(actor, patient_id=pid, object_type=object_type, object_id=pid, action=action,
                  decision=decisions.get(pid))
        for pid in patient_ids
    ])


def _deny(actor: Actor, patient_id, object_type: str, object_id, action: str):
    audit(actor, patient_id=patient_id, object_type=object_type, object_id=object_id, action=action,
          outcome=Outcome.DENIED)
    raise Http404


def access_patient(actor: Actor, patient_id, action: str = Action.READ, *, object_type: str = "patient",
                   object_id=None, scope: str = "all"):
    """Return the patient if the actor may access them, writing exactly one audit row either way.

    Missing and forbidden both raise Http404 (and both are audited as denied)."""
    patient, decision = access_patient_for_write(actor, patient_id, action, object_type=object_type,
                                                 object_id=object_id, scope=scope)
    audit(actor, patient_id=patient.pk, object_type=object_type,
          object_id=object_id if object_id is not None else patient.pk, action=action, decision=decision)
    return patient


def access_patient_for_write(actor: Actor, patient_id, action: str, *, object_type: str = "patient",
                             object_id=None, scope: str = "all"):
    """(patient, decision) for an action that goes on to write its own audit row, so that a write is one
    row, not two; a denial is audited here and raises Http404, as in `access_patient`."""
    Patient = apps.get_model("patients", "Patient")
    try:
        patient_id = int(patient_id)
    except (TypeError, ValueError):
        _deny(actor, None, object_type, object_id, action)
    if not 0 < patient_id <= MAX_ID:  # no such row, and the audit row's patient column could not hold it
        _deny(actor, None, object_type, object_id if object_id is not None else patient_id, action)
    decision = decide(actor, patient_id, scope)
    patient = Patient.objects.filter(pk=patient_id).first() if decision else None
    if patient is None:
        _deny(actor, patient_id, object_type, object_id if object_id is not None else patient_id, action)
    return patient, decision


def access_object(actor: Actor, queryset: QuerySet, object_id, *, object_type: str,
                  action: str = Action.READ, patient_field: str = "patient_id", audit_success: bool = True):
    """Return one object that belongs to a patient (an encounter, a result, …) under the same rules:
    one audit row, and 404 for missing and forbidden alike.

    `audit_success=False` when the caller goes on to an action that writes the audit row of the write
    itself (so a write is one row, not two); a denial is always audited here."""
    try:
        obj = queryset.filter(pk=int(object_id)).first()
    except (TypeError, ValueError):
        obj = None
    patient_id = getattr(obj, patient_field) if obj is not None else None
    decision = decide(actor, patient_id, object_type) if obj is not None else None
    if decision is None:
        _deny(actor, patient_id, object_type, object_id, action)
    if audit_success:
        audit(actor, patient_id=patient_id, object_type=object_type, object_id=object_id, action=action,
              decision=decision)
    return obj
