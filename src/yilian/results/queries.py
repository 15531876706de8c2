"""Reads of the results store, scoped (docs/results.md, "Timeline and trends").

Staff reach a patient through `access.gate` first (`access_patient`, `access_object`: decided and audited
there); the functions taking a `patient` here read that patient's reports across every member and are only
called after it. A resident reads through `own_reports` / `own_report`, limited to the patient records
they may act for and to the reports a patient may rely on (final and amended).
"""

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from itertools import groupby

from django.db.models import Count, Exists, Max, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from yilian.patients.models import Patient, age_on
from yilian.results import catalogue
from yilian.results.models import USABLE, Flag, ItemKind, Observation, Report, ReportStatus

PER_PAGE = 20
TREND_POINTS = 200  # the latest values of an item charted
TREND_CHARTS = 6  # items drawn on the timeline's trend section (the others are links)
KINDS = {"lab": (ItemKind.PANEL, ItemKind.LAB), "exam": (ItemKind.EXAM,)}
ABNORMAL = (Flag.LOW, Flag.HIGH, Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH, Flag.ABNORMAL)
RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:-|–|~|～|—)\s*(-?\d+(?:\.\d+)?)\s*$")
BOUND = re.compile(r"^\s*(<=?|≤|>=?|≥)\s*(-?\d+(?:\.\d+)?)\s*$")


def current_observations() -> Prefetch:
    return Prefetch("observations", queryset=Observation.objects.filter(superseded=False).order_by("pk"),
                    to_attr="current")


def patient_reports(patient: Patient, *, kind: str = "", item: str = "") -> QuerySet[Report]:
    """The patient's reports from every member, newest specimen / exam time first; `kind` "lab" or "exam",
    `item` a report's code (a panel or exam) or an observation's (a lab item)."""
    rows = Report.objects.filter(patient=patient)
    if kind in KINDS:
        rows = rows.filter(kind__in=KINDS[kind])
    if item:
        has_item = Observation.objects.filter(report=OuterRef("pk"), code=item, superseded=False)
        rows = rows.filter(Q(code=item) | Exists(has_item))
    return (rows.select_related("institution").prefetch_related(current_observations())
            .order_by("-collected_at", "-pk"))


def by_day(reports) -> list[tuple]:
    """[(local date, [reports])] in the order given (the timeline's newest first)."""
    return [(day, list(group)) for day, group in
            groupby(reports, key=lambda r: timezone.localdate(r.collected_at))]


def item_choices(patient: Patient) -> list[tuple[str, str]]:
    """The items found in the patient's reports, for the timeline's filter: panels and exams, then the
    lab items of their observations; (code, "name (code)")."""
    seen: dict[str, str] = {}
    for code, name in (Report.objects.filter(patient=patient).values_list("code", "name")
                       .order_by("code").distinct()):
        seen.setdefault(code, name)
    for code, name in (Observation.objects.filter(patient=patient, superseded=False)
                       .values_list("code", "name").order_by("code").distinct()):
        seen.setdefault(code, name)
    return [(code, f"{name} ({code})" if name and name != code else code) for code, name in seen.items()]


def summary(report: Report, item: str = "") -> dict:
    """What a list shows of a report beside its name: the abnormal current values, whether any is
    critical, and the values of `item` (the item filtered on). `report.current` prefetched."""
    current = getattr(report, "current", None)
    if current is None:
        current = list(report.observations.filter(superseded=False))
    # A cancelled report's values are not to be relied on: listed, never highlighted.
    cancelled = report.status == ReportStatus.CANCELLED
    abnormal = [] if cancelled else [o for o in current if o.flag in ABNORMAL or o.critical]
    focus = [o for o in current if item and o.code == item and o not in abnormal]
    return {"count": len(current), "abnormal": abnormal, "critical": any(o.critical for o in abnormal),
            "focus": focus}


@dataclass
class Detail:
    report: Report
    current: list[Observation]
    earlier: list[Observation]  # the values of earlier versions, by item then as they came
    trend_codes: set[str] = field(default_factory=set)  # items with more than one numeric value


def report_detail(report: Report) -> Detail:
    """A report reached through `access_object`: its current values and the values its corrections
    superseded (kept as history)."""
    rows = list(Observation.objects.filter(report=report).order_by("pk"))
    current = [o for o in rows if not o.superseded]
    earlier = sorted((o for o in rows if o.superseded), key=lambda o: (o.code, o.pk))
    codes = {o.code for o in current if o.value_num is not None}
    repeated = set(trend_counts(report.patient_id, codes)) if codes else set()
    return Detail(report, current, earlier, repeated)


# --- trends ---


def _numeric(patient_id: int) -> QuerySet[Observation]:
    """The patient's current numeric values that a trend draws: not superseded, not of a cancelled
    report."""
    return (Observation.objects.filter(patient_id=patient_id, superseded=False, value_num__isnull=False)
            .exclude(report__status=ReportStatus.CANCELLED))


