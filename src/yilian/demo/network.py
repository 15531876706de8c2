"""The network stage (issue 5, part 6): the period's two-way referrals, remote consultations with guided
operations, and remote diagnoses at the county hospital's four diagnostic centres, at the demo county's
scale (docs/demo.md "Referrals, consultations and remote diagnoses").

Everything is drawn from the visits already recorded (the encounters, in a stable order) with its own
stream `rng("network")`, and written through the apps' actions: the partner hospital and the centres through
`network.actions`, `consults.operations.do_register_partner` and `diagnostics.actions.do_set_up_centre`; the
past activity through the batch actions `referrals.batch`, `consults.batch` and `diagnostics.batch`, each as
the doctor (or desk) who did it, at the time it happened. A step that would fall on or after `today` is left
undone: the referral, consultation or study is still open at the end.
"""

import math
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from yilian.access.models import CareRelation
from yilian.analytics.registry import Scope
from yilian.care.models import Encounter
from yilian.consults import indicators as consult_ind
from yilian.consults.actions import NewConsultation
from yilian.consults.batch import PastConsultation, do_record_consultations, do_record_operations
from yilian.consults.operations import NewGuidedOperation, do_register_partner
from yilian.demo.data.departments import COUNTY_HOSPITAL
from yilian.demo.residents import Resident
from yilian.demo.world import SOURCE, Place, World
from yilian.diagnostics import indicators as diag_ind
from yilian.diagnostics.actions import NewStudy, do_set_up_centre
from yilian.diagnostics.batch import Instance, PastStudy, do_record_studies
from yilian.diagnostics.catalogue import CATALOGUE
from yilian.diagnostics.models import CentreKind, Priority
from yilian.network.acting import SYSTEM, actor_for_membership
from yilian.network.actions import (
    NewDepartment,
    NewInstitution,
    NewMembership,
    NewStaff,
    do_create_departments,
    do_create_institution,
    do_create_staff_many,
    do_grant_memberships,
)
from yilian.network.models import Consortium, Grade, InstitutionKind, Membership, Title
from yilian.network.roles import Role
from yilian.referrals import indicators as ref_ind
from yilian.referrals.actions import NewReferral
from yilian.referrals.batch import PastReferral, Step, do_escalate_many, do_refer_many, do_steps_many
from yilian.referrals.models import Urgency
from yilian.scheduling.models import Channel, Slot
from yilian.scheduling.slots import free_for

# --- the numbers ------------------------------------------------------------------------------------------
# Per visit recorded (so the volumes follow the residents and the months). A real county of ~500,000 sends
# some 10,000 patients up and 3,000 down a year, asks 1,000+ consultations with 200+ guided operations, and
# its centres read imaging 60,000 : ECG 6,000 : pathology 6,500 : lab 30,000 (seed figures). The demo
# county has 8,000 residents; these shares give a few hundred referrals and studies and some tens of
# consultations over six months (a denser network than pure scaling: the demo must show each feature).
UP_PER_GRASSROOTS_VISIT = 0.022
DOWN_PER_HOSPITAL_VISIT = (0.006, 0.024)  # first month → last month: down-referral grows (下转)
CONSULT_PER_TOWNSHIP_VISIT = 0.015
CONSULT_PER_COUNTY_VISIT = 0.004
STUDY_PER_TOWNSHIP_VISIT = 0.075
STUDY_KINDS = {CentreKind.IMAGING: 60000, CentreKind.ECG: 6000, CentreKind.PATHOLOGY: 6500, CentreKind.LAB: 30000}
GUIDED_SHARE = 0.2  # guided operations per consultation
# A small demo (the tests' 300 residents over one month) would show next to nothing: each family of activity
# has a floor, reached by raising its rates (several referrals or studies per visit, if need be). The first
# items of each family are the showcase cases (rejected, escalated, cancelled, redirected; critical values
# acknowledged in time and late; an amended report), so that every feature shows in any build.
FLOOR = {"up": 30, "down": 12, "consults": 16, "studies": 60}
SHOWCASE_REFERRALS = ("reject", "escalate", "cancel", "redirect")
SHOWCASE_STUDIES = ("critical", "critical_late", "amend")

CENTRES = {CentreKind.IMAGING: ("影像诊断中心", "医学影像科"), CentreKind.ECG: ("心电诊断中心", "心血管内科"),
           CentreKind.PATHOLOGY: ("病理诊断中心", "病理科"), CentreKind.LAB: ("医学检验中心", "医学检验科")}
PARTNER = NewInstitution(code="130100-P01", name="石门医科大学附属第一医院", short_name="石门医大一院",
                         kind=InstitutionKind.GENERAL_TERTIARY, grade=Grade.G3A, division_code="130100",
                         parent_code="130499-01", address="河北省石门市长安路89号")
PARTNER_DEPARTMENTS = ["心血管内科", "呼吸内科", "消化内科", "神经内科", "内分泌科", "普通外科", "骨科", "泌尿外科",
                       "妇产科", "儿科", "病理科", "医学影像科"]

# Diagnoses by the department that receives them (codes of referrals/data/icd10.csv).
UP_DIAGNOSES = {
    "心血管内科": ["I20.0", "I21.9", "I48", "I50.9", "I11.9", "I25.1"], "呼吸内科": ["J18.9", "J44.1", "J45.9", "C34.9"],
    "消化内科": ["K92.2", "K74.6", "K25.9", "K85.9"], "神经内科": ["I63.9", "G45.9", "I61.9", "G40.9"],
    "内分泌科": ["E11.2", "E11.4", "E05.9"], "普通外科": ["K35.8", "K80.2", "K81.0", "K56.7", "K40.9"],
    "骨科": ["S72.0", "S82.2", "S32.0", "M51.2", "M48.0"], "泌尿外科": ["N20.0", "N40"],
    "妇产科": ["O14.1", "O20.0", "D25.9"], "儿科": ["J18.9", "P59.9", "A09.9"],
    "中医内科": ["I69.3", "M54.5", "K29.7"], "产科": ["O14.1", "O44.1", "O20.0"], "妇科": ["D25.9", "C53.9"],
    "全科医疗科": ["I10", "E11.9", "J44.9", "M17.9"],
}
UP_REASONS = ["基层无法明确诊断，需进一步检查", "病情加重，需专科治疗", "需住院治疗，基层无相应床位", "需手术治疗",
              "疑似急危重症，需上级医院救治", "慢病控制不佳，需专科调整方案"]
