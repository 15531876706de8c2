"""Reads of consultations and guided operations, scoped.

- `requested`: what the acting institution asked for, `mine`: what the acting staff member is an expert
  on — both only where the actor may see the patient now (an expert's grant revoked or expired: gone).
- `worklist`: waiting requests the actor may claim or (the desk) assign, **de-identified**: the patient's
  sex and age, never the name or an identifier, until an expert holds the consultation and its grant.
  Each row shown is audited (basis none, "consultation worklist (de-identified)"), as the master patient
  index desk's masked pairs are.
"""

from dataclasses import dataclass

from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from yilian.access.gate import audit_many, audit_row, visible
from yilian.access.models import AuditEvent
from yilian.consults.experts import assignable, claimable, consortium_of, expert_institutions
from yilian.consults.models import (
    OPEN,
    Consultation,
    ConsultationExpert,
    GuidedOperation,
    Status,
    Urgency,
)
from yilian.network.acting import Actor
from yilian.network.models import Membership
from yilian.network.roles import Role
from yilian.patients.models import age_on

LIMIT = 200
URGENCY_ORDER = Case(When(urgency=Urgency.EMERGENCY, then=Value(0)), When(urgency=Urgency.URGENT, then=Value(1)),
                     default=Value(2), output_field=IntegerField())
RELATED = ("patient", "from_institution", "from_department", "from_staff", "to_institution", "to_department",
           "to_staff", "expert", "expert_institution")


def _status(rows: QuerySet[Consultation], status: str | None) -> QuerySet[Consultation]:
    if status == "open":
        return rows.filter(status__in=OPEN)
    if status in Status.values:
        return rows.filter(status=status)
    return rows


def requested(actor: Actor, status: str | None = None) -> list[Consultation]:
    rows = _status(Consultation.objects.filter(from_institution_id=actor.institution_id), status)
    rows = visible(actor, rows, "patient_id").select_related(*RELATED)
    return list(rows.order_by("-created_at", "-pk")[:LIMIT])


def mine(actor: Actor, status: str | None = None) -> list[Consultation]:
    staff_id = actor.membership.staff_id if actor.membership else None
    panel = ConsultationExpert.objects.filter(staff_id=staff_id, left_at__isnull=True).values("consultation_id")
    rows = _status(Consultation.objects.filter(pk__in=panel), status)
    rows = visible(actor, rows, "patient_id").select_related(*RELATED)
    return list(rows.order_by(URGENCY_ORDER, "created_at", "pk")[:LIMIT])


def audit_list(actor: Actor, rows) -> None:
    if rows:
        audit_many(actor, {r.patient_id for r in rows}, object_type="consultation")


@dataclass
class WorkItem:
    """A waiting request as the worklist shows it: no name, no identifier."""

    consultation: Consultation
    sex: str
    age: int
    can_claim: bool
    can_assign: bool


def worklist(actor: Actor) -> list[WorkItem]:
    """Requests waiting for an expert that this doctor may claim, and requests addressed to this desk's
    institution that it may assign (or reassign while no opinion is drafted); emergencies first."""
    claim_q, assign_q = claimable(actor), assignable(actor)
    rows = (Consultation.objects.filter((claim_q & Q(status=Status.REQUESTED))
                                        | (assign_q & Q(status__in=(Status.REQUESTED, Status.ASSIGNED))))
            .exclude(from_staff_id=actor.membership.staff_id if actor.membership else None)
            .select_related(*RELATED).order_by(URGENCY_ORDER, "created_at", "pk")[:LIMIT])
    rows = list(rows)
    claim_ids = set(Consultation.objects.filter(claim_q, pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    assign_ids = set(Consultation.objects.filter(assign_q, pk__in=[r.pk for r in rows]).values_list("pk", flat=True))
    today = timezone.localdate()
    items = [WorkItem(r, r.patient.get_sex_display(), age_on(r.patient.birth_date, today),
                      r.pk in claim_ids and r.status == Status.REQUESTED, r.pk in assign_ids) for r in rows]
    AuditEvent.objects.bulk_create([
        audit_row(actor, patient_id=item.consultation.patient_id, object_type="consultation",
                  object_id=item.consultation.pk, reason="consultation worklist (de-identified)")
        for item in items
    ])
    return items


def experts_for(consultation: Consultation, exclude_panel: bool = True) -> list[Membership]:
    """The doctors who may be given (or invited onto) the consultation, for the desk's and the lead
    expert's choice: active doctors of the consortium's hospitals and partner hospitals, not of the
    requesting institution."""
    institutions = expert_institutions(consortium_of(consultation.from_institution_id)).exclude(
        pk=consultation.from_institution_id)
    rows = (Membership.objects.filter(institution__in=institutions, role=Role.DOCTOR, active=True)
            .exclude(staff_id=consultation.from_staff_id).select_related("staff", "institution", "department"))
    if exclude_panel:
        rows = rows.exclude(staff_id__in=ConsultationExpert.objects.filter(
            consultation=consultation, left_at__isnull=True).values("staff_id"))
    return list(rows.order_by("institution__code", "department__name", "staff__name")[:LIMIT])


def targets(actor: Actor) -> list[Membership]:
    """The named experts a request may go to: doctors of the consortium's other hospitals and partners."""
    institutions = expert_institutions(consortium_of(actor.institution_id)).exclude(pk=actor.institution_id)
    return list(Membership.objects.filter(institution__in=institutions, role=Role.DOCTOR, active=True)
                .exclude(staff_id=actor.membership.staff_id).select_related("staff", "institution", "department")
                .order_by("institution__code", "department__name", "staff__name")[:LIMIT])


def guided_operations(actor: Actor) -> list[GuidedOperation]:
    """Guided operations performed at the acting institution or guided by the acting staff member, whose
    patient the actor may see."""
    staff_id = actor.membership.staff_id if actor.membership else None
    rows = GuidedOperation.objects.filter(Q(institution_id=actor.institution_id) | Q(expert_id=staff_id))
    rows = visible(actor, rows, "patient_id").select_related(
        "patient", "institution", "expert", "expert_institution", "operator", "consultation")
    return list(rows.order_by("-performed_on", "-pk")[:LIMIT])
