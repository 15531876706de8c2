"""Green-channel indicators (issue 7, part 5), computed from the cases' current time nodes, their bypass
events and their pre-arrival notices.

Every indicator here is a `Measure`: the centre whose cases it reads, a rule that either gives a case's
value (minutes, or true/false) or the reason it is excluded, and a statistic over the values. `report`
gives the value with how many cases were counted and how many were excluded, by reason; `analytics`
shows the value (each measure is registered as an `Indicator`), the API
(`/api/v1/emergency/indicators/{code}`) the whole report.

**Period.** A case belongs to the period of its hospital door time (local dates, half-open); without a
door time (an onset in hospital, a patient still on the way), of its first medical contact; without
either, of the time the case was opened — so that the cases an indicator leaves out are reported as
excluded in the period where they happened. Only the receiving institution
counts (`scope.institution_ids`). Times are compared as aware datetimes (stored UTC, shown Asia/Shanghai):
a case that arrives at 23:50 on 31 January and is treated at 00:40 on 1 February counts in January with
50 minutes.

**Durations** are in minutes from the current (corrected) values; means and medians to two decimals (half
up). A negative duration (possible only through a correction with a reason that broke the order) is
excluded as `negative_interval`, never averaged. Limits are inclusive (≤ 90 min counts as met).

The limits and definitions follow 《中国胸痛中心认证标准》(中国胸痛中心认证工作委员会; the re-accreditation
criteria on the data platform: FMC-to-ECG, ECG transmitted, ECG-to-diagnosis, D-to-W, cath-lab
activation, bypass), the national stroke-centre quality indicators (国家卫生健康委《神经系统疾病医疗质量控制
指标（2020年版）》; 国家卫生健康委脑卒中防治工程委员会 中国卒中中心 / 高级卒中中心评价; 国家神经系统疾病医疗质量
控制中心、中国卒中学会《急性缺血性卒中再灌注治疗医疗质量评价与改进专家建议》) and the emergency quality
indicators (国家卫生健康委 急诊专业医疗质量控制指标: 门球时间, 门药时间). docs/emergency.md gives each in full.
"""

import inspect
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from yilian.analytics.registry import Indicator, Scope, ratio, register
from yilian.emergency.models import ArrivalMode, Case, CaseEvent, CentreType, NodeTime, PrearrivalNotice

__all__ = ["MEASURES", "Report", "Scope", "report"]

MINUTE = Decimal("0.01")

# Exclusion reasons (stable codes; docs/emergency.md lists them).
IN_HOSPITAL = "in_hospital_onset"
TRANSFERRED_IN = "transferred_in"
SELF_PRESENTED = "not_by_ambulance"
NOT_STEMI = "not_stemi"
NO_PPCI = "no_primary_pci"
NO_THROMBOLYSIS = "no_thrombolysis"
NO_THROMBECTOMY = "no_thrombectomy"
NO_ACTIVATION = "no_cath_lab_activation"
NEGATIVE = "negative_interval"
BEFORE_DOOR = "thrombolysis_before_door"


@dataclass
class Facts:
    """What the rules read of one case."""

    case: Case
    nodes: dict[str, datetime] = field(default_factory=dict)
    bypasses: list[tuple[str, datetime]] = field(default_factory=list)
    notices: list[datetime] = field(default_factory=list)


@dataclass
class Report:
    value: Decimal | int | None
    included: int
    excluded: dict[str, int]
    values: list = field(default_factory=list)


Rule = Callable[[Facts], tuple[str | None, object]]


@dataclass(frozen=True)
class Measure:
    code: str
    centre: str | None  # None: every centre
    rule: Rule
    stat: Callable[[list], Decimal | None]


# --- loading --------------------------------------------------------------------------------------------


def _current(node: str):
    return NodeTime.objects.filter(case=OuterRef("pk"), node=node, corrected_by__isnull=True)


def cases_in(scope: Scope, centre: str | None = None):
    """Cases of the period by their anchor time — the hospital door; without one (an onset in hospital, a
    patient still on the way) the first medical contact; without either, the opening of the case — at
    the scope's receiving institutions."""
    anchor = Coalesce(Subquery(_current("door").values("at")[:1]),
                      Subquery(_current("first_medical_contact").values("at")[:1]), F("opened_at"))
    qs = Case.objects.alias(anchor=anchor).filter(anchor__gte=scope.start_at, anchor__lt=scope.end_at)
    if centre is not None:
        qs = qs.filter(centre=centre)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs


