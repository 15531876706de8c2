"""Reads about slots: the periods a schedule yields on a day, which slots have a free place for a channel,
and the nearest alternatives to offer when a slot is taken or a clinic stops. No patient data here."""

from datetime import date, datetime, timedelta

from django.db.models import Case, F, Q, QuerySet, When
from django.db.models.functions import Least
from django.utils import timezone

from yilian.scheduling.models import Channel, Schedule, Slot, SlotStatus


def periods(schedule: Schedule, day: date) -> list[tuple[datetime, datetime]]:
    """(start, end) of each slot on `day`, in the institution's time zone (Asia/Shanghai); the last slot
    ends by the schedule's end time."""
    tz = timezone.get_default_timezone()
    start = datetime.combine(day, schedule.start_time, tzinfo=tz)
    close = datetime.combine(day, schedule.end_time, tzinfo=tz)
    step = timedelta(minutes=schedule.slot_minutes)
    out = []
    while start + step <= close:
        out.append((start, start + step))
        start += step
    return out


def free_for(channel: str, now: datetime) -> Q:
    """Slots with a place for `channel` now. Referral may take any free place; the other channels only the
    ordinary ones (capacity minus the places still reserved), until the reservation is released."""
    q = Q(status=SlotStatus.OPEN, start__gt=now, booked__lt=F("capacity"))
    if channel != Channel.REFERRAL:
        q &= Q(release_at__lte=now) | Q(booked__lt=F("capacity") - F("reserved") + F("referral_booked"))
    return q


def free_slots(channel: str = Channel.WINDOW, **filters) -> QuerySet[Slot]:
    return (Slot.objects.filter(free_for(channel, timezone.now()), **filters)
            .select_related("schedule", "schedule__department", "schedule__doctor").order_by("start", "pk"))


def places_left(slot: Slot, channel: str, now: datetime) -> int:
    left = slot.capacity - slot.booked
    if channel != Channel.REFERRAL and now < slot.release_at:
        left = min(left, slot.capacity - slot.reserved - (slot.booked - slot.referral_booked))
    return max(left, 0)


def places_left_sql(channel: str, now: datetime):
    """`places_left` as a database expression (to sum a day's places in one query)."""
    left = F("capacity") - F("booked")
    if channel == Channel.REFERRAL:
        return left
    ordinary = F("capacity") - F("reserved") - F("booked") + F("referral_booked")
    return Case(When(release_at__lte=now, then=left), default=Least(left, ordinary))


def alternatives(slot: Slot, channel: str = Channel.WINDOW, limit: int = 3) -> list[Slot]:
    """The free slots nearest in time to `slot` (within two weeks either side) of the same department and
    fee tier. (A stopped clinic's slots are no longer open, so they are never offered.)"""
    around = Q(start__gte=slot.start - timedelta(days=14), start__lte=slot.start + timedelta(days=14))
    candidates = (free_slots(channel, schedule__department_id=slot.schedule.department_id,
                             schedule__tier=slot.schedule.tier).filter(around)
                  .exclude(pk=slot.pk))
    return sorted(candidates[:200], key=lambda s: (abs((s.start - slot.start).total_seconds()), s.pk))[:limit]


def describe(slots: list[Slot]) -> str:
    """Slots as a patient reads them: local date and time, and the slot number to book."""
    return "、".join(f"{timezone.localtime(s.start):%Y-%m-%d %H:%M} (#{s.pk})" for s in slots)


def describe_booking(booking) -> str:
    """Where and when, as a text message says it: local date and time, institution, department, doctor."""
    schedule = booking.slot.schedule
    doctor = f" {schedule.doctor.name}" if schedule.doctor_id else ""
    return (f"{timezone.localtime(booking.slot.start):%Y-%m-%d %H:%M} {schedule.institution.name} "
            f"{schedule.department.name}{doctor}")
