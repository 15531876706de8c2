"""The figures the dashboard shows, as plain data (the view only renders them)."""

from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.analytics.registry import REGISTRY, Scope
from yilian.care.indicators import visits_by_institution_month
from yilian.network.models import GRASSROOTS_KINDS, Institution, InstitutionKind

TREND_CODES = ("outpatient.grassroots_rate", "finance.drug_ratio")
# The outpatient chart: shares (left axis, %) and waiting times (right axis, minutes) by month.
OUTPATIENT_CODES = ("outpatient.booking_rate", "outpatient.top3_specialty_share", "outpatient.booked_wait",
                    "outpatient.wait")

# The dates a period may cover: beyond them the calendar arithmetic and the databases' date range give out.
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)


def out_of_range(value: date) -> bool:
    return not EARLIEST <= value <= LATEST


def default_scope(today: date | None = None, months: int = 6) -> Scope:
    today = today or timezone.localdate()
    start = today.replace(day=1)
    for _month in range(months - 1):
        start = (start - timedelta(days=1)).replace(day=1)
    return Scope(start=start, end=today + timedelta(days=1))


def _series_key(inst: Institution) -> str:
    """Hospitals and township centres each get a series; village clinics and stations are summed."""
    if inst.kind == InstitutionKind.VILLAGE:
        return "村卫生室（合计）"
    if inst.kind == InstitutionKind.COMMUNITY_STATION:
        return "社区卫生服务站（合计）"
    return inst.short_name


def visits_chart(scope: Scope) -> dict:
    institutions = {i.pk: i for i in Institution.objects.all()}
    months = [m.strftime("%Y-%m") for m in scope.months()]
    series: dict[str, list[int]] = {}
    by_institution: dict[int, int] = {}
    for row in visits_by_institution_month(scope):
        inst = institutions[row["institution_id"]]
        month = timezone.localtime(row["month"]).strftime("%Y-%m") if hasattr(row["month"], "tzinfo") else \
            row["month"].strftime("%Y-%m")
        if month not in months:
            continue
        values = series.setdefault(_series_key(inst), [0] * len(months))
        values[months.index(month)] += row["visits"]
        by_institution[inst.pk] = by_institution.get(inst.pk, 0) + row["visits"]
    ordered = sorted(series.items(), key=lambda kv: -sum(kv[1]))
    table = sorted(
        ({"name": institutions[pk].name, "kind": institutions[pk].get_kind_display(),
          "grassroots": institutions[pk].kind in GRASSROOTS_KINDS, "visits": n} for pk, n in by_institution.items()),
        key=lambda r: -r["visits"],
    )
    return {"months": months, "series": [{"name": k, "data": v} for k, v in ordered], "table": table}


def trend_chart(scope: Scope, codes: tuple[str, ...] = TREND_CODES) -> dict:
    """Each indicator computed month by month over the scope; shares as percentages."""
    months = scope.months()
    out = {"months": [m.strftime("%Y-%m") for m in months], "series": []}
    for code in codes:
        indicator = REGISTRY[code]
        values = []
        for i, first in enumerate(months):
            end = months[i + 1] if i + 1 < len(months) else scope.end
            value = indicator.compute(Scope(start=max(first, scope.start), end=end,
                                            institution_ids=scope.institution_ids))
            scale = 100 if indicator.unit == "ratio" else 1
            values.append(None if value is None else round(float(value) * scale, 2))
        out["series"].append({"code": code, "name": indicator.name_zh, "name_en": indicator.name_en,
                              "unit": indicator.unit, "data": values})
    return out


def display(value, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{float(value) * 100:.1f}%"
    if unit == "yuan":
        return f"¥{float(value):,.2f}"
    if unit == "minutes":
        return _("%(minutes).1f min") % {"minutes": float(value)}
    return f"{value:,}" if isinstance(value, int) else str(value)


def kpis(scope: Scope) -> list[dict]:
    out = []
    for ind in sorted(REGISTRY.values(), key=lambda i: i.code):
        value = ind.compute(scope)
        out.append({"code": ind.code, "name_zh": ind.name_zh, "name_en": ind.name_en, "unit": ind.unit,
                    "value": value, "display": display(value, ind.unit), "formula": ind.formula,
                    "source": ind.source, "target": ind.target, "direction": ind.direction})
    return out