def facts(scope: Scope, centre: str | None = None) -> list[Facts]:
    """The facts of every case of the period (four queries)."""
    cases = cases_in(scope, centre)
    by_id = {c.pk: Facts(c) for c in cases.order_by("pk")}
    ids = cases.values("pk")
    for case_id, code, at in NodeTime.objects.filter(case_id__in=ids, corrected_by__isnull=True).values_list(
            "case_id", "node", "at"):
        by_id[case_id].nodes[code] = at
    for case_id, at, data in CaseEvent.objects.filter(case_id__in=ids, kind="bypass").values_list(
            "case_id", "at", "data"):
        by_id[case_id].bypasses.append((data.get("to", ""), at))
    for case_id, sent_at in PrearrivalNotice.objects.filter(case_id__in=ids).values_list("case_id", "sent_at"):
        by_id[case_id].notices.append(sent_at)
    return list(by_id.values())


# --- rules ----------------------------------------------------------------------------------------------


def minutes(start: datetime, end: datetime) -> Decimal:
    return Decimal(int((end - start).total_seconds())) / Decimal(60)


def between(f: Facts, start: str, end: str) -> tuple[str | None, Decimal | None]:
    if start not in f.nodes:
        return f"missing_{start}", None
    if end not in f.nodes:
        return f"missing_{end}", None
    value = minutes(f.nodes[start], f.nodes[end])
    return (NEGATIVE, None) if value < 0 else (None, value)


def by_ambulance(f: Facts) -> str | None:
    """经救护车入院 (by 120, or sent up by a member): anything else is excluded, with why."""
    if f.case.in_hospital_onset:
        return IN_HOSPITAL
    if f.case.arrival_mode == ArrivalMode.SELF:
        return SELF_PRESENTED
    return None


def d2b(f: Facts):
    """门-球时间 (D-to-W, door-to-wire) = 导丝通过时间 − 到达医院大门时间, for STEMI patients treated by primary
    PCI (直接PCI).

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 5): "对于接受PPCI治疗的STEMI患者，月平均门-球时间不超过
    90分钟、达标率不低于75%"; 国家卫生健康委《急诊专业医疗质量控制指标（2015年版）》(国卫办医函〔2015〕252号)
    "急性ST段抬高型心肌梗死（STEMI）患者平均门球时间 / 门球时间达标率" (≤ 90 min). Counted: chest-pain cases
    with a STEMI diagnosis and a wire crossing. Excluded: onset in hospital (no door), transferred in (the
    standard measures them from first medical contact, 转运PCI), no STEMI, no primary PCI, a missing node."""
    if f.case.in_hospital_onset:
        return IN_HOSPITAL, None
    if f.case.arrival_mode == ArrivalMode.TRANSFER:
        return TRANSFERRED_IN, None
    if "stemi_diagnosis" not in f.nodes:
        return NOT_STEMI, None
    if "wire_crossing" not in f.nodes:
        return NO_PPCI, None
    return between(f, "door", "wire_crossing")


def fmc_to_ecg(f: Facts):
    """首次医疗接触至首份心电图时间 (FMC-to-ECG) = 首份心电图完成时间 − 首次医疗接触时间.

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 1): "所有胸痛患者首次医疗接触至完成首份心电图时间，要求
    月平均小于10分钟，达标率75%以上". Counted: every chest-pain case with both nodes (an onset in hospital
    and a transfer too: the standard says all chest-pain patients). Excluded: a missing node."""
    return between(f, "first_medical_contact", "first_ecg")


def ecg_to_diagnosis(f: Facts):
    """首份心电图至确诊时间 = 确诊STEMI时间 − 首份心电图完成时间.

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 3): "对于STEMI患者，首份心电图至心电图确诊的时间月平均
    小于10分钟". Excluded: no STEMI diagnosis, no first ECG."""
    if "stemi_diagnosis" not in f.nodes:
        return NOT_STEMI, None
    return between(f, "first_ecg", "stemi_diagnosis")


