"""Real parallel connections on PostgreSQL racing for places (run with DATABASE_URL=postgres://… and
`-m postgres`; on any other database these tests fail, never skip)."""


import pytest

from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.scheduling.actions import SlotTaken, do_book, do_cancel
from yilian.scheduling.models import Booking, Slot
from yilian.scheduling.tests.clinics import make_clinic, slots_on
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]



SLOW = {"wait": 60, "join": 120}  # 50 threads on two cores: longer waits than the default


def test_fifty_desks_booking_the_last_place(net, registrar, fees):
    clinic = make_clinic(registrar, net.department(net.county), capacity=3, referral_reserved=0)
    slot = slots_on(clinic, 3)[0]
    for _ in range(2):
        do_book(f.actor(registrar), f.register_patient(registrar).pk, slot.pk, "window")
    n = 50
    people = [f.register_patient(registrar) for _ in range(n)]
    results = in_parallel(n, lambda i: do_book(f.actor(registrar), people[i].pk, slot.pk, "window").pk, **SLOW)
    won = [r for kind, r in results if kind == "ok"]
    lost = [r for kind, r in results if kind == "error"]
    assert len(won) == 1
    assert len(lost) == n - 1
    assert all(isinstance(e, SlotTaken) and set(e.errors) == {"slot_id"} for e in lost), {
        type(e).__name__ for e in lost}
    assert all(e.alternatives and f"#{e.alternatives[0].pk}" in e.errors["slot_id"] for e in lost)
    slot.refresh_from_db()
    assert (slot.booked, slot.issued) == (3, 3)
    assert Booking.objects.filter(slot=slot, status="booked").count() == 3
    winner = Booking.objects.get(pk=won[0])
    assert CareRelation.objects.filter(source_type="booking", source_id=winner.pk).count() == 1
    assert AuditEvent.objects.filter(object_type="booking", action="create").count() == 3


def test_one_patient_booking_many_slots_at_once_keeps_the_limit(net, registrar, patient, fees):
    """The default policy allows one active booking per department and day: the patient row is locked
    while the limit is counted, so parallel desks cannot both pass it."""
    clinic = make_clinic(registrar, net.department(net.county), capacity=5, referral_reserved=0)
    slots = slots_on(clinic, 3)
    n = len(slots)
    results = in_parallel(n, lambda i: do_book(f.actor(registrar), patient.pk, slots[i].pk, "window").pk, **SLOW)
    assert len([r for kind, r in results if kind == "ok"]) == 1
    assert all(isinstance(e, ActionError) and set(e.errors) == {"patient_id"}
               for kind, e in results if kind == "error")
    assert sum(Slot.objects.filter(pk__in=[s.pk for s in slots]).values_list("booked", flat=True)) == 1


def test_cancel_and_book_racing_never_overbook(net, registrar, fees):
    clinic = make_clinic(registrar, net.department(net.county), capacity=1, referral_reserved=0)
    slot = slots_on(clinic, 3)[0]
    held = do_book(f.actor(registrar), f.register_patient(registrar).pk, slot.pk, "window")
    people = [f.register_patient(registrar) for _ in range(9)]

    def work(i):
        if i == 0:
            return do_cancel(f.actor(registrar), held.pk, "改期").status
        return do_book(f.actor(registrar), people[i - 1].pk, slot.pk, "window").status

    in_parallel(10, work, **SLOW)
    slot.refresh_from_db()
    active = Booking.objects.filter(slot=slot, status="booked").count()
    assert slot.booked == active <= 1
