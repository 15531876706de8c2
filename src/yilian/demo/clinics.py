"""Every member's outpatient set-up, through `scheduling.actions` as the institution's registrar (capability
`schedule`): fees, the outpatient policy, free-registration rules, holidays, and the weekly timetable as
schedules with their slots — weekday clinics with the doctors taking turns, the county hospital's evening
clinics (错时门诊), weekend clinics, expert clinics of the senior doctors, the county experts' clinics at the
township centres (ramped up over the months) and the village clinics' weekly chronic-disease clinics. Also
the chronic patients' family-doctor contracts (`access.actions.do_grant`), which the free rule "contracted"
reads. See docs/demo.md "Outpatient"."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple

from yilian.access.actions import do_grant
from yilian.access.models import GrantKind
from yilian.demo import days
from yilian.demo.data import outpatient as op
from yilian.demo.residents import Resident
from yilian.demo.world import Place, World
from yilian.network.models import Title
from yilian.scheduling.actions import (
    NewSchedule,
    do_add_free_rule,
    do_add_holiday,
    do_create_schedule,
    do_set_fee,
    do_set_policy,
)
from yilian.scheduling.batch import do_generate_slots_many
from yilian.scheduling.models import Slot
from yilian.scheduling.policy import EXPERT_TITLES

HOSPITALS = ("county", "tcm", "mch")
HALF_DAYS = [(wd, s) for wd in "12345" for s in (op.MORNING, op.AFTERNOON)]
CHUNK_DAYS = 90  # do_generate_slots takes at most 92 days at a time


class SlotRow(NamedTuple):
    id: int
    start: datetime
    end: datetime
    capacity: int
    reserved: int
    release_at: datetime


@dataclass
class Clinic:
    """A schedule as the outpatient planner sees it."""

    schedule_id: int
    place: str
    department: str
    doctor: int
    kind: str  # ordinary, evening, weekend, expert, special, visiting, follow_up
    tier: str


@dataclass
class Timetable:
    clinics: dict[int, Clinic] = field(default_factory=dict)
    slots: dict[tuple[int, date], list[SlotRow]] = field(default_factory=dict)  # (schedule, day) → slots
    sitting: dict[tuple[str, str, date], list[int]] = field(default_factory=dict)  # (place, dept, day) → schedules

    def add_slots(self) -> int:
        rows = Slot.objects.filter(schedule_id__in=self.clinics).order_by("schedule_id", "start").values_list(
            "pk", "schedule_id", "date", "start", "end", "capacity", "reserved", "release_at")
        count = 0
        for pk, schedule_id, day, start, end, capacity, reserved, release_at in rows.iterator(chunk_size=5000):
            group = self.slots.setdefault((schedule_id, day), [])
            if not group:
                clinic = self.clinics[schedule_id]
                self.sitting.setdefault((clinic.place, clinic.department, day), []).append(schedule_id)
            group.append(SlotRow(pk, start, end, capacity, reserved, release_at))
            count += 1
        return count


def _fees_of(place: Place) -> dict[str, int]:
    return op.FEES.get(place.key) or op.FEES[place.kind]


def set_policies(world: World) -> None:
    """Fees by tier, the policy row (registration valid 3 days) and the free rules, at every member."""
    for place in world.places.values():
        desk = place.registrar()
        for tier, amount in _fees_of(place).items():
            do_set_fee(desk, tier, amount)
        do_set_policy(desk, max_daily_bookings=op.MAX_DAILY_BOOKINGS,
                      registration_valid_days=op.REGISTRATION_VALID_DAYS)
        if place.kind in ("township", "village"):
            do_add_free_rule(desk, "age", min_age=op.FREE_AGE)
            do_add_free_rule(desk, "contracted")
        if place.kind == "township":
            do_add_free_rule(desk, "department", department_id=place.departments[op.FREE_DEPARTMENT].pk)


def sign_contracts(world: World, residents: list[Resident]) -> int:
    """Most chronic patients hold a family-doctor contract (家庭医生签约) with their own clinic's general
    practice, signed before the period and renewed each year: a family-doctor grant per contract year."""
    rng = world.rng("contracts")
    tz = days.TZ
    signed = 0
    for r in residents:
        if not (r.chronic and rng.random() < op.CONTRACTED_CHRONIC):
            continue
        place = world.places[r.registered]
        doctor = rng.choice(place.doctors["全科医疗科"])
        begin = datetime.combine(world.start - timedelta(days=rng.randint(1, 120)), time(9), tzinfo=tz)
        while begin.date() <= world.today:
            end = begin + timedelta(days=365)
            do_grant(place.registrar(), patient_id=r.patient_id, kind=GrantKind.FAMILY_DOCTOR,
                     to_institution_id=place.institution.pk, to_staff_id=doctor, valid_from=begin, valid_to=end,
                     reason="家庭医生签约")
            begin = end
        signed += 1
    return signed


class _Maker:
    """Creates the schedules of one build and remembers them for the planner."""

    def __init__(self, world: World):
        self.world, self.rng = world, world.rng("clinics")
        self.tt = Timetable()
        self.horizon = world.today + timedelta(days=13)  # slots for the next two weeks too
        self.valid_to = world.today + timedelta(days=90)
        self.span = (world.today - world.start).days

    def add(self, place: Place, dept: str, doctor: int, session: tuple, weekdays: str, kind: str, *,
            valid_from: date | None = None, capacity: int = 0, reserved: int = 0) -> None:
        name, start, end = session
        minutes = op.SLOT_MINUTES.get(place.key) or op.SLOT_MINUTES.get(place.kind) or (
            (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute))  # 0: one slot for the session
        schedule = do_create_schedule(place.registrar(), NewSchedule(
            department_id=place.departments[dept].pk, session=name, start_time=start, end_time=end,
            slot_minutes=minutes, capacity=capacity or op.CAPACITY.get(kind, op.CAPACITY["ordinary"]),
            weekdays=weekdays, valid_from=valid_from or self.world.start, valid_to=self.valid_to, doctor_id=doctor,
            referral_reserved=reserved, special=kind == "special"))
        self.tt.clinics[schedule.pk] = Clinic(schedule.pk, place.key, dept, doctor, kind, schedule.tier)

    def generate(self) -> None:
        """The slots of every schedule from the start of the period to two weeks ahead, per institution."""
        by_place: dict[str, list[int]] = defaultdict(list)
        for clinic in self.tt.clinics.values():
            by_place[clinic.place].append(clinic.schedule_id)
        for key, ids in by_place.items():
            first = self.world.start
            while first <= self.horizon:
                last = min(first + timedelta(days=CHUNK_DAYS - 1), self.horizon)
                do_generate_slots_many(self.world.places[key].registrar(), ids, first, last)
                first = last + timedelta(days=1)

    def later(self, share: float) -> date:
        """A day `share` of the way through the period."""
        return self.world.start + timedelta(days=int(self.span * share))

    def rotation(self, place: Place, dept: str, doctors: list[int], half_days, kind: str, **kw) -> None:
        """The doctors take the half-days in turn: one schedule per doctor and session."""
        offset = self.rng.randrange(len(doctors))
        turns: dict[tuple[int, tuple], str] = defaultdict(str)
        for i, (weekday, session) in enumerate(half_days):
            turns[(doctors[(i + offset) % len(doctors)], session)] += weekday
        for (doctor, session), weekdays in turns.items():
            self.add(place, dept, doctor, session, weekdays, kind, **kw)

    def experts(self, place: Place, dept: str, seniors: list[int]) -> None:
        reserved = op.EXPERT_REFERRAL_PLACES if place.key == "county" else 0
        for doctor in seniors:
            count = self.rng.choices([n for n, _w in op.EXPERT_HALF_DAYS], [w for _n, w in op.EXPERT_HALF_DAYS])[0]
            chosen = self.rng.sample([h for h in HALF_DAYS if h[1] == op.MORNING or self.rng.random() < 0.4], count)
            opens = self.later(self.rng.uniform(0, 0.7)) if self.rng.random() < op.EXPERT_LATE_START else None
            for weekday, session in sorted(chosen, key=lambda h: (h[0], h[1][1])):
                self.add(place, dept, doctor, session, weekday, "expert", valid_from=opens, reserved=reserved)

    def hospital(self, place: Place) -> None:
        titles = place.titles
        for spec in place.specs:
            if spec.use != "clinic":
                continue
            doctors = place.doctors[spec.name]
            seniors = [d for d in doctors if titles[d] in EXPERT_TITLES]
            ordinary = [d for d in doctors if d not in seniors] or doctors
            self.rotation(place, spec.name, ordinary, HALF_DAYS, "ordinary")
            if spec.name in op.EVENING_DEPARTMENTS.get(place.key, ()):
                self.rotation(place, spec.name, ordinary, [(wd, op.EVENING) for wd in "12345"], "ordinary")
            for weekday, names in op.WEEKEND_DEPARTMENTS.get(place.key, {}).items():
                if spec.name in names:
                    self.add(place, spec.name, self.rng.choice(ordinary), op.WEEKEND, weekday, "ordinary")
            self.experts(place, spec.name, seniors)
            for name, weekday in op.SPECIAL_CLINICS.get(place.key, ()):
                chiefs = [d for d in seniors if titles[d] == Title.CHIEF_PHYSICIAN] or seniors
                if name == spec.name and chiefs:
                    self.add(place, name, chiefs[0], op.AFTERNOON, weekday, "special")

    def township(self, place: Place, order: int, count: int) -> None:
        for dept, (mornings, afternoons) in op.TOWNSHIP_DAYS.items():
            half_days = [(wd, op.MORNING) for wd in mornings] + [(wd, op.AFTERNOON) for wd in afternoons]
            self.rotation(place, dept, place.doctors[dept], half_days, "ordinary", capacity=op.CAPACITY["township"])
        for weekday, names in op.WEEKEND_DEPARTMENTS["township"].items():
            for dept in names:
                self.add(place, dept, self.rng.choice(place.doctors[dept]), op.WEEKEND, weekday, "ordinary",
                         capacity=op.CAPACITY["township"])
        expert = self.world.visiting.get(place.key)
        if expert is None:
            return
        # 专家下沉: three centres from the start, the others one after another; by the end half of them twice a week.
        first, second = self.rng.sample("12345", 2)
        opens = self.later(0.0 if order < 3 else 0.85 * (order - 2) / (count - 2))
        self.add(place, "全科医疗科", expert, op.MORNING, first, "visiting", valid_from=opens)
        if order < count * op.VISITING_SECOND_DAY:
            self.add(place, "全科医疗科", expert, op.MORNING, second, "visiting",
                     valid_from=max(opens, self.later(0.4 + 0.5 * order / count)))

    def village(self, place: Place) -> None:
        doctor = place.registrars[0].staff_id  # the village doctor who keeps the register
        self.add(place, "全科医疗科", doctor, op.FOLLOW_UP, self.rng.choice("12345"), "follow_up",
                 capacity=op.CAPACITY["village"])

    def holidays(self) -> None:
        """The Spring Festival's first three days (除夕 to 初二): no scheduled clinics anywhere."""
        off = [d + timedelta(days=k) for d in days.SPRING_FESTIVAL for k in (-1, 0, 1)]
        off = [d for d in off if self.world.start <= d <= self.horizon]
        for place in self.world.places.values():
            for day in off:
                do_add_holiday(place.registrar(), day, "春节")


def create_clinics(world: World) -> Timetable:
    maker = _Maker(world)
    maker.holidays()
    for key in HOSPITALS:
        maker.hospital(world.places[key])
    townships = sorted(world.of_kind("township"), key=lambda p: p.key)
    maker.rng.shuffle(townships)
    for order, place in enumerate(townships):
        maker.township(place, order, len(townships))
    for place in sorted(world.of_kind("village"), key=lambda p: p.key):
        maker.village(place)
    maker.generate()
    return maker.tt
