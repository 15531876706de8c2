"""Indicators fed by encounters and charges."""

from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth

from yilian.analytics.registry import Indicator, Scope, ratio, register
from yilian.care.models import DRUG_CATEGORIES, ChargeItem, Encounter, EncounterClass
from yilian.network.models import GRASSROOTS_KINDS

VISIT_CLASSES = (EncounterClass.OUTPATIENT, EncounterClass.EMERGENCY)


def _encounters(scope: Scope):
    qs = Encounter.objects.filter(start__gte=scope.start_at, start__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs


def _charges(scope: Scope):
    qs = ChargeItem.objects.filter(charged_at__gte=scope.start_at, charged_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(encounter__institution_id__in=scope.institution_ids)
    return qs


def outpatient_visits(scope: Scope) -> int:
    """门急诊人次: outpatient and emergency encounters that started in the period.

    Source: 《国家卫生健康统计调查制度》 卫生资源与医疗服务调查表 — 总诊疗人次数 counts outpatient and
    emergency visits (门诊、急诊人次)."""
    return _encounters(scope).filter(klass__in=VISIT_CLASSES).count()


def visits_by_institution_month(scope: Scope) -> list[dict]:
    """Rows of (institution id, month, visits) for the dashboard chart."""
    return list(
        _encounters(scope)
        .filter(klass__in=VISIT_CLASSES)
        .annotate(month=TruncMonth("start"))
        .values("institution_id", "month")
        .annotate(visits=Count("id"))
        .order_by("month", "institution_id")
    )


def grassroots_visit_rate(scope: Scope) -> Decimal | None:
    """基层就诊率 = 基层医疗卫生机构诊疗人次 ÷ 医共体内总诊疗人次.

    Source: 国家卫生健康委《紧密型县域医疗卫生共同体建设评判标准和监测指标体系（试行）》(国卫办基层发〔2020〕12号),
    监测指标 "县域内基层医疗卫生机构门急诊占比": grassroots outpatient and emergency visits (township
    health centres, community health centres and stations, village clinics) ÷ all outpatient and emergency
    visits of the consortium."""
    visits = _encounters(scope).filter(klass__in=VISIT_CLASSES)
    counts = visits.aggregate(
        total=Count("id"), grassroots=Count("id", filter=Q(institution__kind__in=GRASSROOTS_KINDS))
    )
    return ratio(counts["grassroots"], counts["total"])


def drug_ratio(scope: Scope) -> Decimal | None:
    """药占比 = 药品收入（不含中药饮片）÷ 医疗收入.

    Source: 《国家三级公立医院绩效考核操作手册（2024版）》 and the 二级公立医院绩效考核 manual: drug income
    counts western drugs and Chinese patent drugs, excluding herbal pieces (中药饮片); medical income is all
    charges for medical services (门诊收入 + 住院收入)."""
    totals = _charges(scope).aggregate(
        total=Sum("amount"),
        drugs=Sum("amount", filter=Q(category__in=DRUG_CATEGORIES)),
    )
    return ratio(totals["drugs"] or 0, totals["total"] or 0)


register(Indicator(
    code="outpatient.visits", name_zh="门急诊人次", name_en="Outpatient and emergency visits", unit="count",
    formula="门诊人次 + 急诊人次（期间内开始的门诊、急诊就诊）",
    source="国家卫生健康统计调查制度 · 总诊疗人次数", direction="none", compute=outpatient_visits,
))
register(Indicator(
    code="outpatient.grassroots_rate", name_zh="基层就诊率", name_en="Share of visits at grassroots level",
    unit="ratio", formula="基层医疗卫生机构门急诊人次 ÷ 医共体门急诊总人次",
    source="国卫办基层发〔2020〕12号 紧密型县域医共体监测指标", direction="up", compute=grassroots_visit_rate,
    target=Decimal("0.65"),
))
register(Indicator(
    code="finance.drug_ratio", name_zh="药占比", name_en="Drug income share (excluding herbal pieces)",
    unit="ratio", formula="药品收入（西药 + 中成药，不含中药饮片）÷ 医疗收入",
    source="国家公立医院绩效考核操作手册", direction="down", compute=drug_ratio, target=Decimal("0.30"),
))

