"""About 1,500 staff with Chinese names, titles that fit their institution, licence numbers and memberships,
created through `yilian.network.actions`. Only the demo log-ins (logins.py) get a usable password."""

import random
from dataclasses import dataclass, field

from faker import Faker

from yilian.demo.data.county import COUNTY_CODE
from yilian.demo.logins import DEMO_LOGINS, DEMO_PASSWORD, PLACEMENTS
from yilian.demo.people import given_name
from yilian.demo.world import Place, World
from yilian.network.acting import SYSTEM
from yilian.network.actions import NewMembership, NewStaff, do_create_staff_many, do_grant_memberships
from yilian.network.models import Membership, Title
from yilian.network.roles import Role
from yilian.scheduling.policy import EXPERT_TITLES

# Head counts by institution: (doctors, nurses, technicians, registrars).
HEADCOUNT = {
    "county": (200, 260, 70, 16),
    "tcm": (80, 90, 22, 8),
    "mch": (55, 80, 16, 6),
    "township": (12, 11, 5, 2),
    "township_central": (17, 15, 7, 3),
}
VILLAGE_DOCTORS = ((1, 0.40), (2, 0.45), (3, 0.15))
GENERATED_MANAGERS = 4

T = Title
# Title mixes by level and role: hospitals have chief physicians, townships at most associate chiefs,
# villages mostly 乡村医生.
TITLES = {
    ("hospital", "doctor"): ((T.CHIEF_PHYSICIAN, 5), (T.ASSOC_CHIEF_PHYSICIAN, 15), (T.ATTENDING, 35),
                             (T.RESIDENT, 40), (T.ASSISTANT_PHYSICIAN, 5)),
    ("township", "doctor"): ((T.ASSOC_CHIEF_PHYSICIAN, 3), (T.ATTENDING, 25), (T.RESIDENT, 50),
                             (T.ASSISTANT_PHYSICIAN, 22)),
    ("village", "doctor"): ((T.VILLAGE_DOCTOR, 75), (T.ASSISTANT_PHYSICIAN, 18), (T.RESIDENT, 7)),
    ("hospital", "nurse"): ((T.CHIEF_NURSE, 1), (T.ASSOC_CHIEF_NURSE, 5), (T.NURSE_IN_CHARGE, 30),
                            (T.SENIOR_NURSE, 40), (T.NURSE, 24)),
    ("township", "nurse"): ((T.NURSE_IN_CHARGE, 15), (T.SENIOR_NURSE, 45), (T.NURSE, 40)),
    ("hospital", "technician"): ((T.CHIEF_TECHNICIAN, 3), (T.TECHNICIAN_IN_CHARGE, 30), (T.TECHNICIAN, 67)),
    ("township", "technician"): ((T.TECHNICIAN_IN_CHARGE, 20), (T.TECHNICIAN, 80)),
}
FEMALE_SHARE = {"doctor": 0.5, "nurse": 0.96, "technician": 0.55, "registrar": 0.7, "manager": 0.4}
VILLAGE_FEMALE_DOCTORS = 0.25
DOCTOR_TITLES = frozenset({T.CHIEF_PHYSICIAN, T.ASSOC_CHIEF_PHYSICIAN, T.ATTENDING, T.RESIDENT,
                           T.ASSISTANT_PHYSICIAN})
NURSE_TITLES = frozenset({T.CHIEF_NURSE, T.ASSOC_CHIEF_NURSE, T.NURSE_IN_CHARGE, T.SENIOR_NURSE, T.NURSE})
# Senior doctors of these county-hospital departments hold clinics at the township centres (专家下沉): each
# centre gets one, with a doctor's membership in its 全科医疗科 (docs/demo.md "Outpatient").
VISITING_DEPARTMENTS = ("心血管内科", "呼吸内科", "内分泌科", "神经内科", "消化内科", "儿科", "骨科", "普通外科")
# 执业类别 digit of a physician's licence by clinical subject: 2 中医, 3 口腔, 4 公共卫生, else 1 临床.
LICENCE_CATEGORY = {"50": "2", "12": "3", "01": "4"}