DOWN_DIAGNOSES = {"county": ["I10", "E11.9", "I69.3", "Z54.0", "J44.9", "I25.1", "S72.0", "N18.9"],
                  "tcm": ["I69.3", "M54.5", "M17.9", "Z54.0"], "mch": ["O80.0", "P07.3", "Z54.0"]}
FOLLOW_UP = {"I10": "每周测血压2次，服药依从性随访，1个月后复诊", "E11.9": "空腹及餐后血糖监测，饮食运动指导，3个月复查糖化血红蛋白",
             "I69.3": "康复训练指导，防跌倒，每2周随访肢体功能", "Z54.0": "伤口换药，术后2周拆线，出现发热及时复诊",
             "J44.9": "规律吸入治疗，家庭氧疗指导，1个月随访", "I25.1": "规律服用抗血小板及他汀，1个月复诊",
             "S72.0": "康复训练，预防深静脉血栓，6周复查X线", "N18.9": "监测血压及肾功能，低盐低蛋白饮食，1个月复诊",
             "M54.5": "针灸推拿巩固，腰背肌锻炼，2周随访", "M17.9": "关节功能锻炼，控制体重，1个月随访",
             "O80.0": "产后访视（3、7、28天），母乳喂养指导", "P07.3": "早产儿家庭访视，体重监测，按时预防接种"}
REJECT_UP = ["本院床位已满，建议转上级医院", "病情不符合转诊标准，建议基层继续治疗", "资料不全，请补充近期检查结果"]
REJECT_DOWN = ["患者尚需住院观察", "本院暂不具备康复条件"]
CANCEL = ["患者拒绝转诊", "病情好转，暂不转诊", "家属要求转往他院"]
REDIRECT = "该病种由专科医院收治"
CONSULT_QUESTIONS = ["胸片示右下肺阴影，抗感染治疗1周效果不佳，下一步诊疗方案？", "血糖控制不佳，胰岛素方案如何调整？",
                     "反复胸闷，心电图ST段改变，是否需要上转行冠脉造影？", "腰腿痛伴下肢麻木，保守治疗还是手术？",
                     "慢性咳嗽3个月，CT示肺结节，请指导随访方案", "高龄患者多病共存，用药方案请会诊调整",
                     "儿童反复发热，血常规异常，请协助诊断"]
OPINIONS = ["建议完善相关检查后调整治疗方案，2周后复诊", "考虑诊断明确，维持现方案，加强随访",
            "建议上转至县人民医院专科进一步诊治", "调整用药如下，1周后复查并反馈"]
PROCEDURES = ["清创缝合术", "体表肿物切除术", "腹股沟疝修补术", "阑尾切除术", "胃镜检查", "骨折闭合复位外固定术",
              "宫颈锥切术", "肛周脓肿切开引流术"]
SPECIMENS = {"LAB-CBC": "全血", "LAB-BIOCHEM": "血清", "LAB-COAG": "枸橼酸钠抗凝血", "LAB-TNI": "血清",
             "PATH-BIOPSY": "组织", "PATH-TCT": "宫颈脱落细胞"}
EXAMS = {CentreKind.IMAGING: [("DR-CHEST", 45), ("DR-LSPINE", 14), ("CT-HEAD", 12), ("CT-CHEST", 12), ("CT-ABD", 5),
                              ("US-ABD", 10), ("MR-HEAD", 2)],
         CentreKind.ECG: [("ECG-12", 85), ("ECG-HOLTER", 15)],
         CentreKind.PATHOLOGY: [("PATH-BIOPSY", 55), ("PATH-TCT", 45)],
         CentreKind.LAB: [("LAB-BIOCHEM", 40), ("LAB-CBC", 30), ("LAB-COAG", 15), ("LAB-TNI", 15)]}
MODALITY = {"DR-CHEST": "DX", "DR-LSPINE": "DX", "CT-HEAD": "CT", "CT-CHEST": "CT", "CT-ABD": "CT", "US-ABD": "US",
            "MR-HEAD": "MR", "ECG-12": "ECG", "ECG-HOLTER": "ECG"}
IMAGES = {"DX": (1, 2), "US": (4, 12), "CT": (30, 90), "MR": (40, 96), "ECG": (1, 1)}
UID_ROOT = "1.2.826.0.1.3680043.10.499"  # a demo root under the pydicom organisation's test arc


@dataclass
class Visit:
    pk: int
    patient_id: int
    place: Place
    department: str
    doctor: Membership
    start: datetime
    end: datetime


@dataclass
class Net:
    """What the stage has set up: the partner hospital's doctors and the centres."""

    partner_id: int = 0
    partner_doctors: dict[str, Membership] = field(default_factory=dict)
    centres: dict[str, object] = field(default_factory=dict)
    readers: dict[str, list[Membership]] = field(default_factory=dict)


def _mins(rng: random.Random, low: float, high: float) -> timedelta:
    """A log-uniform duration in minutes: most short, some long."""
    return timedelta(minutes=math.exp(rng.uniform(math.log(low), math.log(high))))


def _draws(rng: random.Random, p: float) -> int:
    """How many items one visit gives at a mean rate `p` (which a floor may have raised above 1)."""
    whole = int(p)
    return whole + (1 if rng.random() < p - whole else 0)


def _boost(base: float, candidates: int, floor: int) -> float:
    """The factor that lifts a family's expected count to its floor."""
    expected = base * candidates
    return max(1.0, floor / expected) if expected else 1.0


def _pick(rng: random.Random, weighted) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


# --- set-up ---------------------------------------------------------------------------------------------