def cath_lab_activation(f: Facts):
    """导管室激活时间 = 导管室激活完成（介入团队到达导管室）时间 − 启动导管室时间.

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 6): "导管室激活时间小于30分钟". Excluded: the cath lab
    was not activated, or its readiness was not recorded."""
    if "cath_lab_activation" not in f.nodes:
        return NO_ACTIVATION, None
    return between(f, "cath_lab_activation", "cath_lab_ready")


def ecg_transmitted(f: Facts):
    """院前心电图远程传输比例 = 到达医院前已远程传输心电图的患者数 ÷ 经救护车入院的STEMI患者数.

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 2): "经救护车（包括呼叫本地120入院及由非PCI医院转诊患者）
    入院的STEMI患者，从急救现场或救护车远程传输心电图至胸痛中心的比例不低于30%". Counted: STEMI cases
    arriving by 120 or sent up by a member, transmitted when the `ecg_transmitted` node is at or before the
    door. Excluded: onset in hospital, came by themselves, no STEMI, no door time."""
    reason = by_ambulance(f)
    if reason:
        return reason, None
    if "stemi_diagnosis" not in f.nodes:
        return NOT_STEMI, None
    if "door" not in f.nodes:
        return "missing_door", None
    sent = f.nodes.get("ecg_transmitted")
    return None, sent is not None and sent <= f.nodes["door"]


def bypass_ed(f: Facts):
    """绕行急诊直达导管室比例 = 到院前被指示绕行急诊和CCU直达导管室的患者数 ÷ 经救护车入院且接受直接PCI的
    STEMI患者数.

    Source: 《中国胸痛中心认证标准》 (再认证数据要求 7): "经救护车入院（包括呼叫本地120入院及由非PCI医院转诊
    患者）且接受PPCI治疗的STEMI患者，绕行急诊和CCU直达导管室的比例不低于30%". Counted as bypassing: a bypass
    event to the cath lab (`actions.do_direct_bypass`) at or before the door time. Excluded: onset in
    hospital, came by themselves, no STEMI, no primary PCI, no door time."""
    reason = by_ambulance(f)
    if reason:
        return reason, None
    if "stemi_diagnosis" not in f.nodes:
        return NOT_STEMI, None
    if "wire_crossing" not in f.nodes:
        return NO_PPCI, None
    if "door" not in f.nodes:
        return "missing_door", None
    return None, any(to == "cath_lab" and at <= f.nodes["door"] for to, at in f.bypasses)


def dnt(f: Facts):
    """入院至静脉溶栓时间 (DNT, door-to-needle) = 静脉溶栓给药时间 − 到达医院时间.

    Source: 国家卫生健康委《神经系统疾病医疗质量控制指标（2020年版）》 脑梗死: "到院到静脉溶栓给药时间（DNT）
    ≤ 60 分钟的比例"; 中国卒中中心 (国家卫生健康委脑卒中防治工程委员会) 高级卒中中心 DNT ≤ 45 minutes as the
    advanced target. Counted: stroke cases with a thrombolysis bolus after the door. Excluded: onset in
    hospital; no thrombolysis; thrombolysis before the door (in the ambulance — the mobile stroke unit — or
    at the sending hospital, drip and ship: not this hospital's door-to-needle); no door time."""
    if f.case.in_hospital_onset:
        return IN_HOSPITAL, None
    if "thrombolysis_bolus" not in f.nodes:
        return NO_THROMBOLYSIS, None
    reason, value = between(f, "door", "thrombolysis_bolus")
    return (BEFORE_DOOR, None) if reason == NEGATIVE else (reason, value)


def door_to_ct(f: Facts):
    """到院至CT时间 (door-to-imaging) = CT开始时间 − 到达医院时间.

    Source: 中国卒中中心评价标准 and the AHA/ASA guideline it follows: imaging started within 25 minutes of
    arrival for a suspected acute stroke. Excluded: onset in hospital, a missing node."""
    if f.case.in_hospital_onset:
        return IN_HOSPITAL, None
    return between(f, "door", "ct_start")


def door_to_puncture(f: Facts):
    """入院至股动脉穿刺时间 (DPT, door-to-puncture) = 股动脉穿刺时间 − 到达医院时间.

    Source: 国家神经系统疾病医疗质量控制中心、中国卒中学会《急性缺血性卒中再灌注治疗医疗质量评价与改进专家
    建议》(2021): DPT ≤ 90 minutes for endovascular treatment. Counted: stroke cases with a groin puncture
    (a patient sent up by a member counts from this hospital's door). Excluded: onset in hospital, no
    thrombectomy, no door time."""
    if f.case.in_hospital_onset:
        return IN_HOSPITAL, None
    if "groin_puncture" not in f.nodes:
        return NO_THROMBECTOMY, None
    return between(f, "door", "groin_puncture")


