"""Planning the outpatient stage (pure Python under `world.rng("outpatient")`): each planned outpatient
visit mapped onto a clinic sitting that day — the evening clinic for some working-age patients, an expert's
clinic for a share when one sits — booked beforehand or not, with its queue times; the bookings that were
cancelled or missed; which visits reuse a registration still valid, and the returns within the validity.
`demo.outpatient` writes the plan through the batch actions. See docs/demo.md "Outpatient"."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from yilian.care.actions import Charge
from yilian.care.models import EncounterClass
from yilian.demo import days
from yilian.demo.clinics import Clinic, SlotRow, Timetable
from yilian.demo.data import outpatient as op
from yilian.demo.residents import Duplicate, Resident
from yilian.demo.visits import PlannedVisit, patients_of
from yilian.demo.world import World
from yilian.scheduling.policy import EXPERT_TITLES

MINUTE = timedelta(minutes=1)
EXPERT_KINDS = ("expert", "visiting")


def _level(kind: str) -> str:
    return "village" if kind == "village" else "township" if kind == "township" else "hospital"


@dataclass
class Booked:
    """A booking: of a visit, or one cancelled or missed."""

    patient_id: int
    place: str  # the clinic's institution
    desk: str  # the institution whose desk booked
    slot: SlotRow
    channel: str
    at: datetime
    cancel_at: datetime | None = None
    no_show_at: datetime | None = None
    id: int = 0


@dataclass
class Out:
    """One outpatient visit at the desk, with its queue times."""

    patient_id: int
    resident: Resident
    place: str
    department: str
    doctor: int
    day: date
    times: list[datetime]  # arrived, checked in, called, started, ended
    charges: list[Charge] = field(default_factory=list)
    booking: Booked | None = None
    returning: bool = False
    reuse: bool = False
    disabled: bool = False
    entry_id: int = 0


class _Planner:
    def __init__(self, world: World, timetable: Timetable):
        self.world, self.tt = world, timetable
        self.rng = world.rng("outpatient")
        self.span = max((world.today - world.start).days, 1)
        self.queued: set[tuple] = set()  # (patient, place, department, day): one queue place a day
        self.held: set[tuple] = set()  # (patient, place, department, day): one active booking a day
        self.load: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # slot → [booked, early ordinary]
        self.dropped = 0

    def ramp(self, pair: tuple[float, float], day: date) -> float:
        low, high = pair
        return low + (high - low) * (day - self.world.start).days / self.span

    def minutes(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=self.rng.uniform(low, high))

    # --- times ------------------------------------------------------------------------------------------

    def _seen(self, place_kind: str, checked: datetime) -> list[datetime]:
        called = checked + timedelta(minutes=min(self.rng.expovariate(1 / op.CALL_WAIT), 25))
        started = called + self.minutes(0.2, 1.5)
        return [called, started, started + self.minutes(*op.CONSULT[_level(place_kind)])]

    def walk_in_times(self, place_kind: str, arrived: datetime) -> list[datetime]:
        checked = arrived + self.minutes(*op.WINDOW_QUEUE)
        return [arrived, checked, *self._seen(place_kind, checked)]

    def booked_times(self, place_kind: str, slot: SlotRow, day: date) -> list[datetime]:
        """Arrival around the booked time; into the room about 25 minutes after it (or after a later
        arrival), called about 3 minutes after the check-in that puts the patient in the doctor's queue."""
        level = _level(place_kind)
        length = (slot.end - slot.start).total_seconds() / 60
        if length > 90:  # a half-day's slot: people come when they can
            arrived = slot.start + self.minutes(-20, 0.6 * length)
        else:
            mean, sd, low, high = op.ARRIVAL
            arrived = slot.start + timedelta(minutes=min(max(self.rng.gauss(mean, sd), low), high))
        mean = self.ramp(op.BOOKED_WAIT[level], day)
        started = max(slot.start, arrived) + timedelta(minutes=self.rng.gammavariate(3, mean / 3))
        called = started - self.minutes(0.2, 1.5)
        checked = max(arrived, called - timedelta(minutes=min(self.rng.expovariate(1 / op.CALL_WAIT), 25)))
        called, started = max(called, checked), max(started, checked)
        return [arrived, checked, called, started, started + self.minutes(*op.CONSULT[level])]

    # --- where and with whom ----------------------------------------------------------------------------

    def _windows(self, ids: list[int], day: date) -> dict[tuple[datetime, datetime], list[Clinic]]:
        out: dict[tuple[datetime, datetime], list[Clinic]] = defaultdict(list)
        for sid in ids:
            slots = self.tt.slots[(sid, day)]
            out[(slots[0].start, slots[-1].end)].append(self.tt.clinics[sid])
        return out

    def _window(self, windows, when: datetime, evening_wanted: bool):
        if evening_wanted:
            evenings = [w for w in windows if timezone.localtime(w[0], days.TZ).time() >= time(17)]
            if evenings:
                return evenings[0]
        inside = [w for w in windows if w[0] <= when < w[1]]
        if inside:
            return inside[0]

        def distance(w) -> tuple[float, datetime]:
            return min(abs((when - w[0]).total_seconds()), abs((when - w[1]).total_seconds())), w[0]

        return min(windows, key=distance)

    def _pick(self, clinics: list[Clinic], level: str) -> Clinic:
        special = [c for c in clinics if c.kind == "special"]
        expert = [c for c in clinics if c.kind in EXPERT_KINDS]
        ordinary = [c for c in clinics if c.kind not in EXPERT_KINDS and c.kind != "special"]
        if special and self.rng.random() < op.SPECIAL_SHARE:
            return self.rng.choice(special)
        if expert and (not ordinary or self.rng.random() < op.EXPERT_SHARE[level]):
            return self.rng.choice(expert)
        return self.rng.choice(ordinary or special)

    def duty_doctor(self, v: PlannedVisit) -> int:
        """Without a clinic that day: the doctor on duty, not an expert (an expert visit is an expert clinic's)."""
        place = self.world.places[v.place]
        if place.titles[v.practitioner] not in EXPERT_TITLES:
            return v.practitioner
        others = [d for d in place.doctors[v.department] if place.titles[d] not in EXPERT_TITLES]
        return others[0] if others else v.practitioner

    # --- bookings ---------------------------------------------------------------------------------------

    def _lead(self, channel: str) -> timedelta:
        if channel == "window" and self.rng.random() < op.WINDOW_AHEAD:
            return timedelta(days=self.rng.uniform(2, 14))
        return timedelta(hours=self.rng.uniform(*op.LEAD_HOURS[channel]))

    def _fits(self, slot: SlotRow, channel: str, at: datetime) -> bool:
        """The place is there, as `slots.places_left` counts: the reserved places are the referrals' until
        released. (Counting every booking, the order they are made in does not matter.)"""
        booked, early = self.load[slot.id]
        if booked >= slot.capacity:
            return False
        return channel == "referral" or at >= slot.release_at or early < slot.capacity - slot.reserved

    def _claim(self, patient_id: int, place: str, department: str, slot: SlotRow, channel: str,
               desk: str, at: datetime) -> Booked | None:
        day = timezone.localtime(slot.start, days.TZ).date()
        held = (patient_id, place, department, day)
        if held in self.held or not self._fits(slot, channel, at):
            return None
        self.held.add(held)
        self.load[slot.id][0] += 1
        if channel != "referral" and at < slot.release_at:
            self.load[slot.id][1] += 1
        return Booked(patient_id, place, desk, slot, channel, at)

    def _channel(self, place_key: str, place_kind: str) -> str:
        mix = op.CHANNELS.get(place_key) or op.CHANNELS["hospital" if place_kind not in op.CHANNELS else place_kind]
        return self.rng.choices([c for c, _w in mix], [w for _c, w in mix])[0]

    def book(self, out: Out, slots: list[SlotRow], index: int) -> Booked | None:
        place = self.world.places[out.place]
        channel = self._channel(place.key, place.kind)
        for slot in slots[index:] + slots[:index][::-1]:
            booked = self._claim(out.patient_id, out.place, out.department, slot, channel, out.place,
                                 slot.start - self._lead(channel))
            if booked is not None:
                return booked
        return None

    def extras(self, visit: Out, schedule_id: int, index: int) -> list[Booked]:
        """Another booking of the patient in the same clinic a week later and cancelled, or a week earlier
        and missed."""
        out = []
        for share, step in ((op.CANCELLED, 7), (op.NO_SHOW, -7)):
            if self.rng.random() >= share:
                continue
            day = visit.day + timedelta(days=step)
            slots = self.tt.slots.get((schedule_id, day))
            if not slots or not self.world.start <= day < self.world.today:
                continue
            slot = slots[min(index, len(slots) - 1)]
            b = visit.booking
            extra = self._claim(visit.patient_id, visit.place, visit.department, slot, b.channel, b.desk,
                                slot.start - self._lead(b.channel))
            if extra is None:
                continue
            if step > 0:
                extra.cancel_at = extra.at + (slot.start - MINUTE * 30 - extra.at) * self.rng.random()
            else:
                extra.no_show_at = slot.end + self.minutes(20, 240)
            out.append(extra)
        return out


