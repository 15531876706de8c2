"""Referral indicators (issue 5, part 5): referrals up and down (outpatient and inpatient apart), the time
to acceptance, and the share escalated past the deadline.

A referral counts in the period it was sent (`created_at`), for the institutions that sent it; cancelled
and rejected referrals are not referrals that happened and are left out of the counts (they stay in the
escalation share's denominator only if they were escalated before, which is what the manager saw).
"""

from decimal import Decimal

from yilian.analytics.registry import Indicator, Scope, mean_minutes, ratio, register
from yilian.referrals.models import Direction, Referral, Setting, Status

NOT_HAPPENED = (Status.CANCELLED, Status.REJECTED)


def _sent(scope: Scope):
    qs = Referral.objects.filter(created_at__gte=scope.start_at, created_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(from_institution_id__in=scope.institution_ids)
    return qs


def _count(scope: Scope, direction: str, setting: str | None = None) -> int:
    qs = _sent(scope).filter(direction=direction).exclude(status__in=NOT_HAPPENED)
    if setting:
        qs = qs.filter(setting=setting)
    return qs.count()


def down_outpatient(scope: Scope) -> int:
    """门急诊下转患者人次数: outpatient and emergency patients referred down to a lower level.

    Source: 《国家三级公立医院绩效考核操作手册》指标 "下转患者人次数（门急诊、住院）" — 下转患者人次数 =
    门急诊下转患者人次数 + 住院下转患者人次数 (referrals to secondary hospitals or grassroots institutions).
    Counted here: referrals down sent in the period, outpatient setting, neither cancelled nor rejected."""
    return _count(scope, Direction.DOWN, Setting.OUTPATIENT)


def down_inpatient(scope: Scope) -> int:
    """住院下转患者人次数: inpatients referred down (same source and rules as `down_outpatient`)."""
    return _count(scope, Direction.DOWN, Setting.INPATIENT)


def down_total(scope: Scope) -> int:
    """下转患者人次数 = 门急诊下转患者人次数 + 住院下转患者人次数 (source as `down_outpatient`)."""
    return _count(scope, Direction.DOWN)


def up_total(scope: Scope) -> int:
    """上转患者人次数: patients referred up to a higher level (both settings), neither cancelled nor
    rejected. Source: 《关于推进分级诊疗制度建设的指导意见》(国办发〔2015〕70号) 双向转诊 — counted as the
    upward half of two-way referral."""
    return _count(scope, Direction.UP)


def acceptance_minutes(scope: Scope) -> Decimal | None:
    """平均接收时间 (minutes): Σ(接收时间 − 发出时间) ÷ 已接收转诊数, over the referrals sent in the
    period that were accepted (or arrived, which accepts). 医联定义 after the consortium's referral rules
    (《医疗联合体管理办法（试行）》国卫医发〔2020〕13号 第二十二条: 双向转诊 with clear timelines)."""
    rows = _sent(scope).filter(accepted_at__isnull=False).values_list("created_at", "accepted_at")
    seconds = [(accepted - sent).total_seconds() for sent, accepted in rows]
    return mean_minutes(seconds)


def escalated_share(scope: Scope) -> Decimal | None:
    """超时上报比例: referrals escalated to the consortium manager (not accepted within the deadline of
    their urgency) ÷ referrals sent in the period (cancelled ones excluded). 医联定义."""
    sent = _sent(scope).exclude(status=Status.CANCELLED)
    return ratio(sent.filter(escalated_at__isnull=False).count(), sent.count())


SOURCE = "国家三级公立医院绩效考核操作手册 · 下转患者人次数（门急诊、住院）"
register(Indicator(
    code="referral.down_outpatient", name_zh="门急诊下转患者人次数", name_en="Outpatients referred down",
    unit="count", formula="期间发出、未取消未拒绝的门急诊下转人次", source=SOURCE, direction="up",
    compute=down_outpatient,
))
register(Indicator(
    code="referral.down_inpatient", name_zh="住院下转患者人次数", name_en="Inpatients referred down",
    unit="count", formula="期间发出、未取消未拒绝的住院下转人次", source=SOURCE, direction="up",
    compute=down_inpatient,
))
register(Indicator(
    code="referral.down", name_zh="下转患者人次数", name_en="Patients referred down", unit="count",
    formula="门急诊下转患者人次数 + 住院下转患者人次数", source=SOURCE, direction="up", compute=down_total,
))
register(Indicator(
    code="referral.up", name_zh="上转患者人次数", name_en="Patients referred up", unit="count",
    formula="期间发出、未取消未拒绝的上转人次", source="国办发〔2015〕70号 分级诊疗 · 双向转诊", direction="none",
    compute=up_total,
))
register(Indicator(
    code="referral.acceptance_minutes", name_zh="转诊平均接收时间", name_en="Mean time to accept a referral",
    unit="minutes", formula="Σ(接收时间 − 发出时间) ÷ 已接收转诊数", source="医联定义（国卫医发〔2020〕13号 双向转诊）",
    direction="down", compute=acceptance_minutes,
))
register(Indicator(
    code="referral.escalated_share", name_zh="转诊超时上报比例", name_en="Referrals escalated past the deadline",
    unit="ratio", formula="超时未接收上报数 ÷ 发出转诊数（不含取消）", source="医联定义", direction="down",
    compute=escalated_share,
))
