"""The recognition check (检查检验结果互认) at order time: which earlier reports of the ordered item answer
the order, by the item's rule (docs/recognition.md).

An earlier report is offered when, under the rule of the ordered panel or exam:
- the rule says the item is recognisable, and none of the order's circumstances (emergency, pregnancy) is
  among the rule's exclusions (then nothing is offered, and `Check.why_none` says why);
- it is a report of that item for that patient, from any member of the ordering institution's consortium,
  final or amended;
- it was collected (specimen or exam time) within the rule's validity window before the order: from the
  start of the local day `validity_days` days before the order's local date, up to the order itself;
- its source institution's grade is at least the rule's `min_grade` (3A > 3B > 2A > 2B > 1 > none);
- when the rule requires quality control, the source held a `QualityPass` for that item or for all its
  items on the report's local date (both ends of a pass included).

One query on the reports, a range of the index (patient, code, -collected_at) and nothing more; only when it
finds something, one on their sources and one on the sources' quality-control passes. Newest first, at most
`MAX_OFFERED`. (The check runs at every order: its cost is mostly the ORM building the query, so the report
query is kept to the index's own columns and the rest is tested on the few rows it returns.)
This module reads; it writes nothing and audits nothing: the caller (`results.orders`) has checked the
actor's access to the patient and writes the audit row.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.network.models import Grade, Institution
from yilian.results.models import USABLE, Exclusion, Item, Observation, QualityPass, Report, Rule

# Grades from the highest down (network.models.Grade): a rule's `min_grade` admits it and those before it.
GRADE_ORDER = (Grade.G3A, Grade.G3B, Grade.G2A, Grade.G2B, Grade.G1, Grade.UNGRADED)
MAX_OFFERED = 20
SCAN = 200  # reports read before the quality-control test (a patient has a handful in any window)


def grades_at_least(min_grade: str) -> list[str]:
    """The grades a source may have under `min_grade` (empty or unknown: every grade)."""
    if min_grade not in GRADE_ORDER:
        return list(GRADE_ORDER)
    return list(GRADE_ORDER[:GRADE_ORDER.index(min_grade) + 1])


def window_start(at: datetime, validity_days: int) -> datetime:
    """The earliest collection time a rule of `validity_days` admits for an order at `at`: the start of the
    local day that many days before the order's local date ("within 7 days" counts calendar days)."""
    zone = timezone.get_default_timezone()
    day = timezone.localdate(at, zone) - timedelta(days=validity_days)
    return datetime.combine(day, time.min, tzinfo=zone)


@dataclass(frozen=True)
class Check:
    """The outcome of the check: the rule that applied, the order's circumstances it excludes, and the
    reports offered (newest first)."""

    item: Item
    rule: Rule | None
    excluded: tuple[str, ...] = ()
    reports: list[Report] = field(default_factory=list)

    @property
    def offered(self) -> int:
        return len(self.reports)

    @property
    def why_none(self) -> str:
        """Why nothing is offered (empty when something is)."""
        if self.reports:
            return ""
        if self.rule is None or not self.rule.recognisable:
            return _("Earlier results of this item are not recognised (the item's rule).")
        if self.excluded:
            labels = dict(Exclusion.choices)
            names = ", ".join(str(labels.get(code, code)) for code in self.excluded)
            return _("Not recognised in this circumstance: %(circumstances)s.") % {"circumstances": names}
        return _("No recognisable earlier result within %(days)s days.") % {"days": self.rule.validity_days}


def rule_for(item: Item) -> Rule | None:
    """The item's rule (no query when the item was fetched with `select_related("rule")`)."""
    try:
        return item.rule
    except Rule.DoesNotExist:
        return None


def candidates(patient_id: int, item: Item, rule: Rule, at: datetime) -> QuerySet[Report]:
    """The query: the patient's usable reports of the item in the rule's window, newest first — a range of
    the index (patient, code, -collected_at), nothing joined (the sources are `from_sources`')."""
    return Report.objects.filter(
        patient_id=patient_id, code=item.code, status__in=USABLE,
        collected_at__gte=window_start(at, rule.validity_days), collected_at__lte=at,
    ).order_by("-collected_at", "-pk")


def from_sources(reports: list[Report], rule: Rule, consortium_id: int) -> list[Report]:
    """The reports from members of the consortium of at least the rule's grade, each with its institution
    attached. One small query, made only when there are reports to test."""
    if not reports:
        return []
    institutions = Institution.objects.in_bulk({r.institution_id for r in reports})
    grades = set(grades_at_least(rule.min_grade))
    out = []
    for r in reports:
        source = institutions.get(r.institution_id)
        if source is not None and source.consortium_id == consortium_id and source.grade in grades:
            r.institution = source
            out.append(r)
    return out


def passed_quality(reports: list[Report], item: Item) -> list[Report]:
    """The reports whose source held a quality-control pass for the item (or all its items) on the
    report's local date. One small query, made only when there are reports to test."""
    if not reports:
        return []
    zone = timezone.get_default_timezone()
    days = {r.pk: timezone.localdate(r.reported_at, zone) for r in reports}
    passes = QualityPass.objects.filter(
        Q(item=item) | Q(item__isnull=True), institution_id__in={r.institution_id for r in reports},
        valid_from__lte=max(days.values()), valid_to__gte=min(days.values()),
    ).values_list("institution_id", "valid_from", "valid_to")
    held: dict[int, list[tuple]] = {}
    for institution_id, start, end in passes:
        held.setdefault(institution_id, []).append((start, end))
    return [r for r in reports if any(start <= days[r.pk] <= end for start, end in held.get(r.institution_id, ()))]


def check(patient_id: int, item: Item, at: datetime, circumstances=(), *, consortium_id: int,
          rule: Rule | None = None) -> Check:
    """The recognisable earlier reports of `item` for the patient at an order at `at` in the given
    circumstances (codes of `results.models.AT_ORDER_TIME`)."""
    rule = rule if rule is not None else rule_for(item)
    if rule is None or not rule.recognisable:
        return Check(item, rule)
    excluded = tuple(code for code in rule.exclusions if code in set(circumstances))
    if excluded:
        return Check(item, rule, excluded)
    reports = from_sources(list(candidates(patient_id, item, rule, at)[:SCAN]), rule, consortium_id)
    if rule.requires_quality:
        reports = passed_quality(reports, item)
    return Check(item, rule, (), reports[:MAX_OFFERED])


def values_of(reports) -> dict[int, list[Observation]]:
    """The current (not superseded) values of each report, in the order they were sent: report id → list."""
    out: dict[int, list[Observation]] = {r.pk: [] for r in reports}
    if out:
        for obs in Observation.objects.filter(report_id__in=list(out), superseded=False).order_by("report_id", "pk"):
            out[obs.report_id].append(obs)
    return out