def prearrival_notice(f: Facts):
    """院前预警率 = 到院前已向接收医院发出院前预警的患者数 ÷ 经救护车入院（呼叫120及成员单位转诊）的患者数,
    every centre.

    Source: no national formula; Yilian's definition of the seed's "上车即入院" (seed 001), after the
    pre-arrival notice both accreditation standards require (中国胸痛中心认证标准 and 中国卒中中心评价标准:
    院前预警 / 远程传输) and 中国县级医院急诊联盟《县域医共体急救体系建设规范专家共识》(2020). Counted as notified:
    a `PrearrivalNotice` sent at or before the door time. Excluded: onset in hospital, came by themselves,
    no door time."""
    reason = by_ambulance(f)
    if reason:
        return reason, None
    if "door" not in f.nodes:
        return "missing_door", None
    return None, any(sent <= f.nodes["door"] for sent in f.notices)


# --- statistics -----------------------------------------------------------------------------------------


def _round(value) -> Decimal:
    return Decimal(value).quantize(MINUTE, rounding=ROUND_HALF_UP)


def mean(values: list) -> Decimal | None:
    return _round(sum(values) / len(values)) if values else None


def median(values: list) -> Decimal | None:
    return _round(statistics.median(values)) if values else None


def minimum(values: list) -> Decimal | None:
    return _round(min(values)) if values else None


def within(limit: int) -> Callable[[list], Decimal | None]:
    def share(values: list) -> Decimal | None:
        return ratio(sum(1 for v in values if v <= limit), len(values))

    share.limit = limit  # type: ignore[attr-defined]
    return share


def share_true(values: list) -> Decimal | None:
    return ratio(sum(1 for v in values if v), len(values))


# --- the measures -----------------------------------------------------------------------------------------

CP, ST = CentreType.CHEST_PAIN, CentreType.STROKE
MEASURES: dict[str, Measure] = {m.code: m for m in (
    Measure("chest_pain.d2b", CP, d2b, mean),
    Measure("chest_pain.d2b_median", CP, d2b, median),
    Measure("chest_pain.d2b_min", CP, d2b, minimum),
    Measure("chest_pain.d2b_90_rate", CP, d2b, within(90)),
    Measure("chest_pain.fmc_to_ecg", CP, fmc_to_ecg, mean),
    Measure("chest_pain.fmc_to_ecg_10_rate", CP, fmc_to_ecg, within(10)),
    Measure("chest_pain.ecg_to_diagnosis", CP, ecg_to_diagnosis, mean),
    Measure("chest_pain.cath_lab_activation", CP, cath_lab_activation, mean),
    Measure("ems.prehospital_ecg_transmitted", CP, ecg_transmitted, share_true),
    Measure("chest_pain.bypass_ed_rate", CP, bypass_ed, share_true),
    Measure("stroke.dnt", ST, dnt, mean),
    Measure("stroke.dnt_median", ST, dnt, median),
    Measure("stroke.dnt_60_rate", ST, dnt, within(60)),
    Measure("stroke.dnt_45_rate", ST, dnt, within(45)),
    Measure("stroke.door_to_ct", ST, door_to_ct, mean),
    Measure("stroke.dpt", ST, door_to_puncture, mean),
    Measure("ems.prearrival_notice_rate", None, prearrival_notice, share_true),
)}


def evaluate(measure: Measure, cases: list[Facts]) -> Report:
    values, excluded = [], Counter()
    for f in cases:
        reason, value = measure.rule(f)
        if reason is None:
            values.append(value)
        else:
            excluded[reason] += 1
    return Report(value=measure.stat(values), included=len(values), excluded=dict(sorted(excluded.items())),
                  values=values)


def report(code: str, scope: Scope) -> Report:
    """The indicator's value over the scope, with the cases counted and the cases excluded by reason."""
    measure = MEASURES[code]
    return evaluate(measure, facts(scope, measure.centre))


