"""Diagnostic-centre indicators (issue 5, part 5): remote diagnoses by centre and member, report
turnaround by exam type, and critical values acknowledged within 15 minutes.

- A **remote diagnosis** is a study requested by a member other than the institution that runs the centre,
  counted once, in the period its report was first signed (an amendment is not a new diagnosis), for the
  institution that requested it. Rejected and cancelled studies were never reported and do not count.
- **Turnaround** is submission → first signature, over the studies first signed in the period.
- A **critical value** counts in the period it was flagged (= notified: the notice is pushed at once), for
  the institution it was sent to.

The registry holds scalars; the breakdowns by centre and member and by exam type are the helpers
`remote_by_centre_and_member(scope)` and `turnaround_by_exam_type(scope)` (shown on the centres'
statistics page and served by `GET /api/v1/diagnostics/statistics`).
"""

import statistics
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, F, Q
from django.utils import timezone

from yilian.analytics.registry import Indicator, Scope, ratio, register
from yilian.diagnostics.actions import ACK_MINUTES
from yilian.diagnostics.models import CentreKind, CriticalValue, Study

MINUTE = Decimal("0.01")


def _minutes(seconds: float) -> Decimal:
    return (Decimal(seconds) / Decimal(60)).quantize(MINUTE, rounding=ROUND_HALF_UP)


def _signed(scope: Scope):
    """Studies first signed in the period, requested by a member (not the centre's own institution)."""
    qs = Study.objects.filter(signed_at__gte=scope.start_at, signed_at__lt=scope.end_at).exclude(
        requesting_institution_id=F("centre__institution_id"))
    if scope.institution_ids is not None:
        qs = qs.filter(requesting_institution_id__in=scope.institution_ids)
    return qs


def remote_diagnoses(scope: Scope) -> int:
    """远程诊断人次: studies requested by a member and read at a shared centre, counted when the report is first
    signed (one study = one 人次; amendments not counted again). Seed figure 10 ("remote imaging 60,000+, ECG
    ~6,000, pathology 6,500+, lab ~30,000 person-times"); 《紧密型县域医疗卫生共同体信息化功能指引》(2025)
    资源共享中心. Yilian's definition."""
    return _signed(scope).count()


def _by_kind(kind: str):
    def compute(scope: Scope) -> int:
        return _signed(scope).filter(kind=kind).count()

    compute.__doc__ = f"""远程诊断人次 at the {kind} centres: as `remote_diagnoses`, studies of that kind only."""
    return compute


def remote_by_centre_and_member(scope: Scope) -> list[dict]:
    """Remote diagnoses by centre and requesting member: rows of centre, kind, member and count, largest
    first; the counts sum to `remote_diagnoses(scope)`."""
    rows = (_signed(scope).values("centre_id", "centre__name", "kind", "requesting_institution_id",
                                  "requesting_institution__name")
            .annotate(n=Count("pk")).order_by("-n", "centre_id", "requesting_institution_id"))
    return [{"centre_id": r["centre_id"], "centre": r["centre__name"], "kind": r["kind"],
             "member_id": r["requesting_institution_id"], "member": r["requesting_institution__name"],
             "count": r["n"]} for r in rows]


def _turnaround_seconds(scope: Scope, **filters) -> list[float]:
    rows = _signed(scope).filter(**filters).values_list("submitted_at", "signed_at")
    return [(signed - submitted).total_seconds() for submitted, signed in rows]


def turnaround_minutes(scope: Scope) -> Decimal | None:
    """报告平均周转时间 (minutes): Σ(首次签发时间 − 提交时间) ÷ 期间首次签发的远程诊断数. The interval as
    国卫办医函〔2015〕252号 (临床检验专业医疗质量控制指标) measures 检验报告周转时间 — from the request reaching
    the service to the report issued — here from submission to the centre to the first signature, for every
    kind of centre. Yilian's definition."""
    seconds = _turnaround_seconds(scope)
    return _minutes(sum(seconds) / len(seconds)) if seconds else None


def turnaround_median_minutes(scope: Scope) -> Decimal | None:
    """报告周转时间中位数 (minutes): the turnaround times (首次签发 − 提交) of the studies first signed in the period,
    sorted, the middle one (the mean of the two middle ones, position (n + 1) ÷ 2) — the statistic
    国卫办医函〔2015〕252号 uses for 检验前 / 实验室内周转时间中位数."""
    seconds = _turnaround_seconds(scope)
    return _minutes(statistics.median(seconds)) if seconds else None


def turnaround_by_exam_type(scope: Scope) -> list[dict]:
    """Turnaround by exam type: rows of exam type, name, centre kind, count, mean and median minutes."""
    groups: dict[str, dict] = {}
    for code, name, kind, submitted, signed in _signed(scope).values_list(
            "exam_type", "exam_name", "kind", "submitted_at", "signed_at"):
        group = groups.setdefault(code, {"exam_type": code, "exam_name": name, "kind": kind, "seconds": []})
        group["seconds"].append((signed - submitted).total_seconds())
    out = []
    for code in sorted(groups):
        group = groups.pop(code)
        seconds = group.pop("seconds")
        out.append({**group, "count": len(seconds), "mean_minutes": _minutes(sum(seconds) / len(seconds)),
                    "median_minutes": _minutes(statistics.median(seconds))})
    return out