@dataclass
class Plan:
    visits: list[Out]
    bookings: list[Booked]
    dropped: int


def _clinic_visit(p: _Planner, v: PlannedVisit, out: Out, when: datetime, booked_share: float) -> int | None:
    """Map a planned visit at a hospital or township centre onto a clinic sitting that day (an evening one
    for some working-age patients), book it or not; returns the schedule booked and the slot's index."""
    place = p.world.places[v.place]
    ids = p.tt.sitting.get((v.place, v.department, out.day))
    if not ids:
        out.doctor = p.duty_doctor(v)
        out.times = p.walk_in_times(place.kind, when)
        return None
    windows = p._windows(ids, out.day)
    working = 15 <= out.resident.age(out.day) < 60 and out.day.isoweekday() <= 5
    window = p._window(windows, when, working and p.rng.random() < op.EVENING_SHARE)
    clinic = p._pick(windows[window], _level(place.kind))
    out.doctor = clinic.doctor
    slots = p.tt.slots[(clinic.schedule_id, out.day)]
    index = min(range(len(slots)), key=lambda k: (abs((when - slots[k].start).total_seconds()), k))
    if p.rng.random() < booked_share:
        out.booking = p.book(out, slots, index)
    if out.booking is not None:
        out.times = p.booked_times(place.kind, out.booking.slot, out.day)
        return clinic.schedule_id
    start, end = window
    if not start <= when < end - 15 * MINUTE:
        when = start + (end - start - 20 * MINUTE) * p.rng.random()
    out.times = p.walk_in_times(place.kind, when)
    return None


