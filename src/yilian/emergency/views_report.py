"""The monthly quality report page of a centre (run charts and the table, each month's counted and excluded
cases) and the per-case CSV export in the national data platforms' time-node columns. Aggregate and
de-identified: capability `dashboard`; the export writes one audit row per case exported."""

from datetime import date, timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from yilian.access.gate import audit_row
from yilian.access.models import Action
from yilian.analytics.registry import REGISTRY, Scope
from yilian.emergency import report
from yilian.emergency.models import CentreType
from yilian.network.acting import requires
from yilian.network.models import Institution
from yilian.network.roles import Cap

MAX_MONTHS = 36


def _add_months(first: date, n: int) -> date:
    year, month = divmod(first.year * 12 + first.month - 1 + n, 12)
    return date(year, month + 1, 1)


def _period(request) -> tuple[str, date, date, dict[str, str]]:
    """centre, start (first of a month) and end (exclusive) from ?centre=&start=YYYY-MM&end=YYYY-MM (the
    last month included); the twelve months to this one by default; each bad field named."""
    errors: dict[str, str] = {}
    centre = request.GET.get("centre") or CentreType.CHEST_PAIN
    if centre not in report.REPORTED:
        errors["centre"], centre = _("Centre: chest pain or stroke."), CentreType.CHEST_PAIN
    this_month = timezone.localdate().replace(day=1)

    def month(name: str, default: date) -> date:
        raw = request.GET.get(name) or ""
        if not raw:
            return default
        try:
            year, mon = (int(x) for x in raw.split("-"))
            return date(year, mon, 1)
        except ValueError:
            errors[name] = _("Month: like 2026-01.")
            return default

    start = month("start", _add_months(this_month, -11))
    last = month("end", this_month)
    if last < start:
        errors["end"], last = _("The last month must not be before the first."), start
    elif _add_months(start, MAX_MONTHS) <= last:
        errors["end"], last = _("At most 36 months at once."), _add_months(start, MAX_MONTHS - 1)
    return centre, start, _add_months(last, 1), errors


def _institutions(request) -> frozenset[int]:
    consortium = Institution.objects.values_list("consortium_id", flat=True).get(pk=request.actor.institution_id)
    return frozenset(Institution.objects.filter(consortium_id=consortium).values_list("pk", flat=True))


@require_GET
@requires(Cap.DASHBOARD)
def monthly(request):
    centre, start, end, errors = _period(request)
    months = report.monthly(centre, start, end, _institutions(request))
    codes = report.codes_of(centre)
    rows = [{"code": c, "name": REGISTRY[c].name_zh, "name_en": REGISTRY[c].name_en, "unit": REGISTRY[c].unit,
             "cells": [(m.values[c], m.included[c], sum(m.excluded[c].values()), m.excluded[c]) for m in months]} for c in codes]
    context = {"centre": centre, "centres": [(c, CentreType(c).label) for c in report.REPORTED],
               "start": start.strftime("%Y-%m"), "end": (end - timedelta(days=1)).strftime("%Y-%m"),
               "months": [m.first for m in months], "rows": rows, "chart": report.chart(centre, months),
               "errors": errors}
    return render(request, "emergency/report.html", context, status=400 if errors else 200)


@require_GET
@requires(Cap.DASHBOARD)
def export(request):
    centre, start, end, errors = _period(request)
    if errors:
        return HttpResponse("\n".join(f"{k}: {v}" for k, v in errors.items()), status=400,
                            content_type="text/plain; charset=utf-8")
    scope = Scope(start=start, end=end, institution_ids=_institutions(request))
    text, rows = report.export_csv(centre, scope)
    audit = [audit_row(request.actor, patient_id=f.case.patient_id, object_type="green_channel_case",
                       object_id=f.case.pk, action=Action.EXPORT, reason="de-identified quality export")
             for f in rows]
    if audit:
        type(audit[0]).objects.bulk_create(audit)
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    name = f"{centre}-{start:%Y%m}-{(end - timedelta(days=1)):%Y%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