def set_up(world: World) -> Net:
    """The partner hospital in the provincial capital (its experts answer consultations) and the county
    hospital's four diagnostic centres."""
    net = Net()
    county = world.places["county"].institution
    consortium = Consortium.objects.get(pk=county.consortium_id)
    partner = do_create_institution(SYSTEM, consortium, PARTNER)
    specs = {d.name: d for d in COUNTY_HOSPITAL}
    departments = do_create_departments(SYSTEM, [NewDepartment(partner.pk, specs[n].subject, n)
                                                 for n in PARTNER_DEPARTMENTS])
    fake, rng = world.faker("partner"), world.rng("partner")
    people = [NewStaff(username=f"ylp{i + 1:03d}", name=fake.name(), title=rng.choice(
        [Title.CHIEF_PHYSICIAN, Title.ASSOC_CHIEF_PHYSICIAN]), licence_no=f"1101301000{i + 1:05d}")
        for i in range(len(departments))]
    people.append(NewStaff(username="ylp900", name=fake.name(), title=Title.ADMINISTRATOR))
    staff = do_create_staff_many(SYSTEM, people)
    grants = [NewMembership(s.pk, partner.pk, Role.DOCTOR, d.pk) for s, d in zip(staff, departments, strict=False)]
    grants.append(NewMembership(staff[-1].pk, partner.pk, Role.REGISTRAR))
    do_grant_memberships(SYSTEM, grants)
    sysadmin = Membership.objects.select_related("staff__user").get(role=Role.SYSADMIN)
    do_register_partner(actor_for_membership(sysadmin, source=SOURCE), partner.pk, world.start - timedelta(days=400),
                        "远程会诊与手术指导协作协议")
    net.partner_id = partner.pk
    for m in Membership.objects.filter(institution=partner, role=Role.DOCTOR).select_related("staff__user",
                                                                                             "department"):
        net.partner_doctors[m.department.name] = m
    place = world.places["county"]
    serves = [p.institution.pk for p in world.places.values() if p.key != "county"]
    members = Membership.objects.filter(institution=county, active=True).select_related("staff__user", "department")
    for kind, (name, department) in CENTRES.items():
        net.centres[kind] = do_set_up_centre(SYSTEM, institution_id=county.pk, kind=kind, name=f"县人民医院{name}",
                                             department_id=place.departments[department].pk, serves=serves)
        roles = {Role.DOCTOR, Role.TECHNICIAN} if kind == CentreKind.LAB else {Role.DOCTOR}
        net.readers[kind] = sorted((m for m in members if m.department_id == place.departments[department].pk
                                    and m.role in roles), key=lambda m: m.pk)
    return net


def visits_of(world: World) -> list[Visit]:
    """The period's finished encounters whose patient the institution still cares for, with the membership of
    the doctor who saw them, in a stable order."""
    by_pk = {p.institution.pk: p for p in world.places.values()}
    caring = set(CareRelation.objects.filter(until__isnull=True).values_list("patient_id", "institution_id"))
    out = []
    rows = Encounter.objects.filter(patient__merged_into__isnull=True, end__isnull=False,
                                    practitioner__isnull=False).order_by("start", "pk").values_list(
        "pk", "patient_id", "institution_id", "department__name", "practitioner_id", "start", "end")
    for pk, patient_id, institution_id, department, doctor, start, end in rows:
        place = by_pk.get(institution_id)
        member = place.doctor_memberships.get(doctor) if place else None
        if member is None or (patient_id, institution_id) not in caring:
            continue
        out.append(Visit(pk, patient_id, place, department, member, start, end))
    return out


# --- referrals ------------------------------------------------------------------------------------------


def _doctor(rng: random.Random, place: Place, department: str) -> Membership:
    ids = place.doctors.get(department) or place.doctors["全科医疗科" if "全科医疗科" in place.doctors else
                                                         sorted(place.doctors)[0]]
    return place.doctor_memberships[rng.choice(ids)]


def _up_target(world: World, rng: random.Random, visit: Visit, resident: Resident | None) -> tuple[Place, str]:
    if visit.place.kind == "village" and rng.random() < 0.45:
        return world.places[visit.place.township], "全科医疗科"
    female = resident is not None and resident.sex == "F"
    child = resident is not None and resident.age(world.today) < 14
    roll = rng.random()
    if (female or child) and roll < 0.3:
        return world.places["mch"], "儿科" if child else rng.choice(["妇科", "产科"] if resident.age(world.today) < 45
                                                                 else ["妇科"])
    if roll < 0.12:
        return world.places["tcm"], "中医内科"
    if child:
        return world.places["county"], "儿科"
    return world.places["county"], rng.choice([d for d in UP_DIAGNOSES if d in world.places["county"].departments
                                               and d not in ("儿科", "妇产科")])


@dataclass
class Plan:
    at: datetime
    sender: Membership
    data: NewReferral
    receiver: Membership
    steps: list[tuple[str, datetime, str]]  # (kind, at, reason) by the receiver, or cancel by the sender
    escalate: datetime | None = None
    redirect_to: tuple[Place, Membership] | None = None
    then: list[tuple[str, datetime]] = field(default_factory=list)  # steps at the institution redirected to
    pk: int = 0


def _timeline(rng: random.Random, urgency: str, sent: datetime, setting: str, down: bool, late: bool = False):
    """Acceptance (with escalation past the deadline), arrival and closure times."""
    from yilian.referrals.actions import DEADLINE

    deadline = sent + DEADLINE[urgency]
    late = rng.random() < 0.05 or late
    limit = DEADLINE[urgency].total_seconds() / 60
    if late:
        accepted = deadline + _mins(rng, 5, 240)
    else:
        accepted = sent + _mins(rng, 2, limit * (0.25 if urgency == Urgency.ROUTINE else 0.8))
    escalate = deadline + timedelta(minutes=rng.randint(1, 4)) if late else None
    if urgency == Urgency.EMERGENCY:
        arrived = accepted + _mins(rng, 20, 120)
    elif urgency == Urgency.URGENT:
        arrived = accepted + _mins(rng, 60, 600)
    else:
        arrived = accepted + timedelta(days=rng.choice([0, 1, 1, 2, 3]), minutes=rng.randint(30, 300))
    stay = timedelta(days=rng.randint(3, 12)) if setting == "inpatient" and not down else _mins(rng, 40, 300)
    return accepted, escalate, arrived, arrived + stay