def _village_visit(p: _Planner, v: PlannedVisit, out: Out, when: datetime) -> int | None:
    """A walk-in; a chronic patient's visit to their own clinic may move to its weekly clinic, booked by
    phone."""
    place = p.world.places[v.place]
    out.doctor = v.practitioner
    if out.resident.chronic and out.resident.registered == v.place and p.rng.random() < op.FOLLOW_UP_BOOKED:
        week = out.day - timedelta(days=out.day.weekday())
        for k in range(7):
            ids = p.tt.sitting.get((v.place, v.department, week + timedelta(days=k)))
            if ids and p.world.start <= week + timedelta(days=k) < p.world.today:
                day = week + timedelta(days=k)
                clinic = p.tt.clinics[ids[0]]
                if (out.patient_id, v.place, v.department, day) in p.queued:
                    break
                channel = "phone" if p.rng.random() < 0.9 else "window"
                slot = p.tt.slots[(clinic.schedule_id, day)][0]
                booked = p._claim(out.patient_id, v.place, v.department, slot, channel, v.place,
                                  slot.start - p._lead(channel))
                if booked is not None:
                    out.day, out.doctor, out.booking = day, clinic.doctor, booked
                    out.times = p.booked_times(place.kind, slot, day)
                    return clinic.schedule_id
                break
    out.times = p.walk_in_times(place.kind, when)
    return None


