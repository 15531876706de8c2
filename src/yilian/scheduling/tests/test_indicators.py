"""Each outpatient indicator computed by hand on a tiny case, in March 2026 (Asia/Shanghai).

Test scaffolding: encounters, schedules, slots, bookings, registrations, waivers and queue entries are
created directly with the ORM, bypassing the actions (which refuse past slots and stamp check-in, call and
start with the current time), so that every time stamp is exactly the one the hand computation uses.
Patients are registered through the patients action.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

import pytest

from yilian.analytics.registry import REGISTRY, Scope
from yilian.care.models import Encounter
from yilian.network.models import Department
from yilian.scheduling.indicators import _year_earlier, visits_by_specialty
from yilian.scheduling.models import (
    Booking,
    FreeRegistrationRule,
    QueueEntry,
    Registration,
    Schedule,
    Slot,
    Waiver,
)
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db

TZ = ZoneInfo("Asia/Shanghai")
MARCH = Scope(date(2026, 3, 1), date(2026, 4, 1))
APRIL = Scope(date(2026, 4, 1), date(2026, 5, 1))
_serial = count(1)

CODES = ("outpatient.booking_rate", "outpatient.booked_wait", "outpatient.wait",
         "outpatient.expert_visits", "outpatient.expert_visits_yoy", "outpatient.top3_specialty_share",
         "registration.reuses", "registration.reuse_patients", "registration.fees_waived")


def at(day: date | str, hhmm: str = "09:00") -> datetime:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    h, m = map(int, hhmm.split(":"))
    return datetime.combine(day, time(h, m), tzinfo=TZ)


def value(code: str, scope: Scope = MARCH):
    return REGISTRY[code].compute(scope)


class Rows:
    """Builds the rows of one tiny consortium (ORM scaffolding, see the module docstring)."""

    def __init__(self, net, registrar):
        self.net, self.registrar = net, registrar
        self.schedules: dict[tuple, Schedule] = {}

    def patient(self):
        return f.register_patient(self.registrar)

    def encounter(self, patient, start: datetime, *, inst=None, department=None, klass="outpatient"):
        inst = inst or self.net.county
        department = department or self.net.department(inst)
        return Encounter.objects.create(patient=patient, institution=inst, department=department, klass=klass,
                                        start=start)

    def booking(self, patient, start: datetime, *, tier="ordinary", status="checked_in", department=None):
        department = department or self.net.department(self.net.county)
        key = (department.pk, tier)
        if key not in self.schedules:
            self.schedules[key] = Schedule.objects.create(
                institution=department.institution, department=department, session="morning",
                start_time=time(8), end_time=time(12), slot_minutes=30, capacity=50, tier=tier,
                weekdays="1234567", valid_from=date(2025, 1, 1), valid_to=date(2026, 12, 31))
        slot, _ = Slot.objects.get_or_create(
            schedule=self.schedules[key], start=start,
            defaults={"date": start.date(), "end": start + timedelta(minutes=29), "capacity": 50,
                      "release_at": start})
        n = next(_serial)
        return Booking.objects.create(patient=patient, slot=slot, serial=n, number=f"T-{n}", channel="window",
                                      status=status, created_at=start)

    def registration(self, patient, encounter, at_: datetime, *, tier="ordinary", fee="10.00", booking=None,
                     reused_from=None):
        return Registration.objects.create(
            patient=patient, institution=encounter.institution, department=encounter.department,
            encounter=encounter, booking=booking, reused_from=reused_from, tier=tier, fee=Decimal(fee),
            registered_at=at_, valid_until=at_.date())

    def visit(self, start: datetime, *, tier="ordinary", booked=False, booking_status="checked_in", inst=None,
              klass="outpatient"):
        """An encounter opened by a registration (from a booking if `booked`)."""
        patient = self.patient()
        encounter = self.encounter(patient, start, inst=inst, klass=klass)
        booking = self.booking(patient, start, tier=tier, status=booking_status) if booked else None
        fee = {"ordinary": "10.00", "expert": "25.00", "special": "100.00"}[tier]
        return self.registration(patient, encounter, start, tier=tier, fee=fee, booking=booking)

    def waive(self, registration, amount: str):
        rule = FreeRegistrationRule.objects.create(institution=registration.institution, kind="age", min_age=65)
        return Waiver.objects.create(registration=registration, amount=Decimal(amount), rule=rule)

    def queue(self, day: str, *, booked: str | None, arrived: str, checked_in: str, called: str | None = None,
              started: str | None = None, inst=None):
        registration = self.visit(at(day, arrived), booked=booked is not None, inst=inst)
        return QueueEntry.objects.create(
            registration=registration, patient=registration.patient, institution=registration.institution,
            department=registration.department, date=date.fromisoformat(day), number=next(_serial),
            booked_at=at(day, booked) if booked else None, arrived_at=at(day, arrived),
            checked_in_at=at(day, checked_in), called_at=at(day, called) if called else None,
            started_at=at(day, started) if started else None)


@pytest.fixture
def rows(net, registrar):
    return Rows(net, registrar)


def test_outpatient_indicators_are_registered_with_formula_and_source():
    for code in CODES:
        indicator = REGISTRY[code]
        assert indicator.formula and indicator.source and indicator.name_zh and indicator.name_en
        assert indicator.unit in {"count", "ratio", "yuan", "minutes"}


# 预约诊疗率 ---------------------------------------------------------------------------------------------


def test_booking_rate_by_hand(rows, net):
    rows.visit(at("2026-03-02"), booked=True)  # booked visit: counts
    walk_in = rows.visit(at("2026-03-03"))  # walk-in: denominator only
    # its return visit was booked but reuses the walk-in's registration (same encounter): still not booked
    p = walk_in.patient
    rows.registration(p, walk_in.encounter, at("2026-03-04"), fee="0", reused_from=walk_in,
                      booking=rows.booking(p, at("2026-03-04")))
    rows.visit(at("2026-03-05"), booked=True, booking_status="cancelled")  # cancelled booking: not booked
    rows.visit(at("2026-03-06"), booked=True, klass="emergency")  # emergency: out of both
    rows.visit(at("2026-02-28", "23:59"), booked=True)  # February: out of the period
    # booked 1 ÷ outpatient visits 3 (booked, walk-in, cancelled-booking)
    assert value("outpatient.booking_rate") == Decimal("0.3333")
    assert value("outpatient.booking_rate", Scope(MARCH.start, MARCH.end, frozenset({net.county.pk}))) \
        == Decimal("0.3333")


def test_booking_rate_without_outpatient_visits_is_none(rows, net):
    rows.visit(at("2026-03-06"), booked=True, klass="emergency")  # only an emergency visit
    assert value("outpatient.booking_rate") is None
    assert value("outpatient.booking_rate", Scope(MARCH.start, MARCH.end, frozenset({net.township.pk}))) is None


# waits ------------------------------------------------------------------------------------------------


@pytest.fixture
def queue(rows, net):
    """after booking = started − max(booked, arrived), ≥ 0; check-in → call = called − checked in."""
    d = "2026-03-10"
    rows.queue(d, booked="09:00", arrived="08:50", checked_in="08:55", called="09:18", started="09:20")  # 20; 23
    rows.queue(d, booked="09:00", arrived="09:10", checked_in="09:10", called="09:12", started="09:15")  # 5; 2
    rows.queue(d, booked="09:30", arrived="09:00", checked_in="09:02", called="09:24", started="09:25")  # −5→0; 22
    rows.queue(d, booked=None, arrived="09:00", checked_in="09:01", called="09:04", started="09:05")  # walk-in: –; 3
    rows.queue(d, booked="10:00", arrived="09:40", checked_in="09:45")  # not called, not in the room: –; –
    rows.queue("2026-02-27", booked="09:00", arrived="08:30", checked_in="08:31", called="08:59",
               started="09:10")  # February: –; –
    rows.queue(d, booked="09:00", arrived="09:00", checked_in="09:00", called="09:30", started="09:31",
               inst=net.township)  # 31; 30


def test_wait_after_booking_by_hand(queue, net):
    # (20 + 5 + 0 + 31) ÷ 4 booked entries in the room; the walk-in, the one not yet in and February are out
    assert value("outpatient.booked_wait") == Decimal("14.00")
    # county only: (20 + 5 + 0) ÷ 3 — the early one counts 0, not −5 (which would give 6.67)
    county = Scope(MARCH.start, MARCH.end, frozenset({net.county.pk}))
    assert value("outpatient.booked_wait", county) == Decimal("8.33")
    assert value("outpatient.booked_wait", APRIL) is None


def test_wait_check_in_to_call_by_hand(queue, net):
    # (23 + 2 + 22 + 3 + 30) ÷ 5 called entries, walk-in included; the one never called is out
    assert value("outpatient.wait") == Decimal("16.00")
    county = Scope(MARCH.start, MARCH.end, frozenset({net.county.pk}))
    assert value("outpatient.wait", county) == Decimal("12.50")  # (23 + 2 + 22 + 3) ÷ 4
    assert value("outpatient.wait", APRIL) is None


# expert visits and their growth -----------------------------------------------------------------------


@pytest.fixture
def experts(rows):
    for day in ("2026-03-02", "2026-03-03"):
        rows.visit(at(day), tier="expert", booked=True)
    rows.visit(at("2026-03-31", "23:59"), tier="expert")  # walk-in to an expert: counts
    rows.visit(at("2026-03-04"), tier="special")  # 特需: not an expert visit
    ordinary = rows.visit(at("2026-03-05"))
    # a return visit at an expert's clinic reusing an ordinary registration opens no new visit
    rows.registration(ordinary.patient, ordinary.encounter, at("2026-03-06"), tier="expert", fee="0",
                      reused_from=ordinary)
    rows.visit(at("2026-03-07"), tier="expert", klass="emergency")  # emergency: not an outpatient visit
    rows.visit(at("2026-04-01", "00:00"), tier="expert")  # April: out
    for day in ("2025-03-10", "2025-03-11"):  # a year earlier: 2
        rows.visit(at(day), tier="expert")


def test_expert_visits_by_hand(experts):
    assert value("outpatient.expert_visits") == 3
    assert value("outpatient.expert_visits", Scope(date(2025, 3, 1), date(2025, 4, 1))) == 2


def test_expert_visits_yoy_by_hand(experts):
    # (3 − 2) ÷ 2
    assert value("outpatient.expert_visits_yoy") == Decimal("0.5000")
    # April 2026: 1 expert visit, none in April 2025 → no growth rate
    assert value("outpatient.expert_visits_yoy", APRIL) is None


def test_year_earlier_of_29_february_is_28_february():
    assert _year_earlier(date(2028, 2, 29)) == date(2027, 2, 28)
    assert _year_earlier(date(2026, 3, 1)) == date(2025, 3, 1)


# visits by specialty ---------------------------------------------------------------------------------


def test_visits_by_specialty_and_top3_share_by_hand(rows, net):
    surgery = Department.objects.create(institution=net.county, subject_code="04", name="外科")
    paediatrics = Department.objects.create(institution=net.county, subject_code="07", name="儿科")
    emergency = Department.objects.get(institution=net.county, subject_code="20")
    march = at("2026-03-10")
    for _ in range(3):
        rows.encounter(rows.patient(), march, inst=net.township)  # 02 全科
    rows.encounter(rows.patient(), march, inst=net.village)  # 02 全科 (another institution, same subject)
    for _ in range(3):
        rows.encounter(rows.patient(), march)  # 03 内科
    rows.encounter(rows.patient(), march, klass="inpatient")  # an inpatient stay is not a visit
    for _ in range(2):
        rows.encounter(rows.patient(), march, department=surgery)
    rows.encounter(rows.patient(), march, department=paediatrics)
    for _ in range(2):
        rows.encounter(rows.patient(), march, department=emergency, klass="emergency")
    rows.encounter(rows.patient(), at("2026-04-01", "00:00"), department=paediatrics)  # April: out
    table = [(r["subject_code"], r["subject"], r["visits"], r["share"]) for r in visits_by_specialty(MARCH)]
    assert table == [
        ("02", "全科医疗科", 4, Decimal("0.3333")),
        ("03", "内科", 3, Decimal("0.2500")),
        ("04", "外科", 2, Decimal("0.1667")),
        ("20", "急诊医学科", 2, Decimal("0.1667")),
        ("07", "儿科", 1, Decimal("0.0833")),
    ]
    assert sum(r[2] for r in table) == value("outpatient.visits") == 12
    # (4 + 3 + 2) ÷ 12
    assert value("outpatient.top3_specialty_share") == Decimal("0.7500")
    # the township alone: one subject, all its visits
    assert value("outpatient.top3_specialty_share",
                 Scope(MARCH.start, MARCH.end, frozenset({net.township.pk}))) == Decimal("1.0000")


def test_visits_by_specialty_with_no_visits(net):
    assert visits_by_specialty(MARCH) == []
    assert value("outpatient.top3_specialty_share") is None


# registrations reused and fees waived -----------------------------------------------------------------


@pytest.fixture
def free(rows, net):
    r1 = rows.visit(at("2026-03-02"))  # paid 10, then reused twice
    for day in ("2026-03-03", "2026-03-04"):
        rows.registration(r1.patient, r1.encounter, at(day), fee="0", reused_from=r1)
    r2 = rows.visit(at("2026-03-05"), tier="expert")  # waived 25, then reused: the reuse saves nothing more
    r2.fee = Decimal("0")
    r2.save()
    rows.waive(r2, "25.00")
    rows.registration(r2.patient, r2.encounter, at("2026-03-06"), fee="0", reused_from=r2)
    rows.visit(at("2026-03-07"), tier="expert")  # paid 25, not reused: not free
    r4 = rows.visit(at("2026-02-27"))  # paid 10 in February, reused on 1 March at 00:30: the reuse counts
    rows.registration(r4.patient, r4.encounter, at("2026-03-01", "00:30"), fee="0", reused_from=r4)
    r5 = rows.visit(at("2026-03-10"), inst=net.township)  # waived 5 at the township centre
    r5.fee = Decimal("0")
    r5.save()
    rows.waive(r5, "5.00")
    r6 = rows.visit(at("2026-04-01", "00:00"))  # waived in April: out
    rows.waive(r6, "10.00")


def test_registrations_reused_by_hand(free, net):
    # r1 twice, r2 once, r4 once (reused in March though first registered in February)
    assert value("registration.reuses") == 4
    assert value("registration.reuses", Scope(MARCH.start, MARCH.end, frozenset({net.township.pk}))) == 0
    assert value("registration.reuses", APRIL) == 0


def test_fees_waived_patients_by_hand(free, net):
    # patients of r1 (reused twice, counted once), r2 (waived and reused, once), r4, r5
    assert value("registration.reuse_patients") == 4
    assert value("registration.reuse_patients", Scope(MARCH.start, MARCH.end, frozenset({net.county.pk}))) == 3
    assert value("registration.reuse_patients", Scope(date(2026, 5, 1), date(2026, 6, 1))) == 0


def test_fees_waived_amount_by_hand(free, net):
    # waivers 25 + 5; reuses: r1's fee 10 twice, r2's fee 0 (its waiver is already counted), r4's fee 10
    assert value("registration.fees_waived") == Decimal("60.00")
    assert value("registration.fees_waived", Scope(MARCH.start, MARCH.end, frozenset({net.county.pk}))) \
        == Decimal("55.00")
    assert value("registration.fees_waived", Scope(date(2026, 5, 1), date(2026, 6, 1))) == Decimal("0.00")