def reports(scope: Scope, codes=None) -> dict[str, Report]:
    """Several indicators at once, loading each centre's cases once (the monthly report, the board)."""
    loaded: dict[str | None, list[Facts]] = defaultdict(list)
    out = {}
    for code in codes or MEASURES:
        measure = MEASURES[code]
        if measure.centre not in loaded:
            loaded[measure.centre] = facts(scope, measure.centre)
        out[code] = evaluate(measure, loaded[measure.centre])
    return out


def _describe(stat) -> str:
    limit = getattr(stat, "limit", None)
    if limit is not None:
        return f"达标率 = 时长 ≤ {limit} 分钟的例数 ÷ 纳入例数 (share within {limit} minutes, 4 decimals)."
    return {
        mean: "平均值 = Σ 各例时长 ÷ 纳入例数 (mean minutes, 2 decimals half up).",
        median: "中位数 = 各例时长排序后居中者；偶数例取中间两例之和 ÷ 2 (median minutes, 2 decimals).",
        minimum: "最短时间 = 纳入各例时长的最小值；纳入人群与平均值（Σ ÷ 例数）相同 (shortest minutes).",
        share_true: "比例 = 符合的例数 ÷ 纳入例数 (share, 4 decimals).",
    }[stat]


def _compute(code: str) -> Callable[[Scope], Decimal | None]:
    """The registry's compute function of a measure, its docstring the formula, the statistic and the
    rule's definition with its source."""
    measure = MEASURES[code]
    name_zh, _en, _unit, formula, source = META[code][:5]

    def compute(scope: Scope) -> Decimal | None:
        return report(code, scope).value

    compute.__name__ = compute.__qualname__ = code.replace(".", "_")
    compute.__doc__ = (f"{name_zh} = {formula}.\n\n{_describe(measure.stat)}\n\nSource: {source}.\n\n"
                       f"{inspect.cleandoc(measure.rule.__doc__ or '')}")
    return compute