def _mark_reuses(visits: list[Out], valid_days: int) -> None:
    """Which visits will reuse a registration (the same rule as the batch registration): a visit within
    the validity of the last first registration of the patient in that department. A reuse opens no
    encounter, so it carries no charges."""
    firsts: dict[tuple, date] = {}
    for out in sorted(visits, key=lambda o: (o.times[1], o.patient_id)):
        key = (out.patient_id, out.place, out.department)
        first = firsts.get(key)
        if first is not None and out.day <= first + timedelta(days=valid_days - 1):
            out.reuse, out.charges = True, []
        else:
            firsts[key] = out.day


def _returns(p: _Planner, visits: list[Out]) -> list[Out]:
    """Some patients come back within the validity (day 2 or 3) to the same doctor, e.g. with results."""
    out = []
    for v in visits:
        if v.reuse or p.rng.random() >= op.RETURNS.get(v.place if v.place in op.RETURNS else
                                                      p.world.places[v.place].kind, 0):
            continue
        day = v.day + timedelta(days=1 if p.rng.random() < 0.6 else 2)
        key = (v.patient_id, v.place, v.department, day)
        if day >= p.world.today or key in p.queued:
            continue
        p.queued.add(key)
        when = datetime.combine(day, time(8, 30), tzinfo=days.TZ) + p.minutes(0, 150)
        kind = p.world.places[v.place].kind
        out.append(Out(v.patient_id, v.resident, v.place, v.department, v.doctor, day,
                       p.walk_in_times(kind, when), returning=True, reuse=True))
    return out


def plan_outpatient(world: World, residents: list[Resident], duplicates: list[Duplicate],
                    planned: list[PlannedVisit], timetable: Timetable) -> Plan:
    p = _Planner(world, timetable)
    outpatient = [v for v in planned if v.klass == EncounterClass.OUTPATIENT]
    visits: list[Out] = []
    bookings: list[Booked] = []
    for v, patient_id in zip(outpatient, patients_of(residents, duplicates, outpatient), strict=True):
        when = timezone.localtime(v.start, days.TZ)
        # The plan's first charge is its flat registration fee: the registration charges its own (or none).
        out = Out(patient_id, residents[v.resident], v.place, v.department, v.practitioner, when.date(), [],
                  charges=v.charges[1:], disabled=p.rng.random() < op.DISABLED)
        place = world.places[v.place]
        if place.kind == "village":
            schedule_id = _village_visit(p, v, out, when)
        else:
            share = p.ramp(op.BOOKED[v.place if v.place in op.BOOKED else place.kind], out.day)
            schedule_id = _clinic_visit(p, v, out, when, share)
        key = (out.patient_id, out.place, out.department, out.day)
        if key in p.queued:  # the same clinic twice in a day: seen once
            p.dropped += 1
            continue
        p.queued.add(key)
        visits.append(out)
        if out.booking is not None:
            bookings.append(out.booking)
            slots = timetable.slots[(schedule_id, out.day)]
            bookings += p.extras(out, schedule_id, slots.index(out.booking.slot))
    _mark_reuses(visits, op.REGISTRATION_VALID_DAYS)
    visits += _returns(p, visits)
    visits.sort(key=lambda o: (o.times[1], o.patient_id))
    return Plan(visits, bookings, p.dropped)