def plan_referrals(world: World, visits: list[Visit], residents: dict[int, Resident]) -> list[Plan]:
    rng = world.rng("network")
    span = max((world.today - world.start).days, 1)
    low, high = DOWN_PER_HOSPITAL_VISIT
    up_boost = _boost(UP_PER_GRASSROOTS_VISIT, sum(v.place.kind in ("village", "township") for v in visits),
                      FLOOR["up"])
    down_boost = _boost((low + high) / 2, sum(v.place.key in DOWN_DIAGNOSES for v in visits), FLOOR["down"])
    plans = []
    ups = 0
    for visit in visits:
        kind = visit.place.kind
        progress = (visit.start.date() - world.start).days / span
        if kind in ("village", "township"):
            for _n in range(_draws(rng, UP_PER_GRASSROOTS_VISIT * up_boost)):
                force = SHOWCASE_REFERRALS[ups] if ups < len(SHOWCASE_REFERRALS) else None
                plans.append(_plan_up(world, rng, visit, residents.get(visit.patient_id), force))
                ups += 1
        elif visit.place.key in DOWN_DIAGNOSES:
            resident = residents.get(visit.patient_id)
            for _n in range(_draws(rng, (low + (high - low) * progress) * down_boost)):
                if resident is not None:
                    plans.append(_plan_down(world, rng, visit, resident))
    return plans


def _plan_up(world, rng, visit: Visit, resident, force: str | None = None) -> Plan:
    target, department = _up_target(world, rng, visit, resident)
    if force == "redirect":
        target, department = world.places["county"], "神经内科"
    urgency = _pick(rng, [(Urgency.ROUTINE, 62), (Urgency.URGENT, 31), (Urgency.EMERGENCY, 7)])
    setting = "inpatient" if target.kind != "township" and rng.random() < 0.4 else "outpatient"
    code = rng.choice(UP_DIAGNOSES.get(department, UP_DIAGNOSES["全科医疗科"]))
    sent = visit.end + timedelta(minutes=rng.randint(3, 40))
    data = NewReferral(patient_id=visit.patient_id, direction="up", setting=setting, urgency=urgency,
                       to_institution_id=target.institution.pk, diagnosis_code=code, reason=rng.choice(UP_REASONS),
                       to_department_id=target.departments[department].pk, summary="病史、查体及基层处置经过见共享就诊记录",
                       shared=[{"type": "encounter", "id": visit.pk}], bed_requested=setting == "inpatient")
    receiver = _doctor(rng, target, department)
    plan = Plan(sent, visit.doctor, data, receiver, [])
    _outcome(world, rng, plan, visit, target, REJECT_UP, down=False, force=force)
    return plan


def _plan_down(world, rng, visit: Visit, resident: Resident) -> Plan:
    target = world.places[resident.township]
    code = rng.choice(DOWN_DIAGNOSES[visit.place.key])
    setting = "inpatient" if rng.random() < 0.6 else "outpatient"
    family = _doctor(rng, target, "全科医疗科")
    sent = visit.end + (timedelta(days=rng.randint(3, 9)) if setting == "inpatient" else
                        timedelta(minutes=rng.randint(5, 60)))
    data = NewReferral(patient_id=visit.patient_id, direction="down", setting=setting, urgency=Urgency.ROUTINE,
                       to_institution_id=target.institution.pk, diagnosis_code=code,
                       reason="病情稳定，转回基层康复及慢病管理", to_department_id=target.departments["全科医疗科"].pk,
                       summary="诊治经过、出院（门诊）诊断及用药见共享就诊记录", shared=[{"type": "encounter", "id": visit.pk}],
                       follow_up_plan=FOLLOW_UP.get(code, "按出院医嘱随访，1个月复诊"), follow_up_staff_id=family.staff_id)
    plan = Plan(sent, visit.doctor, data, family, [])
    _outcome(world, rng, plan, visit, target, REJECT_DOWN, down=True)
    return plan


def _outcome(world: World, rng: random.Random, plan: Plan, visit: Visit, target: Place, rejections, down: bool,
             force: str | None = None):
    """Most accepted, arrived and closed; some rejected with a reason, a few redirected, some cancelled, a few
    escalated past the deadline."""
    roll = rng.random()
    roll = {"reject": 0.0, "cancel": 0.07, "redirect": 0.11, "escalate": 0.5}.get(force, roll)
    data = plan.data
    accepted, escalate, arrived, closed = _timeline(rng, data.urgency, plan.at, data.setting, down,
                                                    late=force == "escalate")
    if roll < (0.02 if down else 0.06):
        at = min(accepted, plan.at + _mins(rng, 10, 300))
        plan.steps = [("reject", at, rng.choice(rejections))]
        return
    if roll < (0.04 if down else 0.10):
        plan.steps = [("cancel", plan.at + _mins(rng, 15, 600), rng.choice(CANCEL))]
        if roll < (0.03 if down else 0.08):  # cancelled after acceptance
            plan.steps.insert(0, ("accept", plan.at + _mins(rng, 3, 12), ""))
        return
    if not down and target.key in ("county", "mch") and roll < 0.13:
        other = world.places["tcm"] if target.key == "county" else world.places["county"]
        department = "中医内科" if other.key == "tcm" else "妇产科"
        plan.redirect_to = (other, _doctor(rng, other, department))
        plan.steps = [("redirect", plan.at + _mins(rng, 5, 90), REDIRECT)]
        start = plan.steps[0][1]
        plan.then = [("accept", start + _mins(rng, 5, 60)), ("arrive", start + _mins(rng, 120, 900))]
        plan.then.append(("close", plan.then[-1][1] + _mins(rng, 40, 240)))
        return
    plan.escalate = escalate
    plan.steps = [("accept", accepted, ""), ("arrive", arrived, ""), ("close", closed, "")]
    if rng.random() < 0.5:  # a patient who comes straight away: arrival accepts
        plan.steps = plan.steps[1:] if data.urgency == Urgency.EMERGENCY and not escalate else plan.steps


