"""Reads of the audit trail (for auditors) and of break-glass records (for security admins)."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import QuerySet

from yilian.access.models import AuditEvent, BreakGlass


def search_audit(*, patient_id: int | None = None, username: str = "", institution_id: int | None = None,
                 since: date | None = None, until: date | None = None) -> QuerySet[AuditEvent]:
    """Audit rows matching every given filter; dates are local (Asia/Shanghai), `until` inclusive."""
    tz = ZoneInfo(settings.TIME_ZONE)
    qs = AuditEvent.objects.all()
    if patient_id is not None:
        qs = qs.filter(patient_id=patient_id)
    if username:
        qs = qs.filter(username=username)
    if institution_id is not None:
        qs = qs.filter(institution_id=institution_id)
    if since is not None:
        qs = qs.filter(at__gte=datetime.combine(since, time.min, tzinfo=tz))
    if until is not None:
        qs = qs.filter(at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=tz))
    return qs.order_by("-at", "-id")


def break_glass_to_review() -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(reviewed_at__isnull=True).select_related(
        "membership__staff", "membership__institution"
    ).order_by("started_at")


def break_glass_reviewed(limit: int = 50) -> QuerySet[BreakGlass]:
    return BreakGlass.objects.filter(reviewed_at__isnull=False).select_related(
        "membership__staff", "membership__institution", "reviewed_by"
    ).order_by("-reviewed_at")[:limit]
