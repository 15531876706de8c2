"""Mutual recognition and exam-wait indicators (issue 6, part 7; docs/recognition.md).

The reference is 国家卫生健康委等《医疗机构检查检验结果互认管理办法》(国卫医发〔2022〕6号): results that meet its
conditions are recognised instead of repeated, to lighten the patient's burden (第一条), and the consortium
is where it is first put into practice; 《紧密型县域医疗卫生共同体建设评判标准和监测指标体系（试行）》(国卫办基层发
〔2020〕12号) counts resource sharing inside the consortium, of which the recognition of results is part. Neither
fixes a formula for these counts: the definitions below are Yilian's, stated in each docstring.

An order counts in the period its `ordered_at` falls in (local dates, [start, end)), for its ordering
institution. Exam wait counts an exam report in the period its exam started (`collected_at`), for the
institution that did the exam (the report's source). The registry holds scalars; overrides by reason are
the helper `overrides_by_reason(scope)` (rows for a dashboard).
"""

from decimal import Decimal

from django.db.models import Count, F, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from yilian.analytics.registry import Indicator, Scope, mean_minutes, ratio, register
from yilian.results.models import Exclusion, ItemKind, Order, OrderStatus, Report, ReportStatus

SOURCE = "国卫医发〔2022〕6号《医疗机构检查检验结果互认管理办法》· 国卫办基层发〔2020〕12号 紧密型县域医共体资源共享 · 医联定义"


def _orders(scope: Scope):
    qs = Order.objects.filter(ordered_at__gte=scope.start_at, ordered_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs


def _recognised(scope: Scope):
    return _orders(scope).filter(status=OrderStatus.RECOGNISED)


def recognised(scope: Scope) -> int:
    """检查检验结果互认人次: distinct (patient, ordering institution, local date of the order) with at least one
    order answered by an earlier result — a patient whose blood routine and chest CT are both recognised at
    one visit is one person-time (人次), as the seeds count "互认超500余人次"."""
    day = TruncDate("ordered_at", tzinfo=timezone.get_default_timezone())
    return (_recognised(scope).annotate(day=day).values("patient_id", "institution_id", "day")
            .distinct().count())


def recognised_items(scope: Scope) -> int:
    """互认项目数 = the number of orders answered by an earlier result, each panel or exam once (项次; one
    person-time, 人次 — `recognised` — may recognise several items)."""
    return _recognised(scope).count()


def saved_amount(scope: Scope) -> Decimal:
    """互认节约费用 (yuan) = Σ saving of the recognised orders — each the item's price at the ordering
    institution when the order was recognised (its grade's reference price when it had none), as the seeds
    report "为群众节约就医费用30余万元" beside the recognised 人次."""
    total = _recognised(scope).aggregate(total=Sum("saving"))["total"]
    return (total or Decimal("0")).quantize(Decimal("0.01"))


def _overridden(scope: Scope):
    """Orders that went to a new test although earlier results were offered (an order offered nothing
    cannot be overridden: `results.orders.do_override`)."""
    return _orders(scope).filter(status=OrderStatus.OVERRIDDEN, offered__gt=0)


def overrides(scope: Scope) -> int:
    """未予互认（重复检查）例数 = the number of orders overridden with a coded reason, one per order like a 人次
    of one item (国卫医发〔2022〕6号 lists the circumstances in which a result need not be recognised; the reason
    is recorded with each)."""
    return _overridden(scope).count()


def overrides_by_reason(scope: Scope) -> list[dict]:
    """Overrides by reason: rows of reason code, label and count, largest first; the counts sum to
    `overrides(scope)`."""
    labels = dict(Exclusion.choices)
    rows = _overridden(scope).values("override_reason").annotate(n=Count("pk")).order_by("-n", "override_reason")
    return [{"reason": r["override_reason"], "label": str(labels.get(r["override_reason"], r["override_reason"])),
             "count": r["n"]} for r in rows]


def repeat_share(scope: Scope) -> Decimal | None:
    """可互认而重复检查比例: orders overridden (a new test) although a recognisable earlier result was offered ÷
    orders that were offered one and decided (recognised or overridden). Cancelled orders went to no test and
    undecided ones to none yet: both are left out, so the share does not move as open orders are decided."""
    offered = _orders(scope).filter(offered__gt=0, status__in=(OrderStatus.RECOGNISED, OrderStatus.OVERRIDDEN))
    return ratio(offered.filter(status=OrderStatus.OVERRIDDEN).count(), offered.count())


def exam_wait(scope: Scope) -> Decimal | None:
    """候检时间 (minutes): Σ(检查开始 − 开单) ÷ exam reports, over the exam reports (CT, MR, DR, ultrasound,
    ECG) whose exam started in the period and that carry their order time (`Report.ordered_at`, HL7 ORC-9 /
    OBR-6); cancelled reports and those whose exam time precedes the order (a sender's clock error) are left
    out. Seed 003 "候检时间缩短至8分钟". Yilian's definition."""
    qs = Report.objects.filter(kind=ItemKind.EXAM, ordered_at__isnull=False, collected_at__gte=scope.start_at,
                               collected_at__lt=scope.end_at).filter(collected_at__gte=F("ordered_at")
                                                                      ).exclude(status=ReportStatus.CANCELLED)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return mean_minutes((started - ordered).total_seconds() for ordered, started in
                        qs.values_list("ordered_at", "collected_at"))


register(Indicator(
    code="results.recognised", name_zh="检查检验结果互认人次", name_en="Mutual recognitions (person-times)",
    unit="count", formula="期间开单且至少一项被互认的 (患者, 开单机构, 开单日) 数", source=SOURCE, direction="up",
    compute=recognised, tags=("results",)))
register(Indicator(
    code="results.recognised_items", name_zh="互认项目数", name_en="Recognised orders", unit="count",
    formula="期间开单、以既往结果互认的检查检验项目数", source=SOURCE, direction="up", compute=recognised_items,
    tags=("results",)))
register(Indicator(
    code="results.saved_amount", name_zh="互认节约费用", name_en="Saved by recognition", unit="yuan",
    formula="Σ 互认项目在开单机构的收费标准（无本机构价格时取同级参考价）", source=SOURCE, direction="up",
    compute=saved_amount, tags=("results",)))
register(Indicator(
    code="results.overrides", name_zh="未予互认例数", name_en="Overrides (new test despite an earlier result)",
    unit="count", formula="期间开单、有可互认结果而按编码理由重新检查的项目数（按理由分列）", source=SOURCE,
    direction="none", compute=overrides, tags=("results",)))
register(Indicator(
    code="results.repeat_share", name_zh="可互认项目重复检查比例", name_en="Repeat tests despite a recognisable result",
    unit="ratio", formula="有可互认结果而重新检查的项目数 ÷ 有可互认结果且已决定（互认或重新检查）的项目数",
    source=SOURCE, direction="down", compute=repeat_share, tags=("results",)))
register(Indicator(
    code="results.exam_wait", name_zh="平均候检时间", name_en="Mean wait for an exam", unit="minutes",
    formula="Σ(检查开始时间 − 开单时间) ÷ 期间开始的检查数（有开单时间、未取消）",
    source="Seed 003 候检时间 · 医联定义", direction="down", compute=exam_wait, tags=("results",)))