def _reserve(world: World, plans: list[Plan], end_at: datetime) -> int:
    """Outpatient referrals up sent in the last week take a referral place at the county hospital after
    `today` when its clinic has one (past slots cannot be booked)."""
    county = world.places["county"].institution.pk
    reserved = 0
    for plan in plans:
        d = plan.data
        if (d.direction != "up" or d.setting != "outpatient" or d.to_institution_id != county or plan.redirect_to
                or plan.at < end_at - timedelta(days=7) or any(k in ("reject", "cancel") for k, _a, _r in plan.steps)):
            continue
        slot = Slot.objects.filter(free_for(Channel.REFERRAL, plan.at), schedule__institution_id=county,
                                   schedule__department_id=d.to_department_id, start__gte=end_at,
                                   referral_booked__lt=1).order_by("start", "pk").first()
        if slot is None:
            continue
        d.slot_id, d.to_staff_id = slot.pk, slot.schedule.doctor_id
        plan.steps = [s for s in plan.steps if s[0] == "accept"]  # the appointment is still to come
        plan.escalate = None
        reserved += 1
    return reserved


def write_referrals(world: World, plans: list[Plan], end_at: datetime) -> dict[str, int]:
    plans.sort(key=lambda p: (p.at, p.data.patient_id))
    plans[:] = [p for p in plans if p.at < end_at]
    reserved = _reserve(world, plans, end_at)
    by_sender: dict[int, list[Plan]] = defaultdict(list)
    for plan in plans:
        by_sender[plan.sender.pk].append(plan)
    for group in by_sender.values():
        actor = actor_for_membership(group[0].sender, source=SOURCE)
        for plan, referral in zip(group, do_refer_many(actor, [PastReferral(p.data, p.at) for p in group]),
                                  strict=True):
            plan.pk = referral.pk
    escalations = []
    for plan in plans:
        first = plan.steps[0][1] if plan.steps else end_at
        if plan.escalate and plan.escalate < min(first, end_at):
            escalations.append((plan.pk, plan.escalate))
    do_escalate_many(escalations)
    rounds: list[dict[int, tuple[Membership, list[Step]]]] = [{} for _r in range(4)]
    for plan in plans:  # the k-th step of every referral in round k, so that each referral's steps keep their order
        for k, (kind, at, reason) in enumerate(plan.steps):
            if at >= end_at:
                break
            who = plan.sender if kind == "cancel" else plan.receiver
            target, department = None, None
            if kind == "redirect":
                other = plan.redirect_to[0]
                target = other.institution.pk
                department = other.departments["中医内科" if other.key == "tcm" else "妇产科"].pk
            rounds[k].setdefault(who.pk, (who, []))[1].append(Step(plan.pk, kind, at, reason, target, department))
        if plan.redirect_to and plan.steps[0][1] < end_at:
            who = plan.redirect_to[1]
            for k, (kind, at) in enumerate(plan.then, start=1):
                if at >= end_at:
                    break
                rounds[k].setdefault(who.pk, (who, []))[1].append(Step(plan.pk, kind, at))
    for batch in rounds:
        for _pk, (who, items) in sorted(batch.items()):
            do_steps_many(actor_for_membership(who, source=SOURCE), items)
    return {"referrals.up": sum(1 for p in plans if p.data.direction == "up"),
            "referrals.down": sum(1 for p in plans if p.data.direction == "down"),
            "referrals.rejected": sum(1 for p in plans if p.steps and p.steps[0][0] == "reject"
                                      and p.steps[0][1] < end_at),
            "referrals.redirected": sum(1 for p in plans if p.redirect_to and p.steps[0][1] < end_at),
            "referrals.cancelled": sum(1 for p in plans if any(k == "cancel" and a < end_at for k, a, _r in p.steps)),
            "referrals.escalated": len(escalations), "referrals.reserved": reserved}


# --- consultations and guided operations ----------------------------------------------------------------


def _experts(world: World, net: Net) -> list[Membership]:
    """Senior doctors of the county hospital's clinical departments (the centre's experts)."""
    county = world.places["county"]
    senior = {Title.CHIEF_PHYSICIAN, Title.ASSOC_CHIEF_PHYSICIAN}
    out = []
    for department in sorted(UP_DIAGNOSES):
        for staff_id in sorted(county.doctors.get(department, [])):
            if county.titles.get(staff_id) in senior:
                out.append(county.doctor_memberships[staff_id])
    return out


