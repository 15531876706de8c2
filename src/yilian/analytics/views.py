"""The indicator dashboard: aggregate, de-identified figures for the whole consortium."""

from datetime import date

from django.shortcuts import render
from django.utils.translation import gettext as _

from yilian.analytics.dashboard import (
    EARLIEST,
    LATEST,
    OUTPATIENT_CODES,
    default_scope,
    kpis,
    out_of_range,
    trend_chart,
    visits_chart,
)
from yilian.analytics.registry import Scope
from yilian.network.acting import requires
from yilian.network.roles import Cap


def _scope_from(request) -> tuple[Scope, dict[str, str]]:
    scope, errors = default_scope(), {}
    raw_start, raw_end = request.GET.get("start"), request.GET.get("end")
    try:
        start = date.fromisoformat(raw_start) if raw_start else scope.start
    except ValueError:
        errors["start"], start = _("Start: a date like 2026-01-01."), scope.start
    try:
        end = date.fromisoformat(raw_end) if raw_end else scope.end
    except ValueError:
        errors["end"], end = _("End: a date like 2026-06-30."), scope.end
    bounds = {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()}
    for name, value in (("start", start), ("end", end)):
        if out_of_range(value):
            errors[name] = _("Choose a date between %(earliest)s and %(latest)s.") % bounds
    if errors:
        start, end = scope.start, scope.end
    elif end <= start:
        errors["end"], start, end = _("End must be after the start."), scope.start, scope.end
    elif (end - start).days > 3 * 366:
        errors["end"], start, end = _("Choose a period of at most three years."), scope.start, scope.end
    return Scope(start=start, end=end), errors


@requires(Cap.DASHBOARD)
def dashboard(request):
    scope, errors = _scope_from(request)
    context = {
        "scope": scope, "errors": errors, "kpis": kpis(scope),
        "visits": visits_chart(scope), "trend": trend_chart(scope),
        "outpatient": trend_chart(scope, OUTPATIENT_CODES),
    }
    return render(request, "analytics/dashboard.html", context, status=400 if errors else 200)
