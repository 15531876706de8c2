"""Outpatient indicators fed by bookings, registrations and the queue (issue 4, part 5).

Visits are counted as `care.indicators` counts them — outpatient (and, where said, emergency) encounters
that started in the scope's period at the scope's institutions — so that the figures here agree with
`outpatient.visits`. Times are aware datetimes compared with `scope.start_at` / `scope.end_at`.

`analytics` discovers this module at start-up (`autodiscover_modules("indicators")` in its `ready()`),
as it does `care.indicators`.
"""

from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum

from yilian.analytics.registry import Indicator, Scope, mean_minutes, ratio, register
from yilian.care.indicators import VISIT_CLASSES, _encounters
from yilian.care.models import EncounterClass
from yilian.network.data.clinical_subjects import CLINICAL_SUBJECTS
from yilian.scheduling.models import BookingStatus, FeeTier, QueueEntry, Registration


def _outpatient_visits(scope: Scope):
    """Outpatient encounters (emergency excluded) of the period, as `outpatient.visits` counts them."""
    return _encounters(scope).filter(klass=EncounterClass.OUTPATIENT)


def _opening_registrations(**filters):
    """The registration that opened an encounter (not a reuse of it), correlated to the outer encounter."""
    return Registration.objects.filter(encounter=OuterRef("pk"), reused_from__isnull=True, **filters)


