"""The batch actions on real parallel connections (PostgreSQL; run with DATABASE_URL=postgres://… and
`-m postgres`; on any other database these tests fail, never skip): racing batches never overbook and a
refused batch writes nothing; two doctors never see the same patient."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.scheduling.actions import do_create_schedule, do_generate_slots
from yilian.scheduling.batch import NewBooking, do_book_many
from yilian.scheduling.batch_visits import PastVisit, Seen, do_check_in_visits, do_see_visits
from yilian.scheduling.models import Booking, QueueEntry, Slot
from yilian.scheduling.tests.clinics import new_schedule
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
MIN = timedelta(minutes=1)



@pytest.fixture
def past_slots(net, registrar, owner, fees):
    """Two slots five days ago: one with a single place, one with room for everybody."""
    today = timezone.localdate()
    desk = f.actor(registrar)
    out = []
    for capacity in (1, 20):
        schedule = do_create_schedule(desk, new_schedule(net.department(net.county), doctor_id=owner.staff_id,
                                                         capacity=capacity, referral_reserved=0,
                                                         valid_from=today - timedelta(days=6)))
        do_generate_slots(desk, schedule.pk, today - timedelta(days=5), today - timedelta(days=5))
        out.append(Slot.objects.filter(schedule=schedule).order_by("start").first())
    return out


def test_racing_batches_for_the_last_place(registrar, past_slots):
    last, roomy = past_slots
    n = 8
    people = [(f.register_patient(registrar), f.register_patient(registrar)) for _ in range(n)]

    def batch(i):
        a, b = people[i]
        return do_book_many(f.actor(registrar), [NewBooking(a.pk, roomy.pk, roomy.start - 3 * MIN),
                                                 NewBooking(b.pk, last.pk, last.start - 2 * MIN)])

    results = in_parallel(n, batch)
    assert len([r for kind, r in results if kind == "ok"]) == 1
    assert all(isinstance(e, ActionError) and set(e.errors) == {"bookings.1.slot_id"}
               for kind, e in results if kind == "error")
    last.refresh_from_db()
    roomy.refresh_from_db()
    assert (last.booked, roomy.booked, roomy.issued) == (1, 1, 1)  # a refused batch wrote nothing
    assert Booking.objects.count() == 2


def test_two_doctors_never_see_the_same_patient(net, registrar, owner, patient, fees):
    other = f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county))
    at = timezone.now() - timedelta(days=2)
    (entry,) = do_check_in_visits(f.actor(registrar), [PastVisit(at, at, patient_id=patient.pk,
                                                                  department_id=net.department(net.county).pk)])
    doctors = [owner, other]
    results = in_parallel(2, lambda i: do_see_visits(f.actor(doctors[i]), [
        Seen(entry.pk, at + MIN, at + 2 * MIN, at + 10 * MIN)])[0].doctor_id)
    won = [r for kind, r in results if kind == "ok"]
    assert len(won) == 1
    assert QueueEntry.objects.get(pk=entry.pk).doctor_id == won[0]