def plan_consultations(world: World, net: Net, visits: list[Visit], end_at: datetime):
    rng = world.rng("network.consults")
    experts = _experts(world, net)
    county = world.places["county"]
    desk = county.registrars[0]
    partner = sorted(net.partner_doctors.values(), key=lambda m: m.pk)
    items: dict[int, list[PastConsultation]] = defaultdict(list)
    doctors: dict[int, Membership] = {}
    rate = {"township": CONSULT_PER_TOWNSHIP_VISIT, "county": CONSULT_PER_COUNTY_VISIT}
    expected = sum(rate.get(v.place.kind, 0) for v in visits)
    boost = max(1.0, FLOOR["consults"] / expected) if expected else 1.0
    for visit, _n in ((v, n) for v in visits for n in range(_draws(rng, rate.get(v.place.kind, 0) * boost))):
        kind = visit.place.kind
        at = visit.end + timedelta(minutes=rng.randint(10, 90))
        mdt = rng.random() < 0.12
        sync = rng.random() < 0.4
        urgency = _pick(rng, [("routine", 75), ("urgent", 22), ("emergency", 3)])
        session = at + timedelta(hours=rng.randint(2, 48)) if sync else None
        data = NewConsultation(patient_id=visit.patient_id, target="centre", mode="sync" if sync else "async",
                               urgency=urgency, question=rng.choice(CONSULT_QUESTIONS),
                               summary="病史、体征、检查结果见附带就诊记录", consent=True, mdt=mdt,
                               shared=[{"type": "encounter", "id": visit.pk}], session_start=session,
                               session_minutes=rng.choice([30, 45, 60]) if sync else None)
        lead_by = None
        if kind == "county":  # the lead institution asks the partner hospital
            lead = rng.choice(partner)
            data.target, data.to_institution_id = "expert", net.partner_id
            data.to_staff_id = lead.staff_id
        else:
            roll = rng.random()
            lead = rng.choice(experts)
            if roll < 0.15:
                lead = rng.choice(partner)
                data.target, data.to_institution_id, data.to_staff_id = "expert", net.partner_id, lead.staff_id
            elif roll < 0.4:
                data.target, data.to_institution_id = "department", county.institution.pk
                data.to_department_id = lead.department_id
            elif roll < 0.6:
                lead_by = desk
        taken = at + _mins(rng, 8, 360 if urgency == "routine" else 60)
        item = PastConsultation(data=data, at=at, expert=lead, taken_at=taken, desk=lead_by)
        if mdt:
            pool = partner if kind == "county" else experts
            others = [m for m in pool if m.department_id != lead.department_id and m.staff_id != lead.staff_id]
            item.panel = sorted(((m, taken + _mins(rng, 20, 600), "同意主诊意见，补充专科建议见会诊记录")
                                 for m in rng.sample(others, 2)), key=lambda p: p[1])
        ready = max([taken] + [c for _m, c, _t in item.panel])
        if session is not None:
            ready = max(ready, session + timedelta(minutes=data.session_minutes))
        item.drafted_at = ready + _mins(rng, 5, 240)
        item.signed_at = item.drafted_at + _mins(rng, 3, 60)
        item.opinion, item.recommendation = rng.choice(OPINIONS), "请申请方根据患者情况执行并反馈"
        roll = rng.random()
        if roll < 0.05:  # cancelled: the patient went elsewhere
            item.expert = item.taken_at = item.desk = None
            item.panel, item.drafted_at, item.signed_at = [], None, None
            item.cancelled_at, item.cancel_reason = at + _mins(rng, 5, 120), "患者已自行转诊上级医院"
        else:
            if roll < 0.1:
                item.amendment = (item.signed_at + _mins(rng, 30, 1440), item.opinion + "（补充：剂量及复诊时间见建议）",
                                  "补充用药剂量及复诊时间")
            if rng.random() < 0.92:
                item.confirmed_at = (item.amendment[0] if item.amendment else item.signed_at) + _mins(rng, 10, 2880)
        _truncate(item, end_at)
        items[visit.doctor.pk].append(item)
        doctors[visit.doctor.pk] = visit.doctor
    return items, doctors


def _truncate(item: PastConsultation, end_at: datetime) -> None:
    """Steps at or after `today` have not happened yet."""
    if item.confirmed_at and item.confirmed_at >= end_at:
        item.confirmed_at = None
    if item.amendment and item.amendment[0] >= end_at:
        item.amendment = None
    if item.signed_at and item.signed_at >= end_at:
        item.signed_at, item.amendment, item.confirmed_at = None, None, None
    if item.drafted_at and item.drafted_at >= end_at:
        item.drafted_at = None
    if item.panel and any(at >= end_at for _m, at, _t in item.panel):
        item.panel = [p for p in item.panel if p[1] < end_at]
    if item.taken_at and item.taken_at >= end_at:
        item.expert = item.taken_at = item.desk = None
        item.panel, item.drafted_at = [], None
    if item.cancelled_at and item.cancelled_at >= end_at:
        item.cancelled_at = None


def write_consultations(world: World, net: Net, visits: list[Visit], end_at: datetime) -> dict[str, int]:
    items, doctors = plan_consultations(world, net, visits, end_at)
    made = []
    for pk in sorted(items):
        actor = actor_for_membership(doctors[pk], source=SOURCE)
        group = [i for i in items[pk] if i.at < end_at]
        if group:
            made += list(zip(group, do_record_consultations(actor, group), strict=True))
    operations = _operations(world, net, made, visits, end_at)
    answered = [c for _i, c in made if c.signed_at]
    return {"consults.requested": len(made), "consults.signed": len(answered),
            "consults.mdt": sum(1 for _i, c in made if c.mdt), "consults.sync": sum(1 for _i, c in made if c.mode == "sync"),
            "consults.cancelled": sum(1 for _i, c in made if c.cancelled_at),
            "consults.amended": sum(1 for i, _c in made if i.amendment), "consults.guided_operations": operations}