CHEST_PAIN_STANDARD = "中国胸痛中心认证标准（中国胸痛中心认证工作委员会）· 胸痛中心质控指标"
STROKE_STANDARD = "国家卫生健康委 神经系统疾病医疗质量控制指标（2020年版）· 中国卒中中心评价标准"
META = {
    "chest_pain.d2b": ("STEMI患者平均门-球时间（D-to-W）", "Door-to-wire time, mean (STEMI, primary PCI)",
                       "minutes", "Σ(导丝通过 − 到达医院大门) ÷ 接受直接PCI的STEMI患者数（不含院内发病、转院患者）",
                       CHEST_PAIN_STANDARD + "：月平均门-球时间 ≤ 90 分钟；急诊专业医疗质量控制指标 · 平均门球时间",
                       "down", Decimal("90")),
    "chest_pain.d2b_median": ("STEMI患者门-球时间中位数", "Door-to-wire time, median", "minutes",
                              "导丝通过 − 到达医院大门 的中位数（同上人群）", CHEST_PAIN_STANDARD, "down", None),
    "chest_pain.d2b_min": ("STEMI患者最短门-球时间", "Door-to-wire time, shortest", "minutes",
                           "导丝通过 − 到达医院大门 的最小值（同上人群）", CHEST_PAIN_STANDARD, "down", None),
    "chest_pain.d2b_90_rate": ("门-球时间达标率（≤90分钟）", "Door-to-wire within 90 minutes", "ratio",
                               "门-球时间 ≤ 90 分钟的患者数 ÷ 接受直接PCI的STEMI患者数",
                               CHEST_PAIN_STANDARD + "：达标率 ≥ 75%；急诊专业医疗质量控制指标 · 门球时间达标率",
                               "up", Decimal("0.75")),
    "chest_pain.fmc_to_ecg": ("首次医疗接触至首份心电图平均时间", "First medical contact to first ECG, mean",
                              "minutes", "Σ(首份心电图完成 − 首次医疗接触) ÷ 胸痛患者数",
                              CHEST_PAIN_STANDARD + "：月平均 < 10 分钟", "down", Decimal("10")),
    "chest_pain.fmc_to_ecg_10_rate": ("首份心电图10分钟达标率", "First ECG within 10 minutes of first contact",
                                      "ratio", "首次医疗接触至首份心电图 ≤ 10 分钟的胸痛患者数 ÷ 胸痛患者数",
                                      CHEST_PAIN_STANDARD + "：达标率 ≥ 75%", "up", Decimal("0.75")),
    "chest_pain.ecg_to_diagnosis": ("首份心电图至确诊平均时间", "First ECG to STEMI diagnosis, mean", "minutes",
                                    "Σ(确诊STEMI − 首份心电图完成) ÷ STEMI患者数",
                                    CHEST_PAIN_STANDARD + "：月平均 < 10 分钟", "down", Decimal("10")),
    "chest_pain.cath_lab_activation": ("导管室激活时间", "Cath-lab activation time, mean", "minutes",
                                       "Σ(导管室激活完成（介入团队到位）− 启动导管室) ÷ 启动导管室的患者数",
                                       CHEST_PAIN_STANDARD + "：< 30 分钟", "down", Decimal("30")),
    "ems.prehospital_ecg_transmitted": ("院前心电图远程传输比例", "Pre-hospital ECG transmitted before arrival",
                                        "ratio",
                                        "到院前已传输心电图的经救护车入院STEMI患者数 ÷ 经救护车入院（呼叫120及转诊）STEMI患者数",
                                        CHEST_PAIN_STANDARD + "：≥ 30%", "up", Decimal("0.30")),
    "chest_pain.bypass_ed_rate": ("绕行急诊直达导管室比例", "Bypassing the emergency department to the cath lab",
                                  "ratio",
                                  "到院前被指示直达导管室的患者数 ÷ 经救护车入院且接受直接PCI的STEMI患者数",
                                  CHEST_PAIN_STANDARD + "：≥ 30%", "up", Decimal("0.30")),
    "stroke.dnt": ("静脉溶栓患者平均DNT", "Door-to-needle time, mean", "minutes",
                   "Σ(静脉溶栓给药 − 到达医院) ÷ 本院静脉溶栓患者数（不含院内发病、到院前已溶栓）",
                   STROKE_STANDARD + "：DNT ≤ 60 分钟", "down", Decimal("60")),
    "stroke.dnt_median": ("静脉溶栓DNT中位数", "Door-to-needle time, median", "minutes",
                          "静脉溶栓给药 − 到达医院 的中位数（同上人群）", STROKE_STANDARD, "down", None),
    "stroke.dnt_60_rate": ("DNT ≤ 60分钟比例", "Door-to-needle within 60 minutes", "ratio",
                           "DNT ≤ 60 分钟的患者数 ÷ 本院静脉溶栓患者数",
                           "神经系统疾病医疗质量控制指标（2020年版）· 到院到静脉溶栓给药时间 ≤ 60 分钟的比例", "up", None),
    "stroke.dnt_45_rate": ("DNT ≤ 45分钟比例", "Door-to-needle within 45 minutes", "ratio",
                           "DNT ≤ 45 分钟的患者数 ÷ 本院静脉溶栓患者数", "中国卒中中心 · 高级卒中中心 DNT ≤ 45 分钟",
                           "up", None),
    "stroke.door_to_ct": ("到院至CT平均时间", "Door to CT start, mean", "minutes",
                          "Σ(CT开始 − 到达医院) ÷ 卒中患者数（不含院内发病）",
                          "中国卒中中心评价标准 · 到院至影像检查（DIT）≤ 25 分钟", "down", Decimal("25")),
    "stroke.dpt": ("到院至股动脉穿刺平均时间（DPT）", "Door to groin puncture, mean", "minutes",
                   "Σ(股动脉穿刺 − 到达医院) ÷ 血管内治疗患者数（不含院内发病）",
                   "急性缺血性卒中再灌注治疗医疗质量评价与改进专家建议（2021）· DPT ≤ 90 分钟", "down", Decimal("90")),
    "ems.prearrival_notice_rate": ("院前预警率", "Pre-arrival notice rate", "ratio",
                                   "到院前收到院前预警的经救护车入院患者数 ÷ 经救护车入院（呼叫120及转诊）患者数（各中心）",
                                   "医联定义（《县域医共体急救体系建设规范专家共识》院前预警；胸痛、卒中中心认证标准的院前预警要求）",
                                   "up", None),
}

for _code, (_zh, _en, _unit, _formula, _source, _direction, _target) in META.items():
    register(Indicator(code=_code, name_zh=_zh, name_en=_en, unit=_unit, formula=_formula, source=_source,
                       direction=_direction, compute=_compute(_code), target=_target, tags=("emergency",)))
