"""Months of outpatient and emergency visits with their charges, planned here: who goes where, when, to which
department and doctor, and what is charged. Recorded through the actions layer:
`patients.actions.do_check_in_many` where a patient comes to an institution that did not register them, then
`care.actions.do_record_visits` as the doctor who saw them for the emergencies; the outpatient visits go
through booking and registration (`demo.outpatient`)."""

import math
import random
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from yilian.care.actions import Charge, Visit, do_record_visits
from yilian.care.models import EncounterClass
from yilian.demo import days
from yilian.demo.data import charges as fees
from yilian.demo.data import population as pop
from yilian.demo.data.departments import Dept
from yilian.demo.residents import Duplicate, Resident
from yilian.demo.world import SOURCE, Place, World
from yilian.network.acting import actor_for_membership
from yilian.patients.actions import do_check_in_many

HOSPITALS = ("county", "tcm", "mch")
BATCH = 500


@dataclass
class PlannedVisit:
    resident: int  # index into the residents list
    place: str
    department: str
    practitioner: int  # staff id
    klass: str
    start: object
    end: object
    charges: list[Charge] = field(default_factory=list)
    duplicate: bool = False  # recorded on the resident's second (county hospital) record


def poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method (the rates here are small)."""
    if lam <= 0:
        return 0
    limit, k, p = math.exp(-lam), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def _group(r: Resident, age: int) -> str:
    if age < 15:
        return "child"
    if age >= 65:
        return "elder"
    return "woman" if r.sex == "2" else "man"


def _fits(dept: Dept, r: Resident, age: int) -> bool:
    return {
        "all": True,
        "adult": age >= 15,
        "child": age < 15,
        "female": r.sex == "2" and age >= 15,
        "maternal": r.sex == "2" and 18 <= age <= 45,
    }[dept.audience]


def _rate(age: int) -> float:
    for low, high, _share, _ratio, rate in pop.AGE_BANDS:
        if low <= age <= high:
            return rate
    return pop.AGE_BANDS[-1][4]


def _amount(rng: random.Random, low: float, mode: float, high: float) -> Decimal:
    return Decimal(f"{rng.triangular(low, high, mode):.2f}")


def _charges(rng: random.Random, place: Place, dept: Dept, title: str, emergency: bool) -> list[Charge]:
    if place.kind == "village":
        fee = fees.VILLAGE_FEE
    elif place.kind == "township":
        fee = fees.TOWNSHIP_FEE
    elif emergency:
        fee = fees.EMERGENCY_FEE
    else:
        fee = fees.HOSPITAL_FEE_BY_TITLE.get(title, 8)
    out = [Charge("registration", Decimal(fee), "诊查费" if place.kind in HOSPITALS else "一般诊疗费")]
    for category, (chance, low, mode, high) in fees.PROFILES[dept.profile].items():
        if rng.random() < chance:
            out.append(Charge(category, _amount(rng, low, mode, high), rng.choice(fees.DESCRIPTIONS[category])))
    return out


class _Planner:
    def __init__(self, world: World, residents: list[Resident]) -> None:
        self.world, self.residents = world, residents
        self.rng = world.rng("visits")
        self.days, self.cum = days.period_days(world.start, world.today)
        self.fraction = len(self.days) / 365.25
        self.townships = world.of_kind("township")
        self.villages_of: dict[str, list[Place]] = {}
        for p in world.of_kind("village"):
            self.villages_of.setdefault(p.township, []).append(p)

    def _place(self, kind: str, r: Resident) -> Place:
        places = self.world.places
        if kind in HOSPITALS:
            return places[kind]
        own = places[r.village] if kind == "village" else places[r.township]
        if self.rng.random() < pop.OWN_GRASSROOTS:
            return own
        others = self.villages_of[r.township] if kind == "village" else self.townships
        return self.rng.choice(others)

    def _one(self, index: int, r: Resident, age: int, group: str) -> PlannedVisit:
        rng = self.rng
        weights = pop.KIND_WEIGHTS[group]
        kind = rng.choices(list(weights), weights=list(weights.values()))[0]
        place = self._place(kind, r)
        day = rng.choices(self.days, cum_weights=self.cum)[0]
        emergency = kind in pop.EMERGENCY_SHARE and rng.random() < pop.EMERGENCY_SHARE[kind]
        if emergency:
            dept = next(d for d in place.specs if d.use == "emergency")
            start = days.emergency_time(rng, day)
            end = start + timedelta(minutes=rng.randint(30, 240))
        else:
            fitting = [d for d in place.specs if d.use == "clinic" and _fits(d, r, age)] or \
                [d for d in place.specs if d.use == "clinic" and d.audience in ("all", "adult")]
            dept = rng.choices(fitting, weights=[d.visits for d in fitting])[0]
            start = days.outpatient_time(rng, day, place.kind == "village")
            end = start + timedelta(minutes=rng.randint(4, 15) if place.kind == "village" else rng.randint(5, 25))
        doctor = rng.choice(place.doctors[dept.name])
        klass = EncounterClass.EMERGENCY if emergency else EncounterClass.OUTPATIENT
        return PlannedVisit(index, place.key, dept.name, doctor, klass, start, end,
                            _charges(rng, place, dept, place.titles[doctor], emergency))

    def plan(self) -> list[PlannedVisit]:
        out = []
        for index, r in enumerate(self.residents):
            age = r.age(self.world.today)
            group = _group(r, age)
            for _ in range(poisson(self.rng, _rate(age) * self.fraction)):
                out.append(self._one(index, r, age, group))
            if r.chronic:
                for _ in range(poisson(self.rng, pop.CHRONIC_EXTRA_VISITS * self.fraction)):
                    out.append(self._one(index, r, age, "chronic"))
        out.sort(key=lambda v: (v.start, v.resident))
        return out


def plan_visits(world: World, residents: list[Resident]) -> list[PlannedVisit]:
    return _Planner(world, residents).plan()


def county_visitors(visits: list[PlannedVisit]) -> list[int]:
    return sorted({v.resident for v in visits if v.place == "county"})


def check_in(world: World, residents: list[Resident], visits: list[PlannedVisit]) -> int:
    """Check each patient in at every institution they visit that did not register them."""
    needed: dict[str, set[int]] = {}
    for v in visits:
        if not v.duplicate and v.place != residents[v.resident].registered:
            needed.setdefault(v.place, set()).add(v.resident)
    total = 0
    for key in sorted(needed):
        actor = world.places[key].registrar()
        rids = [residents[i].resident_id for i in sorted(needed[key])]
        for start in range(0, len(rids), 1000):
            total += len(do_check_in_many(actor, rids[start:start + 1000]))
    world.counts["check_ins"] = total
    world.say("check-in", f"{total} check-ins at {len(needed)} institutions")
    return total


def mark_duplicates(visits: list[PlannedVisit], duplicates: list[Duplicate], residents: list[Resident]) -> None:
    """The county hospital sees these residents under their second record."""
    index = {id(r): i for i, r in enumerate(residents)}
    dup_residents = {index[id(d.resident)] for d in duplicates}
    for v in visits:
        if v.place == "county" and v.resident in dup_residents:
            v.duplicate = True


def patients_of(residents: list[Resident], duplicates: list[Duplicate], visits: list[PlannedVisit]) -> list[int]:
    """The patient record each visit is recorded on: the resident's, or their second record at the county
    hospital."""
    second = {id(d.resident): d.patient_id for d in duplicates}
    return [second[id(residents[v.resident])] if v.duplicate else residents[v.resident].patient_id for v in visits]


def record_emergencies(world: World, residents: list[Resident], duplicates: list[Duplicate],
                       visits: list[PlannedVisit]) -> None:
    """The emergency visits, recorded by the doctor who saw the patient. (Outpatient visits are opened by
    their registration: the outpatient stage.)"""
    emergencies = [v for v in visits if v.klass == EncounterClass.EMERGENCY]
    groups: dict[tuple[str, int], list[Visit]] = {}
    for v, patient_id in zip(emergencies, patients_of(residents, duplicates, emergencies), strict=True):
        place = world.places[v.place]
        groups.setdefault((v.place, v.practitioner), []).append(Visit(
            patient_id=patient_id, department_id=place.departments[v.department].pk, start=v.start,
            klass=v.klass, end=v.end, practitioner_id=v.practitioner, charges=v.charges))
    encounters = charges = 0
    for (key, doctor), group in groups.items():
        actor = actor_for_membership(world.places[key].doctor_memberships[doctor], source=SOURCE)
        for start in range(0, len(group), BATCH):
            chunk = group[start:start + BATCH]
            encounters += len(do_record_visits(actor, chunk))
            charges += sum(len(v.charges) for v in chunk)
    world.counts.update({"encounters": encounters, "emergencies": encounters, "charges": charges})
    world.say("emergencies", f"{encounters} emergency encounters with {charges} charges, recorded by "
              f"{len(groups)} doctors")