def trend_counts(patient_id: int, codes=None) -> dict[str, int]:
    """Items with at least two numeric values: code → number of values, most values first (ties: the
    latest first)."""
    rows = _numeric(patient_id)
    if codes is not None:
        rows = rows.filter(code__in=list(codes))
    rows = (rows.values("code").annotate(n=Count("pk"), last=Max("observed_at")).filter(n__gte=2)
            .order_by("-n", "-last", "code"))
    return {r["code"]: r["n"] for r in rows}


def _unit_key(unit: str) -> str:
    return unit.replace("µ", "u").replace("μ", "u").replace(" ", "").lower()


def _as_float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def parse_reference(text: str) -> tuple[Decimal | None, Decimal | None]:
    """(low, high) of a reference interval as labs write it: "3.5-5.3", "3.5~5.3", "<5.2", "≥1.0"."""
    match = RANGE.match(text or "")
    if match:
        return Decimal(match.group(1)), Decimal(match.group(2))
    match = BOUND.match(text or "")
    if match:
        value = Decimal(match.group(2))
        return (None, value) if match.group(1) in ("<", "<=", "≤") else (value, None)
    return None, None


def _band(points: list[Observation], patient: Patient, unit: str) -> dict | None:
    """The reference band drawn behind the line: the latest value's own interval as its lab printed it,
    else the catalogue's for the patient's sex and age (when the units agree)."""
    low, high = parse_reference(points[-1].reference)
    if low is None and high is None:
        item = catalogue.items().get(points[-1].code)
        if item is not None and _unit_key(item.unit) == _unit_key(unit):
            interval = catalogue.interval_for(item, patient.sex,
                                              age_on(patient.birth_date, timezone.localdate(points[-1].observed_at)))
            if interval is not None:
                low, high = interval.low, interval.high
    if low is None and high is None:
        return None
    return {"low": _as_float(low), "high": _as_float(high)}


def _wall_clock_ms(at: datetime) -> int:
    """Milliseconds of the local (Asia/Shanghai) wall-clock time read as if it were UTC: the chart sets
    ECharts' `useUTC`, so its axis shows the local time whatever the browser's time zone."""
    wall = timezone.localtime(at).replace(tzinfo=UTC)
    return int(wall.timestamp() * 1000)


def trends(patient: Patient, codes: list[str], *, report_url=None, limit: int = TREND_POINTS) -> list[dict]:
    """Chart data of each item in `codes` (the order kept): its latest `limit` numeric values in time order,
    across institutions, in the unit of the latest value (values in another unit are counted, not drawn),
    each with its flag, source institution, reference and report; the reference band."""
    rows = (_numeric(patient.pk).filter(code__in=codes).select_related("report__institution")
            .order_by("code", "observed_at", "pk"))
    grouped = {code: list(group) for code, group in groupby(rows, key=lambda o: o.code)}
    out = []
    for code in codes:
        values = grouped.get(code, [])
        if not values:
            continue
        unit = values[-1].unit
        same = [o for o in values if _unit_key(o.unit) == _unit_key(unit)][-limit:]
        out.append({
            "code": code,
            "name": values[-1].name or code,
            "unit": unit,
            "band": _band(same, patient, unit),
            "other_units": len(values) - len([o for o in values if _unit_key(o.unit) == _unit_key(unit)]),
            "points": [_point(o, report_url) for o in same],
        })
    return out


def _point(o: Observation, report_url) -> dict:
    report = o.report
    return {
        "t": _wall_clock_ms(o.observed_at),
        "at": timezone.localtime(o.observed_at).strftime("%Y-%m-%d %H:%M"),
        "value": _as_float(o.value_num),
        "text": o.value,
        "flag": o.flag,
        "abnormal": o.flag in ABNORMAL,
        "critical": o.critical,
        "reference": o.reference,
        "source": report.institution.short_name or report.institution.name,
        "status": report.status,
        "url": report_url(report.pk) if report_url else "",
    }


def trend_table(patient: Patient, code: str, limit: int = TREND_POINTS) -> list[Observation]:
    """Every current value of an item (numeric or not, any unit), newest first: the table under the chart."""
    return list(Observation.objects.filter(patient=patient, code=code, superseded=False)
                .select_related("report__institution").order_by("-observed_at", "-pk")[:limit])


# --- the patient's own results (residents' pages) ---


def own_reports(patients: QuerySet[Patient]) -> QuerySet[Report]:
    """The reports of the patient records a resident may act for that a patient may rely on (final and
    amended), newest first; preliminary and cancelled ones are not shown to patients."""
    return (Report.objects.filter(patient__in=patients, status__in=USABLE)
            .select_related("institution", "patient").prefetch_related(current_observations())
            .order_by("-collected_at", "-pk"))


def own_report(patients: QuerySet[Patient], report_id) -> Report | None:
    """One of those reports, or None (missing, another family's, preliminary or cancelled alike)."""
    if not isinstance(report_id, int) or not 0 < report_id < 2**63:
        return None
    return own_reports(patients).filter(pk=report_id).first()
