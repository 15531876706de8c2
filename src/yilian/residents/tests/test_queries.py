"""Clinic search: free self-service places per day, summed in the database, agree with the slot rule
(`slots.places_left`), including the referral reservation before its release."""

from datetime import timedelta

from django.utils import timezone

from yilian.residents.queries import find_clinics
from yilian.scheduling.actions import do_book
from yilian.scheduling.models import Channel
from yilian.scheduling.slots import free_slots, places_left
from yilian.scheduling.tests.clinics import make_clinic, slots_on
from yilian.testing import factories as f


def test_free_places_per_day_by_hand(net, registrar, owner):
    # 08:00–10:00 in 30-minute slots of 2 places, 1 held for referral until 24 h before: 4 slots a day.
    clinic = make_clinic(registrar, net.department(net.county), doctor_id=owner.staff_id)
    in_three = timezone.localdate() + timedelta(days=3)
    first = slots_on(clinic, 3)[0]
    do_book(f.actor(registrar), f.register_patient(registrar).pk, first.pk)  # its ordinary place is gone
    found = {c.schedule.pk: c for c in find_clinics("内科")}
    assert set(found) == {clinic.pk}
    # Three days ahead: 3 slots × 1 ordinary place (the referral place is not released), the booked slot 0.
    assert found[clinic.pk].free[in_three] == 3
    now = timezone.now()
    for day, n in found[clinic.pk].free.items():
        assert n == sum(places_left(s, Channel.SELF_SERVICE, now)
                        for s in free_slots(Channel.SELF_SERVICE, schedule=clinic, date=day))
    assert find_clinics("眼科") == []
    assert {c.schedule.pk for c in find_clinics(owner.staff.name)} == {clinic.pk}
    assert find_clinics("", institution_id=net.township.pk) == []