def _critical(scope: Scope):
    """Critical values flagged in the period, at the institutions they were sent to; one still inside its
    15 minutes and not acknowledged is not judged yet and is left out."""
    now = timezone.now()
    qs = CriticalValue.objects.filter(flagged_at__gte=scope.start_at, flagged_at__lt=scope.end_at).exclude(
        Q(acknowledged_at__isnull=True) & Q(flagged_at__gt=now - timedelta(minutes=ACK_MINUTES)))
    if scope.institution_ids is not None:
        qs = qs.filter(to_institution_id__in=scope.institution_ids)
    return qs


def critical_ack_share(scope: Scope) -> Decimal | None:
    """危急值15分钟内确认率: critical values acknowledged by a named clinician of the requesting institution
    within 15 minutes of notification ÷ critical values notified in the period. After 国卫办医函〔2015〕252号
    危急值通报及时率 (危急值通报时间符合规定时间的项目数 ÷ 同期需要危急值通报的项目总数 × 100%), measured at the
    receiving end, as 医疗质量安全核心制度要点 (国卫医发〔2018〕8号) 危急值报告制度 (四)(五) asks of results
    sent out of the hospital: 可追溯, received, read back and recorded. The 15 minutes are the consortium's
    rule."""
    qs = _critical(scope)
    within = qs.filter(acknowledged_at__isnull=False,
                       acknowledged_at__lte=F("flagged_at") + timedelta(minutes=ACK_MINUTES))
    return ratio(within.count(), qs.count())


def critical_ack_minutes(scope: Scope) -> Decimal | None:
    """危急值平均确认时间 (minutes): Σ(确认时间 − 通报时间) ÷ 已确认的危急值数, over the critical values notified in
    the period. Yilian's definition (医疗质量安全核心制度要点 2018: 危急值报告全流程的时间可追溯)."""
    rows = _critical(scope).filter(acknowledged_at__isnull=False).values_list("flagged_at", "acknowledged_at")
    seconds = [(acked - flagged).total_seconds() for flagged, acked in rows]
    return _minutes(sum(seconds) / len(seconds)) if seconds else None


SEED = "Seed 004 · 《紧密型县域医疗卫生共同体信息化功能指引》(2025) 资源共享中心 · 医联定义"
register(Indicator(
    code="diagnostics.remote_diagnoses", name_zh="远程诊断人次", name_en="Remote diagnoses", unit="count",
    formula="期间首次签发报告的成员单位送检（影像、心电、病理、检验）人次", source=SEED, direction="up",
    compute=remote_diagnoses))
for kind, zh, en in ((CentreKind.IMAGING, "远程影像诊断人次", "Remote imaging diagnoses"),
                     (CentreKind.ECG, "远程心电诊断人次", "Remote ECG diagnoses"),
                     (CentreKind.PATHOLOGY, "远程病理诊断人次", "Remote pathology diagnoses"),
                     (CentreKind.LAB, "远程检验人次", "Remote laboratory tests")):
    register(Indicator(code=f"diagnostics.remote_{kind}", name_zh=zh, name_en=en, unit="count",
                       formula=f"期间首次签发报告的成员单位送检人次（{zh[:-2]}）", source=SEED, direction="up",
                       compute=_by_kind(kind), tags=("diagnostics",)))
register(Indicator(
    code="diagnostics.turnaround_minutes", name_zh="远程诊断报告平均周转时间", name_en="Mean report turnaround",
    unit="minutes", formula="Σ(首次签发 − 提交) ÷ 期间首次签发的远程诊断数",
    source="国卫办医函〔2015〕252号 检验报告周转时间（区间同口径）· 医联定义", direction="down",
    compute=turnaround_minutes))
register(Indicator(
    code="diagnostics.turnaround_median_minutes", name_zh="远程诊断报告周转时间中位数", name_en="Median report turnaround",
    unit="minutes", formula="期间首次签发的远程诊断（首次签发 − 提交）的中位数",
    source="国卫办医函〔2015〕252号 周转时间中位数", direction="down", compute=turnaround_median_minutes))
register(Indicator(
    code="diagnostics.critical_ack_15min", name_zh="危急值15分钟内确认率", name_en="Critical values acknowledged in 15 min",
    unit="ratio", formula="通报后15分钟内由申请单位具名医务人员确认的危急值数 ÷ 期间通报的危急值数",
    source="国卫办医函〔2015〕252号 危急值通报及时率 · 国卫医发〔2018〕8号 危急值报告制度", direction="up",
    target=Decimal("1"), compute=critical_ack_share))
register(Indicator(
    code="diagnostics.critical_ack_minutes", name_zh="危急值平均确认时间", name_en="Mean time to acknowledge a critical value",
    unit="minutes", formula="Σ(确认时间 − 通报时间) ÷ 已确认的危急值数",
    source="国卫医发〔2018〕8号 危急值报告制度 · 医联定义", direction="down", compute=critical_ack_minutes))
