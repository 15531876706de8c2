"""Remote consultation indicators (issue 5, part 5; seed 003: "remote consultations with top hospitals:
1,000+ patients, 200+ operations guided").

A consultation counts once it has happened, that is when its opinion was first signed (`signed_at`; an
amendment does not count it again), in the period of that signature, for the institution that asked for
it (the inviting side, 邀请方). Requests cancelled or never answered are not consultations that happened.
By mode and MDT: `consult.sync` + `consult.async` + `consult.mdt` = `consult.remote_consultations` (an MDT
consultation counts under MDT whatever its mode).

Definitions: 远程会诊 as 《远程医疗服务管理规范（试行）》(国卫医发〔2018〕25号) defines it — a medical
institution (邀请方) invites another (受邀方) to give diagnostic and treatment advice on its patient by
information technology; the remote consultation centre and MDT as functions of the consortium in
《紧密型县域医疗卫生共同体信息化功能指引》(资源共享 · 远程会诊). The counting rules are Yilian's (医联定义).
"""

from decimal import Decimal

from yilian.analytics.registry import Indicator, Scope, mean_minutes, ratio, register
from yilian.consults.models import Consultation, GuidedOperation, Mode, PartnerInstitution

GUIDE = "《远程医疗服务管理规范（试行）》国卫医发〔2018〕25号；《紧密型县域医疗卫生共同体信息化功能指引》远程会诊"


def _answered(scope: Scope):
    qs = Consultation.objects.filter(signed_at__gte=scope.start_at, signed_at__lt=scope.end_at)
    if scope.institution_ids is not None:
        qs = qs.filter(from_institution_id__in=scope.institution_ids)
    return qs


def remote_consultations(scope: Scope) -> int:
    """远程会诊例数（人次, one patient per consultation）: consultations whose opinion was first signed in
    the period, at the requesting institutions of the scope, every mode, MDT included. Source: 国卫医发〔2018〕25号 (远程会诊) and the
    consortium function 远程会诊 of 《紧密型县域医疗卫生共同体信息化功能指引》; counting rule 医联定义."""
    return _answered(scope).count()


def synchronous(scope: Scope) -> int:
    """同步（视频）远程会诊人次: as `remote_consultations`, synchronous (a scheduled video session), MDT
    excluded."""
    return _answered(scope).filter(mode=Mode.SYNC, mdt=False).count()


def asynchronous(scope: Scope) -> int:
    """异步远程会诊人次: as `remote_consultations`, asynchronous (the expert answers the file), MDT
    excluded."""
    return _answered(scope).filter(mode=Mode.ASYNC, mdt=False).count()


def mdt(scope: Scope) -> int:
    """远程多学科会诊（MDT）人次: as `remote_consultations`, MDT consultations (several experts, one
    conclusion), whatever the mode."""
    return _answered(scope).filter(mdt=True).count()


def with_partners(scope: Scope) -> int:
    """与上级协作医院远程会诊人次: as `remote_consultations`, answered by a lead expert of a partner hospital
    outside the county (seed 003 "remote consultations with top hospitals")."""
    partners = PartnerInstitution.objects.values("institution_id")
    return _answered(scope).filter(expert_institution_id__in=partners).count()


def signed_minutes(scope: Scope) -> Decimal | None:
    """远程会诊平均出具意见时间 (minutes): Σ(意见签署时间 − 申请时间) ÷ 已签署会诊数, over the
    consultations first signed in the period (the first signature, not an amendment). 医联定义; 国卫医发
    〔2018〕25号 asks the invited side to answer in good time (及时出具会诊意见)."""
    rows = _answered(scope).values_list("created_at", "signed_at")
    seconds = [(signed - requested).total_seconds() for requested, signed in rows]
    return mean_minutes(seconds)


def confirmed_share(scope: Scope) -> Decimal | None:
    """会诊意见确认率: consultations first signed in the period whose opinion the requesting doctor has
    confirmed ÷ consultations first signed in the period. 医联定义 (国卫医发〔2018〕25号: the inviting
    side's doctor stays responsible and decides on the opinion)."""
    answered = _answered(scope)
    return ratio(answered.filter(confirmed_at__isnull=False).count(), answered.count())


def guided_operations(scope: Scope) -> int:
    """远程手术指导例数（人次, one per procedure): procedures performed in the period at the scope's institutions
    under the guidance of an expert of another hospital of the consortium or a partner hospital, remote or
    on site. Seed 003 "200+ operations guided"; 《紧密型县域医疗卫生共同体信息化功能指引》远程医疗协作;
    counting rule 医联定义."""
    qs = GuidedOperation.objects.filter(performed_on__gte=scope.start, performed_on__lt=scope.end)
    if scope.institution_ids is not None:
        qs = qs.filter(institution_id__in=scope.institution_ids)
    return qs.count()


def _count(code: str, zh: str, en: str, formula: str, compute) -> None:
    register(Indicator(code=code, name_zh=zh, name_en=en, unit="count", formula=formula, source=GUIDE,
                       direction="up", compute=compute))


_count("consult.remote_consultations", "远程会诊例数", "Remote consultations",
       "期间首次签署会诊意见的远程会诊数（申请机构计，含MDT）", remote_consultations)
_count("consult.sync", "同步（视频）远程会诊例数", "Synchronous (video) consultations",
       "同上，同步视频会诊，不含MDT", synchronous)
_count("consult.async", "异步远程会诊例数", "Asynchronous consultations", "同上，异步会诊，不含MDT", asynchronous)
_count("consult.mdt", "远程多学科会诊（MDT）例数", "MDT consultations", "同上，多学科会诊", mdt)
_count("consult.partner_consultations", "与上级协作医院远程会诊例数", "Consultations with partner hospitals",
       "同上，由协作医院专家主持", with_partners)
register(Indicator(
    code="consult.signed_minutes", name_zh="远程会诊平均出具意见时间", name_en="Mean time to a signed opinion",
    unit="minutes", formula="Σ(首次签署意见时间 − 申请时间) ÷ 期间签署的会诊数", source=GUIDE, direction="down",
    compute=signed_minutes,
))
register(Indicator(
    code="consult.confirmed_share", name_zh="会诊意见确认率", name_en="Opinions confirmed by the requester",
    unit="ratio", formula="申请医生已确认的会诊数 ÷ 期间签署的会诊数", source=GUIDE, direction="up",
    compute=confirmed_share,
))
_count("consult.guided_operations", "远程手术指导例数", "Guided operations",
       "期间在本机构实施、由其他医院或协作医院专家指导的手术数", guided_operations)