@dataclass
class Planned:
    staff: NewStaff
    posts: list[tuple[str, str | None, str]] = field(default_factory=list)  # (place key, department, role)


def _allocate(total: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `total` by weight, at least one each (largest remainder)."""
    names = [n for n, w in weights.items() if w > 0]
    if not names:
        return {}
    base = {n: 1 for n in names}
    rest = max(total - len(names), 0)
    whole = sum(weights[n] for n in names)
    shares = {n: rest * weights[n] / whole for n in names}
    for n in names:
        base[n] += int(shares[n])
    left = rest - sum(int(s) for s in shares.values())
    for n in sorted(names, key=lambda n: (-(shares[n] - int(shares[n])), n))[:left]:
        base[n] += 1
    return base


class _Maker:
    def __init__(self, rng: random.Random, fake: Faker) -> None:
        self.rng, self.fake = rng, fake
        self.serial = 0
        self.licence_serial = 0

    def name(self, female: bool) -> str:
        born_year = self.rng.randint(1962, 2001)  # staff are 24 to 63 years old
        return self.fake.last_name() + given_name(self.rng, self.fake, "2" if female else "1", born_year)

    def title(self, level: str, role: str) -> str:
        mix = TITLES[(level, role)]
        return self.rng.choices([t for t, _w in mix], weights=[w for _t, w in mix])[0]

    def licence(self, title: str, subject: str) -> str:
        self.licence_serial += 1
        n = self.licence_serial
        if title == T.VILLAGE_DOCTOR:
            return f"XC{COUNTY_CODE}{n:05d}"
        if title in DOCTOR_TITLES:
            level = "2" if title == T.ASSISTANT_PHYSICIAN else "1"
            return f"{level}{LICENCE_CATEGORY.get(subject, '1')}0{COUNTY_CODE}{n:06d}"
        if title in NURSE_TITLES:
            return f"{self.rng.randint(1995, 2024)}13{n:06d}"
        return ""

    def person(self, role: str, title: str, subject: str = "", female_share: float | None = None) -> NewStaff:
        self.serial += 1
        share = FEMALE_SHARE.get(role, 0.5) if female_share is None else female_share
        return NewStaff(username=f"yl{self.serial:05d}", name=self.name(self.rng.random() < share), title=title,
                        licence_no=self.licence(title, subject))


def _level(place: Place) -> str:
    return "village" if place.kind == "village" else "township" if place.kind == "township" else "hospital"


def _plan_place(maker: _Maker, place: Place, central: bool) -> list[Planned]:
    if place.kind == "village":
        count = maker.rng.choices([n for n, _w in VILLAGE_DOCTORS], weights=[w for _n, w in VILLAGE_DOCTORS])[0]
        out = []
        for i in range(count):
            title = maker.title("village", "doctor")
            planned = Planned(maker.person("doctor", title, "02", VILLAGE_FEMALE_DOCTORS),
                              [(place.key, "全科医疗科", Role.DOCTOR)])
            if i == 0:  # the village doctor also keeps the register (建档) at the clinic
                planned.posts.append((place.key, None, Role.REGISTRAR))
            out.append(planned)
        return out
    key = place.key if place.kind != "township" else ("township_central" if central else "township")
    doctors, nurses, techs, registrars = HEADCOUNT[key]
    level = _level(place)
    specs = {d.name: d for d in place.specs}
    doctor_w = {d.name: d.size * (0.3 if d.use == "medtech" else 1) for d in place.specs}
    nurse_w = {d.name: d.size if d.use != "medtech" else 0 for d in place.specs}
    tech_w = {d.name: d.size if d.use == "medtech" else 0 for d in place.specs}
    out = []
    for role, total, weights in ((Role.DOCTOR, doctors, doctor_w), (Role.NURSE, nurses, nurse_w),
                                 (Role.TECHNICIAN, techs, tech_w)):
        for dept, n in _allocate(total, weights).items():
            for _ in range(n):
                title = maker.title(level, role)
                out.append(Planned(maker.person(role, title, specs[dept].subject), [(place.key, dept, role)]))
    for _ in range(registrars):
        out.append(Planned(maker.person(Role.REGISTRAR, T.ADMINISTRATOR), [(place.key, None, Role.REGISTRAR)]))
    if place.key == "county":
        for _ in range(GENERATED_MANAGERS):
            out.append(Planned(maker.person(Role.MANAGER, T.ADMINISTRATOR), [(place.key, None, Role.MANAGER)]))
    return out


def _plan_demo_users(maker: _Maker) -> list[Planned]:
    out = []
    for login in DEMO_LOGINS:
        posts = PLACEMENTS[login.username]
        female = maker.rng.random() < FEMALE_SHARE.get(login.role, 0.5)
        staff = NewStaff(username=login.username, name=maker.name(female), title=posts[0].title,
                         licence_no=maker.licence(posts[0].title, "50" if login.username == "tcm.doctor" else ""),
                         password=DEMO_PASSWORD)
        out.append(Planned(staff, [(p.institution, p.department, p.role) for p in posts]))
    return out


def _visiting_experts(world: World, staff, plan: list[Planned]) -> list[NewMembership]:
    """A senior county-hospital doctor for each township centre (one may serve two when there are fewer),
    with a doctor's membership there: the centre's schedules may then name them (docs/scheduling.md)."""
    rng = world.rng("visiting")
    experts = [person.pk for person, planned in zip(staff, plan, strict=True)
               if planned.posts[0][:2] in {("county", d) for d in VISITING_DEPARTMENTS}
               and planned.staff.title in EXPERT_TITLES]
    rng.shuffle(experts)
    out = []
    for i, place in enumerate(sorted(world.of_kind("township"), key=lambda p: p.key)):
        if not experts:
            break
        world.visiting[place.key] = experts[i % len(experts)]
        out.append(NewMembership(staff_id=world.visiting[place.key], institution_id=place.institution.pk,
                                 role=Role.DOCTOR, department_id=place.departments["全科医疗科"].pk))
        place.titles[world.visiting[place.key]] = world.places["county"].titles[world.visiting[place.key]]
    return out


def create_staff(world: World, central: set[str]) -> None:
    maker = _Maker(world.rng("staff"), world.faker("staff"))
    plan: list[Planned] = []
    for place in world.places.values():
        plan += _plan_place(maker, place, place.key in central)
    plan += _plan_demo_users(maker)
    staff = do_create_staff_many(SYSTEM, [p.staff for p in plan])
    grants = []
    for person, planned in zip(staff, plan, strict=True):
        for key, dept, role in planned.posts:
            place = world.places[key]
            grants.append(NewMembership(
                staff_id=person.pk, institution_id=place.institution.pk, role=role,
                department_id=place.departments[dept].pk if dept else None))
            place.titles[person.pk] = planned.staff.title
    grants += _visiting_experts(world, staff, plan)
    created = do_grant_memberships(SYSTEM, grants)
    by_institution = {p.institution.pk: p for p in world.places.values()}
    memberships = Membership.objects.filter(institution_id__in=by_institution) \
        .select_related("staff__user", "department").order_by("pk")
    for m in memberships:
        place = by_institution[m.institution_id]
        if m.role == Role.DOCTOR and world.visiting.get(place.key) == m.staff_id:
            place.visiting[m.staff_id] = m
        elif m.role == Role.DOCTOR:
            place.doctors.setdefault(m.department.name, []).append(m.staff_id)
            place.doctor_memberships[m.staff_id] = m
        elif m.role == Role.REGISTRAR:
            place.registrars.append(m)
    world.counts.update({"staff": len(staff), "memberships": len(created)})
    world.say("staff", f"{len(staff)} staff, {len(created)} memberships ({len(world.visiting)} of county "
              f"experts at township centres), {len(DEMO_LOGINS)} demo log-ins")
