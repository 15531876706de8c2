"""Clinics for tests: a schedule's data with sensible defaults, a schedule with a week of slots, the slots
of a day. Built through the actions, like every other test row about patients and schedules."""

from datetime import time, timedelta

from django.utils import timezone

from yilian.scheduling.actions import NewSchedule, do_create_schedule, do_generate_slots
from yilian.scheduling.models import Slot
from yilian.testing import factories as f


def new_schedule(department, **overrides) -> NewSchedule:
    today = timezone.localdate()
    data = {"department_id": department.pk, "session": "morning", "start_time": time(8), "end_time": time(10),
            "slot_minutes": 30, "capacity": 2, "referral_reserved": 1, "release_hours": 24,
            "weekdays": "1234567", "valid_from": today, "valid_to": today + timedelta(days=30)}
    data.update(overrides)
    return NewSchedule(**data)


def make_clinic(registrar, department, days: int = 7, **overrides):
    schedule = do_create_schedule(f.actor(registrar), new_schedule(department, **overrides))
    today = timezone.localdate()
    do_generate_slots(f.actor(registrar), schedule.pk, today, today + timedelta(days=days))
    return schedule


def slots_on(schedule, days_ahead: int) -> list[Slot]:
    return list(Slot.objects.filter(schedule=schedule, date=timezone.localdate() + timedelta(days=days_ahead))
                .order_by("start"))
