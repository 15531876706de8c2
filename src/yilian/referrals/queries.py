"""Reads of referrals, scoped: an institution's in- and out-box, only referrals whose patient the actor may
see (a rejected or cancelled referral's grant is gone, so the receiving side no longer sees it)."""

from django.db.models import QuerySet

from yilian.access.gate import visible
from yilian.network.acting import Actor
from yilian.referrals.models import OPEN, Referral

LIMIT = 200


def box(actor: Actor, which: str = "in", status: str | None = None) -> list[Referral]:
    side = {"in": "to_institution_id", "out": "from_institution_id"}[which]
    rows: QuerySet[Referral] = Referral.objects.filter(**{side: actor.institution_id})
    if status == "open":
        rows = rows.filter(status__in=OPEN)
    elif status:
        rows = rows.filter(status=status)
    rows = visible(actor, rows, "patient_id").select_related(
        "patient", "from_institution", "to_institution", "to_department", "from_staff")
    return list(rows.order_by("-created_at", "-pk")[:LIMIT])


def escalated(consortium_id: int) -> list[Referral]:
    """Referrals past their deadline still waiting for acceptance, for the consortium manager (no patient
    names: the manager's page shows numbers, institutions, diagnosis and times)."""
    return list(Referral.objects.filter(escalated_at__isnull=False, status="sent",
                                        from_institution__consortium_id=consortium_id)
                .select_related("from_institution", "to_institution", "to_department")
                .order_by("deadline_at")[:LIMIT])