def _operations(world: World, net: Net, made, visits: list[Visit], end_at: datetime) -> int:
    """About one guided operation per five consultations, at the township centres, guided by a county or
    partner surgeon; some follow a consultation of the same patient."""
    rng = world.rng("network.operations")
    county = world.places["county"]
    surgeons = [county.doctor_memberships[s] for d in ("普通外科", "骨科", "妇产科") for s in sorted(county.doctors[d])]
    partner = [m for d, m in sorted(net.partner_doctors.items()) if d in ("普通外科", "骨科", "妇产科")]
    township = [v for v in visits if v.place.kind == "township" and v.department == "全科医疗科"]
    target = round(len(made) * GUIDED_SHARE)
    linked = [c for _i, c in made if c.signed_at and c.from_institution_id != county.institution.pk]
    chosen: list[tuple[Visit, object]] = []
    for c in rng.sample(linked, min(len(linked), target // 2)):
        visit = next((v for v in township if v.patient_id == c.patient_id and v.place.institution.pk ==
                      c.from_institution_id), None)
        if visit is not None:
            chosen.append((visit, c))
    for visit in rng.sample(township, min(len(township), target - len(chosen))):
        chosen.append((visit, None))
    groups: dict[int, list] = defaultdict(list)
    for visit, consultation in chosen:
        day = (consultation.signed_at if consultation else visit.end) + timedelta(days=rng.randint(0, 5))
        recorded = day + _mins(rng, 60, 600)
        if recorded >= end_at:
            continue
        expert = rng.choice(partner) if rng.random() < 0.2 else rng.choice(surgeons)
        outcome = _pick(rng, [("completed", 88), ("complication", 5), ("converted", 2), ("transferred", 5)])
        data = NewGuidedOperation(
            patient_id=visit.patient_id, procedure=rng.choice(PROCEDURES), performed_on=timezone.localtime(day).date(),
            mode="remote" if rng.random() < 0.7 else "onsite", expert_staff_id=expert.staff_id,
            expert_institution_id=expert.institution_id, operator_staff_id=visit.doctor.staff_id, outcome=outcome,
            consultation_id=consultation.pk if consultation else None,
            department_id=visit.place.departments["全科医疗科"].pk)
        groups[visit.doctor.pk].append((visit.doctor, data, recorded))
    count = 0
    for pk in sorted(groups):
        doctor = groups[pk][0][0]
        count += len(do_record_operations(actor_for_membership(doctor, source=SOURCE),
                                          [(d, r) for _m, d, r in groups[pk]]))
    return count


# --- remote diagnoses -----------------------------------------------------------------------------------


def _study(world: World, net: Net, rng: random.Random, visit: Visit, serial: int, force: str | None) -> PastStudy:
    kind = _pick(rng, list(STUDY_KINDS.items()))
    exam = CATALOGUE[_pick(rng, EXAMS[kind])]
    if force:
        kind, exam = CentreKind.IMAGING, CATALOGUE["DR-CHEST"]
    priority = _pick(rng, [(Priority.ROUTINE, 80), (Priority.URGENT, 15), (Priority.STAT, 5)])
    at = visit.start + timedelta(minutes=rng.randint(10, 50))
    data = NewStudy(patient_id=visit.patient_id, centre_id=net.centres[kind].pk, exam_type=exam.code,
                    encounter_id=visit.pk, priority=priority, clinical_info="症状、体征及初步诊断见就诊记录")
    item = PastStudy(data=data, at=at, reader=rng.choice(net.readers[kind]))
    fast = {Priority.STAT: 0.25, Priority.URGENT: 0.5, Priority.ROUTINE: 1}[priority]
    if kind in (CentreKind.IMAGING, CentreKind.ECG):
        modality = MODALITY[exam.code]
        low, high = IMAGES[modality]
        uid = f"{UID_ROOT}.{world.seed}.{serial}"
        study_date = timezone.localtime(at).date()
        item.instances = [Instance(uid, f"{uid}.{k + 1}", modality, exam.name[:16], study_date)
                          for k in range(rng.randint(low, high))]
        item.claimed_at = at + _mins(rng, 2, 90 * fast)
    else:
        data.specimen_barcode = f"{visit.place.key[-3:]}{serial:07d}"
        data.specimen_type = SPECIMENS.get(exam.code, "血液")
        data.specimen_count = rng.randint(1, 3)
        data.specimen_site = "宫颈" if exam.code == "PATH-TCT" else rng.choice(["胃窦", "皮肤", "乳腺", "甲状腺", "结肠"])
        data.collected_at = at - timedelta(minutes=rng.randint(5, 30))
        courier = _mins(rng, 60, 240) if kind == CentreKind.LAB else _mins(rng, 240, 1440)
        item.received_at = at + courier
        item.claimed_at = item.received_at + _mins(rng, 5, 60 * fast)
    roll = 0.5 if force else rng.random()
    if roll < 0.012:  # cancelled before anyone reads it
        item.received_at = item.claimed_at = None
        item.cancelled = (at + _mins(rng, 5, 60), "患者拒绝检查")
        return item
    if roll < 0.03:
        item.claimed_at = None
        when = (item.received_at or at) + _mins(rng, 5, 60)
        item.rejected = (when, "标本溶血，请重新采集" if kind == CentreKind.LAB else "图像质量不符合诊断要求，请重新采集")
        return item
    reading = {CentreKind.IMAGING: (5, 30), CentreKind.ECG: (2, 15), CentreKind.LAB: (20, 90),
               CentreKind.PATHOLOGY: (1440, 5760)}[kind]
    item.drafted_at = item.claimed_at + _mins(rng, *reading)
    item.signed_at = item.drafted_at + _mins(rng, 2, 30)
    item.findings, item.impression = exam.findings, exam.impression
    if exam.critical and (rng.random() < 0.06 or force in ("critical", "critical_late")):
        flagged = item.claimed_at + (item.drafted_at - item.claimed_at) / 2
        item.critical = (rng.choice(exam.critical), flagged)
        late = rng.random() < 0.18 if force != "critical" else False
        late = late or force == "critical_late"
        ack = flagged + (_mins(rng, 17, 120) if late else _mins(rng, 1.5, 14))
        item.acknowledged = (visit.doctor, ack, "已复读确认，电话通知患者返院并处置")
        if late:
            item.escalated_at = flagged + timedelta(minutes=rng.randint(15, 16), seconds=30)
        item.impression = f"{item.critical[0]}。请临床紧急处理。"
    if rng.random() < 0.025 or force == "amend":
        opened = item.signed_at + _mins(rng, 30, 2880)
        item.amendment = (opened, "补充描述/更正测量值", item.impression + "（更正）", opened + _mins(rng, 5, 40))
    return item


def _cut(item: PastStudy, end_at: datetime) -> bool:
    """Leave undone what falls at or after `today`; False when the study itself is not yet submitted."""
    if item.at >= end_at:
        return False
    if item.amendment and item.amendment[3] >= end_at:
        item.amendment = None
    if item.critical:
        if item.acknowledged and item.acknowledged[1] >= end_at:
            item.acknowledged = None
        if item.escalated_at and item.escalated_at >= end_at:
            item.escalated_at = None
        if item.critical[1] >= end_at:
            item.critical = item.acknowledged = item.escalated_at = None
    for name in ("signed_at", "drafted_at", "claimed_at", "received_at"):
        if getattr(item, name) and getattr(item, name) >= end_at:
            setattr(item, name, None)
            item.amendment = None
            if name in ("drafted_at", "claimed_at", "received_at"):
                item.critical = item.acknowledged = item.escalated_at = None
    for name in ("rejected", "cancelled"):
        if getattr(item, name) and getattr(item, name)[0] >= end_at:
            setattr(item, name, None)
    return True


def write_studies(world: World, net: Net, visits: list[Visit], end_at: datetime) -> dict[str, int]:
    rng = world.rng("network.studies")
    groups: dict[int, list[PastStudy]] = defaultdict(list)
    doctors: dict[int, Membership] = {}
    serial = 0
    boost = _boost(STUDY_PER_TOWNSHIP_VISIT, sum(v.place.kind == "township" for v in visits), FLOOR["studies"])
    for visit, _n in ((v, n) for v in visits if v.place.kind == "township"
                      for n in range(_draws(rng, STUDY_PER_TOWNSHIP_VISIT * boost))):
        force = SHOWCASE_STUDIES[serial] if serial < len(SHOWCASE_STUDIES) else None
        serial += 1
        item = _study(world, net, rng, visit, serial, force)
        if _cut(item, end_at):
            groups[visit.doctor.pk].append(item)
            doctors[visit.doctor.pk] = visit.doctor
    counts: dict[str, int] = defaultdict(int)
    for pk in sorted(groups):
        made = do_record_studies(actor_for_membership(doctors[pk], source=SOURCE), groups[pk])
        for item, study in zip(groups[pk], made, strict=True):
            counts[f"studies.{study.kind}"] += 1
            counts["studies.critical"] += 1 if item.critical else 0
            counts["studies.critical_escalated"] += 1 if item.escalated_at else 0
            counts["studies.amended"] += 1 if item.amendment else 0
            counts["studies.rejected"] += 1 if item.rejected else 0
    counts["studies"] = sum(len(g) for g in groups.values())
    return dict(counts)


# --- the stage ------------------------------------------------------------------------------------------


def run(world: World, people: list[Resident]) -> None:
    """Set up the partner hospital and the centres, then the period's referrals, consultations with guided
    operations, and remote diagnoses; one progress line of counts."""
    end_at = timezone.make_aware(datetime.combine(world.today, time.min))
    with transaction.atomic():
        net = set_up(world)
        visits = visits_of(world)
        residents = {r.patient_id: r for r in people if r.patient_id}
        counts = write_referrals(world, plan_referrals(world, visits, residents), end_at)
        counts.update(write_consultations(world, net, visits, end_at))
        counts.update(write_studies(world, net, visits, end_at))
    world.counts.update(counts)
    world.say("network", f"referrals {counts['referrals.up']} up, {counts['referrals.down']} down "
              f"({counts['referrals.rejected']} rejected, {counts['referrals.redirected']} redirected, "
              f"{counts['referrals.cancelled']} cancelled, {counts['referrals.escalated']} escalated, "
              f"{counts['referrals.reserved']} with a reserved slot); consultations {counts['consults.requested']} "
              f"({counts['consults.mdt']} MDT, {counts['consults.sync']} video, {counts['consults.cancelled']} "
              f"cancelled), {counts['consults.guided_operations']} guided operations; studies {counts['studies']} "
              f"(imaging {counts.get('studies.imaging', 0)}, ECG {counts.get('studies.ecg', 0)}, pathology "
              f"{counts.get('studies.pathology', 0)}, lab {counts.get('studies.lab', 0)}; "
              f"{counts.get('studies.amended', 0)} amended, {counts.get('studies.rejected', 0)} rejected, "
              f"{counts.get('studies.critical', 0)} critical values, {counts.get('studies.critical_escalated', 0)} "
              f"escalated)")
    summarise(world)


def indicators(start: date, end: date) -> dict[str, float]:
    scope = Scope(start=start, end=end)

    def num(value) -> float:
        return float(value) if value is not None else 0.0

    return {
        "referral.up": ref_ind.up_total(scope), "referral.down": ref_ind.down_total(scope),
        "referral.down_outpatient": ref_ind.down_outpatient(scope),
        "referral.down_inpatient": ref_ind.down_inpatient(scope),
        "referral.acceptance_minutes": num(ref_ind.acceptance_minutes(scope)),
        "referral.escalated_pct": round(num(ref_ind.escalated_share(scope)) * 100, 1),
        "consult.remote_consultations": consult_ind.remote_consultations(scope),
        "consult.mdt": consult_ind.mdt(scope), "consult.partner_consultations": consult_ind.with_partners(scope),
        "consult.signed_minutes": num(consult_ind.signed_minutes(scope)),
        "consult.confirmed_pct": round(num(consult_ind.confirmed_share(scope)) * 100, 1),
        "consult.guided_operations": consult_ind.guided_operations(scope),
        "diagnostics.remote_diagnoses": diag_ind.remote_diagnoses(scope),
        "diagnostics.turnaround_median_minutes": num(diag_ind.turnaround_median_minutes(scope)),
        "diagnostics.critical_ack_15min_pct": round(num(diag_ind.critical_ack_share(scope)) * 100, 1),
        "diagnostics.critical_ack_minutes": num(diag_ind.critical_ack_minutes(scope)),
    }


def summarise(world: World) -> None:
    values = indicators(world.start, world.today)
    world.counts.update({f"indicator.{k}": v for k, v in values.items()})
    world.say("network", f"上转 {values['referral.up']}, 下转 {values['referral.down']} (门急诊 "
              f"{values['referral.down_outpatient']}, 住院 {values['referral.down_inpatient']}), 平均接收 "
              f"{values['referral.acceptance_minutes']} min, 超时上报 {values['referral.escalated_pct']}%; 远程会诊 "
              f"{values['consult.remote_consultations']} (MDT {values['consult.mdt']}), 手术指导 "
              f"{values['consult.guided_operations']}; 远程诊断 {values['diagnostics.remote_diagnoses']}, 周转中位数 "
              f"{values['diagnostics.turnaround_median_minutes']} min, 危急值15分钟确认率 "
              f"{values['diagnostics.critical_ack_15min_pct']}%")
