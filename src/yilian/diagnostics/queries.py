"""Reads of the diagnostic centres, scoped: the centre's worklist, the requesting institution's studies
and critical values, a patient's reports. Rows whose patient the actor may not see are never returned
(`access.gate.visible`); the manager's list of escalated critical values shows no patient."""

from django.db.models import Count, Q, QuerySet

from yilian.access.gate import visible
from yilian.diagnostics.models import OPEN, Centre, CriticalValue, Report, ReportStatus, Study
from yilian.network.acting import Actor
from yilian.patients.models import Patient

LIMIT = 200


def centres_run_by(actor: Actor) -> list[Centre]:
    """The centres the actor works for (their institution, and their department where the centre names one)."""
    membership = actor.membership
    if membership is None:
        return []
    return list(Centre.objects.filter(Q(department__isnull=True) | Q(department_id=membership.department_id),
                                      institution_id=membership.institution_id, active=True).order_by("kind"))


def centres_serving(institution_id: int) -> list[Centre]:
    return list(Centre.objects.filter(serves=institution_id, active=True).select_related("institution")
                .order_by("kind", "pk"))


def first_visible(actor: Actor, rows: QuerySet, limit: int, batches: int = 8) -> list:
    """The first `limit` rows of an ordered queryset whose patient the actor may see, read in batches and
    kept when `access.gate.visible` lets the actor see their patient. The same rule as `visible` on the rows
    themselves, but PostgreSQL cannot turn `visible`'s three ORed EXISTS into an index probe per row: it
    hashes every current grant of the institution instead, which at a centre's millions of grants costs
    more than reading the page; on a batch's patients (by primary key) it probes the indexes row by row.
    A batch is the limit and a quarter; at most `batches` batches are read (rows past them are not shown)."""
    out: list = []
    batch = limit + max(limit // 4, 10)
    for start in range(0, batch * batches, batch):
        chunk = list(rows[start:start + batch])
        ids = {row.patient_id for row in chunk}
        allowed = set(visible(actor, Patient.objects.filter(pk__in=ids)).values_list("pk", flat=True)) if ids else set()
        out += [row for row in chunk if row.patient_id in allowed]
        if len(out) >= limit or len(chunk) < batch:
            break
    return out[:limit]


def worklist(actor: Actor, centre: Centre, limit: int = 100) -> list[Study]:
    """The centre's open studies by priority (emergency first), then the longest waiting: the reading
    page's query. The partial index `diag_study_worklist` keeps the closed studies out of it."""
    rows = (Study.objects.filter(centre=centre, status__in=OPEN).select_related("patient", "requesting_institution", "reader")
            .order_by("priority", "submitted_at", "pk"))
    return first_visible(actor, rows, limit)


def worklist_counts(centre: Centre) -> dict[int, int]:
    """Open studies by priority (counts only, no patient)."""
    rows = Study.objects.filter(centre=centre, status__in=OPEN).values("priority").annotate(n=Count("pk"))
    return {row["priority"]: row["n"] for row in rows}


def requested(actor: Actor, status: str | None = None, limit: int = LIMIT) -> list[Study]:
    """The studies the actor's institution requested, newest first."""
    rows: QuerySet[Study] = Study.objects.filter(requesting_institution_id=actor.institution_id)
    if status == "open":
        rows = rows.filter(status__in=OPEN)
    elif status:
        rows = rows.filter(status=status)
    rows = rows.select_related("patient", "centre", "requesting_staff").order_by("-submitted_at", "-pk")
    return first_visible(actor, rows, limit)


def critical_for_institution(actor: Actor, only_open: bool = True, limit: int = LIMIT) -> list[CriticalValue]:
    """Critical values sent to the actor's institution: those waiting for acknowledgement (or all)."""
    rows = CriticalValue.objects.filter(to_institution_id=actor.institution_id)
    if only_open:
        rows = rows.filter(acknowledged_at__isnull=True)
    rows = visible(actor, rows, "study__patient_id").select_related(
        "study", "study__patient", "study__centre", "flagged_by", "acknowledged_by")
    return list(rows.order_by("-flagged_at", "-pk")[:limit])


def unacknowledged_at_centre(actor: Actor, centre: Centre) -> list[CriticalValue]:
    """The centre's critical values still waiting for acknowledgement, for its staff to telephone."""
    rows = CriticalValue.objects.filter(study__centre=centre, acknowledged_at__isnull=True)
    return list(visible(actor, rows, "study__patient_id").select_related("study", "study__patient", "to_institution")
                .order_by("flagged_at")[:LIMIT])


def signed_reports(study: Study) -> list[Report]:
    return list(Report.objects.filter(study=study, status=ReportStatus.SIGNED).select_related("signed_by")
                .order_by("version"))


def patient_studies(patient) -> list[Study]:
    """The studies of a patient already reached through `access_patient` (and so already audited): the
    reports are part of the patient's record wherever the patient may be seen."""
    return list(Study.objects.filter(patient=patient).select_related("centre", "requesting_institution")
                .order_by("-submitted_at")[:LIMIT])


def escalated(consortium_id: int) -> list[CriticalValue]:
    """Critical values escalated and still not acknowledged, for the consortium manager: no patient names
    (the page shows the study number, institutions, exam and times)."""
    return list(CriticalValue.objects.filter(escalated_at__isnull=False, acknowledged_at__isnull=True,
                                             to_institution__consortium_id=consortium_id)
                .select_related("study", "study__centre", "to_institution").order_by("flagged_at")[:LIMIT])
