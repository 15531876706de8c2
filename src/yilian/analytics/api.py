"""Indicator endpoints: the registry, and one indicator's value over a period (aggregates only)."""

from datetime import date, timedelta
from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Schema

from yilian.analytics.dashboard import EARLIEST, LATEST, default_scope, out_of_range
from yilian.analytics.registry import REGISTRY, Scope
from yilian.errors import ActionError
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap

router = Router(tags=["indicators"])


class IndicatorOut(Schema):
    code: str
    name_zh: str
    name_en: str
    unit: str
    formula: str
    source: str
    direction: str
    target: Decimal | None


class ValueOut(Schema):
    code: str
    start: date
    end: date
    value: Decimal | int | None


def _meta(i) -> dict:
    return {k: getattr(i, k) for k in IndicatorOut.model_fields}


@router.get("", response=list[IndicatorOut], summary="All registered indicators",
             auth=ActingRole(Cap.DASHBOARD))
def list_(request):
    api_actor(request, Cap.DASHBOARD)
    return [_meta(i) for i in sorted(REGISTRY.values(), key=lambda i: i.code)]


@router.get("/{code}", response=ValueOut, summary="One indicator over [start, end)",
             auth=ActingRole(Cap.DASHBOARD))
def value(request, code: str, start: date | None = None, end: date | None = None):
    api_actor(request, Cap.DASHBOARD)
    indicator = REGISTRY.get(code)
    if indicator is None:
        raise Http404
    default = default_scope()
    start, end = start or default.start, end or default.end
    for name, day in (("start", start), ("end", end)):
        if out_of_range(day):
            raise ActionError(name, _("Choose a date between %(earliest)s and %(latest)s.")
                              % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    if end <= start:
        raise ActionError("end", _("End must be after the start."))
    if end - start > timedelta(days=3 * 366):
        raise ActionError("end", _("Choose a period of at most three years."))
    return {"code": code, "start": start, "end": end, "value": indicator.compute(Scope(start=start, end=end))}