def _queue(scope: Scope):
    """Queue entries whose patient arrived in the period, at the scope's institutions."""
    qs = QueueEntry.objects.filter(arrived_at__gte=scope.start_at, arrived_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs


def _registrations(scope: Scope):
    qs = Registration.objects.filter(registered_at__gte=scope.start_at, registered_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs


def booking_rate(scope: Scope) -> Decimal | None:
    """门诊患者预约诊疗率 = 预约诊疗人次数 ÷ 总诊疗人次数（不含急诊人次）× 100%.

    Source: 国务院办公厅《关于加强三级公立医院绩效考核工作的意见》(国办发〔2019〕4号) 附件 指标 22
    "门诊患者平均预约诊疗率", defined in 《国家三级公立医院绩效考核操作手册》; the 二级公立医院 manual uses the
    same definition. Denominator: outpatient encounters started in the period (emergency excluded).
    Numerator: those of them opened by a registration made from a booking that was not cancelled — every
    channel (window, self-service, phone, referral) counts. A reused registration opens no new encounter,
    so a return visit within the validity adds neither to the numerator nor to the denominator."""
    visits = _outpatient_visits(scope)
    booked = Exists(_opening_registrations(booking__isnull=False).exclude(booking__status=BookingStatus.CANCELLED))
    counts = visits.aggregate(total=Count("id"), booked=Count("id", filter=Q(booked)))
    return ratio(counts["booked"], counts["total"])


def wait_after_booking(scope: Scope) -> Decimal | None:
    """门诊患者预约后平均等待时间 = Σ(进入诊室诊疗时间 − 预约时间；到院时间晚于预约时间者取到院时间) ÷ 预约诊疗人次数, in minutes.

    Source: 国办发〔2019〕4号 附件 指标 23 "门诊患者预约后平均等待时间", 《国家三级公立医院绩效考核操作手册》: the
    wait starts at the booked time, or at the patient's arrival at the triage desk (到达分诊台或通过信息系统
    报到) when that is later, and ends when the patient enters the consulting room. Here: queue entries with a
    booked time (walk-ins have none) whose patient arrived in the period; `started_at − max(booked_at,
    arrived_at)`. An entry not yet in the room (`started_at` empty) is left out. A patient let in before the
    booked time waited 0 minutes (not a negative time, which would flatter the mean). No entry → None."""
    rows = _queue(scope).filter(booked_at__isnull=False, started_at__isnull=False).values_list(
        "booked_at", "arrived_at", "started_at")
    return mean_minutes([max((started - max(booked, arrived)).total_seconds(), 0.0)
                          for booked, arrived, started in rows.iterator()])


def wait_check_in_to_call(scope: Scope) -> Decimal | None:
    """门诊患者平均候诊时间 = Σ(叫号时间 − 报到（签到）时间) ÷ 已叫号人次数, in minutes.

    Source: no national formula; 《进一步改善医疗服务行动计划（2018—2020年）》(国卫医发〔2017〕73号) asks
    hospitals to shorten the time patients wait after checking in (候诊时间). Yilian's definition, as the seed
    reports it ("average outpatient wait 3 min"): every queue entry, booked or walk-in, whose patient arrived
    in the period and who has been called; `called_at − checked_in_at` (`called_at` is the first call; a
    recall does not move it). An entry never called is left out.
    No entry → None."""
    rows = _queue(scope).filter(called_at__isnull=False).values_list("checked_in_at", "called_at")
    return mean_minutes([(called - checked_in).total_seconds() for checked_in, called in rows.iterator()])


def expert_visits(scope: Scope) -> int:
    """专家门诊人次: outpatient encounters of the period opened by an expert-tier (专家) registration.

    Source: no national formula; Yilian's definition of the seed's 专家门诊人次 (seed 001), within 门诊人次 as
    国家卫生健康统计调查制度 counts them. The tier follows the doctor's title (主任医师 / 副主任医师,
    `scheduling.policy.tier_for`) as the registration fee (专家门诊诊察费) does. Special-needs (特需) clinics are not counted; a reused registration opens no new
    encounter and is not a new visit."""
    return _outpatient_visits(scope).filter(Exists(_opening_registrations(tier=FeeTier.EXPERT))).count()


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def expert_visits_yoy(scope: Scope) -> Decimal | None:
    """专家门诊人次同比增长率 = (本期专家门诊人次 − 上年同期专家门诊人次) ÷ 上年同期专家门诊人次 × 100%.

    Source: 国家统计局 统计指标解释 "同比增长速度" (本期发展水平 ÷ 上年同期发展水平 − 1). The same period a year
    earlier is the scope's dates moved back one year (29 February → 28 February), same institutions. No
    expert visit a year earlier → None (growth from nothing is not a percentage)."""
    earlier = Scope(_year_earlier(scope.start), _year_earlier(scope.end), scope.institution_ids)
    previous = expert_visits(earlier)
    if not previous:
        return None
    return ratio(expert_visits(scope) - previous, previous)


def visits_by_specialty(scope: Scope) -> list[dict]:
    """分科门急诊人次 and each one's share (÷ all visits), by clinical subject (诊疗科目) across institutions,
    largest first: rows of subject code, subject name, visits and share. Visits as `outpatient.visits` counts
    them (outpatient and emergency), so the visits sum to it and the shares to 1."""
    rows = list(_encounters(scope).filter(klass__in=VISIT_CLASSES)
                .values("department__subject_code").annotate(visits=Count("id"))
                .order_by("-visits", "department__subject_code"))
    total = sum(r["visits"] for r in rows)
    return [{"subject_code": r["department__subject_code"],
             "subject": CLINICAL_SUBJECTS.get(r["department__subject_code"], r["department__subject_code"]),
             "visits": r["visits"], "share": ratio(r["visits"], total)} for r in rows]


def top3_specialty_share(scope: Scope) -> Decimal | None:
    """前三位专科门急诊人次占比 = 门急诊人次最多的三个诊疗科目的门急诊人次之和 ÷ 门急诊总人次.

    Source: no national formula; Yilian's reading of the seed ("three specialties > 20 % of all visits"), with
    departments grouped by their 诊疗科目 (《医疗机构诊疗科目名录》) and visits as 国家卫生健康统计调查制度
    counts 门急诊人次. The
    full breakdown is `visits_by_specialty`. No visit → None."""
    rows = visits_by_specialty(scope)
    total = sum(r["visits"] for r in rows)
    return ratio(sum(r["visits"] for r in rows[:3]), total)


def registrations_reused(scope: Scope) -> int:
    """挂号复用人次: registrations made in the period that reused an earlier one within its validity (a return
    visit to the same department of the same institution, no fee, the same encounter).

    Source: the consortium's rule "一次挂号3天有效" (seed 003; `OutpatientPolicy.registration_valid_days`); no
    national formula. Counted by the reusing registration's time and institution."""
    return _registrations(scope).filter(reused_from__isnull=False).count()


def _fee_free(scope: Scope):
    """Registrations of the period that charged no fee by rule: reused within validity, or waived."""
    return _registrations(scope).filter(Q(reused_from__isnull=False) | Q(waiver__isnull=False))


def fees_waived_patients(scope: Scope) -> int:
    """免挂号费患者数: distinct patients with at least one registration in the period that was free because it
    reused a valid registration or a free-registration rule waived its fee (人次 are not patients: a patient
    free twice counts once).

    Source: seed 003 ("registration-free visits: 5,000+ patients"); no national formula."""
    return _fee_free(scope).values("patient_id").distinct().count()


def fees_waived_amount(scope: Scope) -> Decimal:
    """免除挂号费金额 = Σ 减免规则免除的挂号费（Waiver.amount）+ Σ 复用挂号未再收取的挂号费, in yuan, over the
    免挂号费人次 of the period.

    Source: seed 003 ("¥60,000+ waived"); no national formula. A waiver records its amount. A reuse records
    no amount: the fee it did not charge is taken as the fee the reused registration charged (what a second
    registration would have cost at the same tier as first recorded); when that one was itself waived it
    charged 0, so its waiver is not counted twice. Registrations made in the period."""
    waived = _registrations(scope).aggregate(total=Sum("waiver__amount"))["total"] or Decimal("0")
    reused = _registrations(scope).filter(reused_from__isnull=False).aggregate(
        total=Sum("reused_from__fee"))["total"] or Decimal("0")
    return (waived + reused).quantize(Decimal("0.01"))


register(Indicator(
    code="outpatient.booking_rate", name_zh="门诊患者平均预约诊疗率", name_en="Outpatient booking rate",
    unit="ratio", formula="预约诊疗人次数 ÷ 总诊疗人次数（门诊，不含急诊）× 100%",
    source="国办发〔2019〕4号 三级公立医院绩效考核指标 22 · 国家三级公立医院绩效考核操作手册",
    direction="up", compute=booking_rate,
))
register(Indicator(
    code="outpatient.booked_wait", name_zh="门诊患者预约后平均等待时间",
    name_en="Mean wait after booked time", unit="minutes",
    formula="Σ(进入诊室时间 − 预约时间；到院晚于预约时间者取到院时间) ÷ 预约诊疗人次数",
    source="国办发〔2019〕4号 三级公立医院绩效考核指标 23 · 国家三级公立医院绩效考核操作手册",
    direction="down", compute=wait_after_booking,
))
register(Indicator(
    code="outpatient.wait", name_zh="门诊患者平均候诊时间（签到至叫号）",
    name_en="Mean wait from check-in to call", unit="minutes",
    formula="Σ(叫号时间 − 签到时间) ÷ 已叫号人次数",
    source="医联定义（国卫医发〔2017〕73号 改善医疗服务行动计划 · 缩短候诊时间）",
    direction="down", compute=wait_check_in_to_call,
))
register(Indicator(
    code="outpatient.expert_visits", name_zh="专家门诊人次", name_en="Expert clinic visits", unit="count",
    formula="期间内开始、由专家号（主任 / 副主任医师）挂号开启的门诊就诊人次",
    source="医联定义（专家号：主任 / 副主任医师；门诊人次口径同国家卫生健康统计调查制度）", direction="none", compute=expert_visits,
))
register(Indicator(
    code="outpatient.expert_visits_yoy", name_zh="专家门诊人次同比增长率",
    name_en="Expert clinic visits, year-on-year growth", unit="ratio",
    formula="(本期专家门诊人次 − 上年同期专家门诊人次) ÷ 上年同期专家门诊人次 × 100%",
    source="国家统计局 统计指标解释 · 同比增长速度", direction="up", compute=expert_visits_yoy,
))
register(Indicator(
    code="outpatient.top3_specialty_share", name_zh="前三位专科门急诊人次占比",
    name_en="Share of visits in the three largest specialties", unit="ratio",
    formula="门急诊人次最多的三个诊疗科目人次之和 ÷ 门急诊总人次（分科明细见 visits_by_specialty）",
    source="医联定义（按《医疗机构诊疗科目名录》诊疗科目分科的门急诊人次）", direction="none",
    compute=top3_specialty_share,
))
register(Indicator(
    code="registration.reuses", name_zh="挂号有效期内复用人次",
    name_en="Registrations reused within validity", unit="count",
    formula="期间内复用有效期内既有挂号（同机构同科室、免挂号费）的挂号人次",
    source="医联定义（医共体“一次挂号3天有效”规则）", direction="none", compute=registrations_reused,
))
register(Indicator(
    code="registration.reuse_patients", name_zh="免挂号费患者数",
    name_en="Patients registered without a fee", unit="count",
    formula="期间内有复用挂号或减免挂号费记录的患者数（去重）",
    source="医联定义（医共体免挂号费政策）", direction="none", compute=fees_waived_patients,
))
register(Indicator(
    code="registration.fees_waived", name_zh="免除挂号费金额", name_en="Registration fees waived",
    unit="yuan", formula="Σ 减免规则免除的挂号费 + Σ 复用挂号未再收取的挂号费（按被复用挂号的实收费用）",
    source="医联定义（医共体免挂号费政策）", direction="none", compute=fees_waived_amount,
))
