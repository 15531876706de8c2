"""Reads for the residents' pages: clinics with free places, the account's bookings, a queue position.
Clinic reads hold no patient data; the booking reads are scoped to the account's patients."""

from dataclasses import dataclass, field
from datetime import date, timedelta

from django.db.models import Q, Sum
from django.utils import timezone

from yilian.network.models import Institution
from yilian.residents.login import patients_with
from yilian.residents.models import ResidentAccount
from yilian.scheduling.models import ACTIVE_BOOKING, Booking, Channel, QueueEntry, QueueStatus, Schedule, Slot
from yilian.scheduling.policy import fee_for
from yilian.scheduling.queue import waiting
from yilian.scheduling.slots import free_for, free_slots, places_left, places_left_sql

DAYS_AHEAD = 7
MAX_CLINICS = 60


@dataclass
class Clinic:
    """One schedule with the free self-service places on each of the coming days."""

    schedule: Schedule
    fee: object
    free: dict[date, int] = field(default_factory=dict)


def find_clinics(text: str = "", institution_id: int | None = None, today: date | None = None) -> list[Clinic]:
    """Clinics of the coming `DAYS_AHEAD` days with a free place, found by department, doctor or
    institution name (any part of it); general clinics and named doctors alike. The free places are summed
    per clinic and day in the database."""
    today = today or timezone.localdate()
    filters = Q(date__gte=today, date__lt=today + timedelta(days=DAYS_AHEAD))
    text = (text or "").strip()[:30]
    if text:
        filters &= (Q(schedule__department__name__icontains=text) | Q(schedule__doctor__name__icontains=text)
                    | Q(schedule__institution__name__icontains=text))
    if institution_id:
        filters &= Q(schedule__institution_id=institution_id)
    now = timezone.now()
    per_day = (Slot.objects.filter(free_for(Channel.SELF_SERVICE, now)).filter(filters).order_by()
               .values("schedule_id", "date").annotate(free=Sum(places_left_sql(Channel.SELF_SERVICE, now))))
    free: dict[int, dict[date, int]] = {}
    for row in per_day:
        if row["free"] > 0:
            free.setdefault(row["schedule_id"], {})[row["date"]] = row["free"]
    schedules = (Schedule.objects.filter(pk__in=list(free)).select_related("institution", "department", "doctor")
                 .order_by("institution__code", "department__name", "doctor__name", "start_time", "pk")
                 [:MAX_CLINICS])
    fees: dict[tuple[int, str], object] = {}
    clinics = []
    for schedule in schedules:
        key = (schedule.institution_id, schedule.tier)
        if key not in fees:
            fees[key] = fee_for(*key)
        clinics.append(Clinic(schedule, fees[key], free[schedule.pk]))
    return clinics


def institutions() -> list[Institution]:
    return list(Institution.objects.order_by("code").only("pk", "name", "code"))


def bookings_of(account: ResidentAccount, today: date | None = None) -> list[Booking]:
    """The account's patients' active bookings from today on, earliest first."""
    today = today or timezone.localdate()
    return list(Booking.objects.filter(ACTIVE_BOOKING, patient__in=patients_with(account.phone),
                                       slot__date__gte=today)
                .select_related("patient", "slot", "slot__schedule", "slot__schedule__institution",
                                "slot__schedule__department", "slot__schedule__doctor")
                .order_by("slot__start", "pk")[:50])


@dataclass
class QueuePlace:
    status: str
    number: int
    ahead: int | None  # patients waiting before this one (while waiting)
    room: str


def queue_place(booking: Booking) -> QueuePlace | None:
    """Where a checked-in booking stands in today's queue of its department (None before check-in)."""
    entry = QueueEntry.objects.filter(registration__booking=booking).first()
    if entry is None:
        return None
    ahead = None
    if entry.status == QueueStatus.WAITING:
        order = list(waiting(entry.institution_id, entry.department_id, entry.date).values_list("pk", flat=True))
        ahead = order.index(entry.pk) if entry.pk in order else None
    return QueuePlace(entry.status, entry.number, ahead, entry.room)


def free_places(schedule_id: int, day: date) -> list[tuple[object, int]]:
    """A clinic's slots on `day` with their free self-service places."""
    now = timezone.now()
    return [(s, places_left(s, Channel.SELF_SERVICE, now))
            for s in free_slots(Channel.SELF_SERVICE, schedule_id=schedule_id, date=day)
            .select_related("schedule__institution")[:200]]


def clinic(schedule_id) -> Schedule | None:
    if not (isinstance(schedule_id, int) and 0 < schedule_id < 2**63):
        return None
    return Schedule.objects.select_related("institution", "department", "doctor").filter(pk=schedule_id).first()

