"""Queue and calling (排队叫号): check-in at the desk, the queue of a department's clinic, the doctor's calls,
and the waiting-room display. An action module like `actions.py`.

Check-in takes one code — a 一码通 QR token, a resident ID or a booking number — and registers the visit
through `registration.do_register_visit` (from today's booking at this institution if there is one, else as
a walk-in), then gives the patient a queue number: the next per institution, department and day, allocated
against the unique constraint with a retry. The doctor's calls are conditional UPDATEs on the status, so
two doctors of one department calling at once never get the same patient.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import Case, F, IntegerField, Max, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, access_object, audit_many, audit_row, decide, visible
from yilian.access.models import Action, Basis
from yilian.errors import ActionError
from yilian.network.acting import Actor, require_cap
from yilian.network.models import Department, Staff
from yilian.network.roles import Cap
from yilian.patients import qr
from yilian.patients.actions import do_check_in as do_check_in_by_resident_id
from yilian.patients.masking import mask_name
from yilian.patients.models import Patient, age_on
from yilian.scheduling.models import (
    Booking,
    BookingStatus,
    Priority,
    QueueEntry,
    QueueStatus,
    Registration,
    SlotStatus,
)
from yilian.scheduling.registration import Visit, do_register_visit

ELDERLY_AGE = 70
NUMBER_RETRIES = 20
BOOKING_NUMBER = re.compile(r"^\d{8}-\d+-\d+$", re.ASCII)  # YYYYMMDD-slot-serial (actions.claim_place)
RESIDENT_ID = re.compile(r"^\d{17}[\dX]$", re.ASCII)
OBJECT = "queue"
ACTIVE = (QueueStatus.WAITING, QueueStatus.CALLED, QueueStatus.IN_ROOM, QueueStatus.SKIPPED)


# --- the order ------------------------------------------------------------------------------------------


def in_order(queryset: QuerySet[QueueEntry]) -> QuerySet[QueueEntry]:
    """Priority first (higher first), then the booked time (a walk-in by their check-in time, after a
    booked patient of the same time), then the queue number."""
    return queryset.order_by(
        F("priority").desc(),
        Coalesce("booked_at", "checked_in_at"),
        Case(When(booked_at__isnull=True, then=Value(1)), default=Value(0), output_field=IntegerField()),
        "number",
    )


def clinic_today(institution_id: int, department_id: int, day: date | None = None) -> QuerySet[QueueEntry]:
    return QueueEntry.objects.filter(institution_id=institution_id, department_id=department_id,
                                     date=day or timezone.localdate())


def waiting(institution_id: int, department_id: int, day: date | None = None) -> QuerySet[QueueEntry]:
    return in_order(clinic_today(institution_id, department_id, day).filter(status=QueueStatus.WAITING))


# --- check-in at the desk -------------------------------------------------------------------------------


@dataclass
class CheckIn:
    """What the desk typed or scanned, and for a walk-in the department (and doctor) chosen."""

    code: str
    department_id: int | None = None
    doctor_id: int | None = None
    disabled: bool = False
    arrived_at: datetime | None = None
    room: str = ""


def normalise(code: str) -> str:
    """Full-width characters to ASCII, no white space, a lower-case x of a resident ID upper-cased."""
    text = "".join(unicodedata.normalize("NFKC", code or "").split())
    return text[:-1] + "X" if len(text) == 18 and text[:17].isdigit() and text[-1] == "x" else text


def kind_of(code: str) -> str:
    if BOOKING_NUMBER.match(code):
        return "booking"
    if RESIDENT_ID.match(code):
        return "resident_id"
    return "qr"


def check_check_in(actor: Actor, data: CheckIn, now: datetime) -> str:
    """Every bad field at once; returns the normalised code."""
    require_cap(actor, Cap.REGISTER, _("Your role may not check patients in."))
    errors: dict[str, str] = {}
    code = normalise(data.code)
    if not code:
        errors["code"] = _("Scan the QR code, or type the resident ID or the booking number.")
    elif len(code) > 64:
        errors["code"] = _("This code is too long for a QR code, a resident ID or a booking number.")
    if data.department_id is not None and not Department.objects.filter(
            pk=data.department_id, institution_id=actor.institution_id).exists():
        errors["department_id"] = _("Department: choose a department of your institution.")
    if data.arrived_at is not None and data.arrived_at > now:
        errors["arrived_at"] = _("The arrival time cannot be in the future.")
    if len(data.room) > 20:
        errors["room"] = _("Room: at most 20 characters.")
    if errors:
        raise ActionError(errors=errors)
    return code


def _booking_by_number(actor: Actor, number: str) -> Booking:
    booking_id = Booking.objects.filter(number=number).values_list("pk", flat=True).first()
    if booking_id is None:
        raise ActionError("code", _("No booking with this number."))
    # The booking and its patient as the actor may see them: 404 (audited as denied) otherwise.
    return access_object(actor, Booking.objects.select_related("slot__schedule"), booking_id,
                         object_type="booking", action=Action.UPDATE, audit_success=False)


def _todays_booking(actor: Actor, patient_id: int, department_id: int | None, today: date) -> Booking | None:
    """The patient's earliest active booking today at the actor's institution (in the department chosen)."""
    bookings = Booking.objects.filter(patient_id=patient_id, status=BookingStatus.BOOKED, slot__date=today,
                                      slot__status=SlotStatus.OPEN, slot__schedule__institution_id=actor.institution_id)
    if department_id is not None:
        bookings = bookings.filter(slot__schedule__department_id=department_id)
    return bookings.select_related("slot__schedule").order_by("slot__start", "pk").first()


def _patient_at_desk(actor: Actor, kind: str, code: str) -> Patient:
    """A QR scan or a resident ID: the institution now cares for the patient (the patients' check-in)."""
    try:
        if kind == "resident_id":
            return do_check_in_by_resident_id(actor, code)
        return qr.do_qr_check_in(actor, code)
    except ActionError as exc:  # the patients' actions name `resident_id` / `token`: here it is one field
        raise ActionError("code", exc.message) from None


def priority_for(patient: Patient, registration: Registration, disabled: bool, today: date) -> int:
    """The highest rule that holds: disabled (chosen at the desk), elderly (70 and over), returning."""
    if disabled:
        return Priority.DISABLED
    if age_on(patient.birth_date, today) >= ELDERLY_AGE:
        return Priority.ELDERLY
    if registration.reused_from_id is not None:
        return Priority.RETURNING
    return Priority.NORMAL


def _allocate(entry: QueueEntry) -> QueueEntry:
    """Save with the next number of the clinic's day: a racing desk takes the same number, the unique
    constraint refuses one of them, and the loser reads the maximum again."""
    for _attempt in range(NUMBER_RETRIES):
        top = clinic_today(entry.institution_id, entry.department_id, entry.date).aggregate(m=Max("number"))["m"]
        entry.number = (top or 0) + 1
        try:
            with transaction.atomic():
                entry.save(force_insert=True)
            return entry
        except IntegrityError:
            entry.pk = None
            if QueueEntry.objects.filter(registration_id=entry.registration_id).exists():
                raise
    raise ActionError("code", _("The desk is busy; please try again."))


def _check_not_queued(actor: Actor, patient_id: int, department_id: int, today: date) -> None:
    """One place in a department's queue a day: a second scan of the same card is refused, not queued twice.
    The patient row is locked so that two desks scanning at once cannot both pass."""
    list(Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))
    number = (clinic_today(actor.institution_id, department_id, today)
              .filter(patient_id=patient_id, status__in=ACTIVE)
              .values_list("number", flat=True).first())
    if number is not None:
        raise ActionError("code", _("This patient is already in this department's queue today (number "
                                    "%(number)s).") % {"number": number})


def do_queue_check_in(actor: Actor, data: CheckIn) -> QueueEntry:
    """Check a patient in at the desk and give them a queue number (docs/scheduling.md, "Queue and
    calling"). One transaction: a failure leaves no registration, no care relationship and no number."""
    now = timezone.now()
    code = check_check_in(actor, data, now)
    today = timezone.localdate()
    kind = kind_of(code)
    booking = _booking_by_number(actor, code) if kind == "booking" else None  # a denial stays audited
    with transaction.atomic():
        if booking is None:
            patient = _patient_at_desk(actor, kind, code)
            booking = _todays_booking(actor, patient.pk, data.department_id, today)
            if booking is None and data.department_id is None:
                raise ActionError("department_id", _("No booking today: choose a department for the walk-in."))
        patient_id = booking.patient_id if booking is not None else patient.pk
        department_id = booking.slot.schedule.department_id if booking is not None else data.department_id
        _check_not_queued(actor, patient_id, department_id, today)
        try:
            if booking is not None:
                registration = do_register_visit(actor, Visit(booking_id=booking.pk))
            else:
                registration = do_register_visit(actor, Visit(patient_id=patient.pk, department_id=data.department_id,
                                                              doctor_id=data.doctor_id))
        except ActionError as exc:  # the registration names booking_id / patient_id: the desk typed a code
            errors = {("code" if k in ("booking_id", "patient_id") else k): v for k, v in exc.errors.items()}
            raise ActionError(errors=errors) from None
        patient = Patient.objects.get(pk=registration.patient_id)
        schedule = booking.slot.schedule if booking is not None else None
        entry = _allocate(QueueEntry(
            registration=registration, patient=patient, institution_id=actor.institution_id,
            department_id=registration.department_id,
            doctor_id=schedule.doctor_id if schedule is not None else data.doctor_id,
            room=data.room, date=today, priority=priority_for(patient, registration, data.disabled, today),
            booked_at=booking.slot.start if booking is not None else None,
            arrived_at=min(data.arrived_at or now, now), checked_in_at=now,
        ))
        audit_row(actor, patient_id=patient.pk, object_type=OBJECT, object_id=entry.pk, action=Action.CREATE,
                  decision=decide(actor, patient.pk) or Decision(Basis.CARE), reason="queue check-in").save()
    return entry


# --- the doctor's calls ---------------------------------------------------------------------------------


def check_clinic(actor: Actor, department_id) -> int:
    """The department (of the actor's institution) whose queue a clinical member works."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not call patients."))
    try:
        department_id = int(department_id)
    except (TypeError, ValueError):
        department_id = 0
    if not Department.objects.filter(pk=department_id, institution_id=actor.institution_id).exists():
        raise ActionError("department_id", _("Department: choose a department of your institution."))
    return department_id


def _staff_id(actor: Actor) -> int | None:
    return actor.membership.staff_id if actor.membership else None


def _audited(actor: Actor, entry: QueueEntry, reason: str, decision: Decision | None = None) -> None:
    audit_row(actor, patient_id=entry.patient_id, object_type=OBJECT, object_id=entry.pk, action=Action.UPDATE,
              decision=decision or decide(actor, entry.patient_id) or Decision(Basis.CARE), reason=reason).save()


def do_call_next(actor: Actor, department_id) -> QueueEntry | None:
    """Call the first waiting patient of the department's queue today (for this doctor or for any doctor);
    None when nobody waits. Each candidate is claimed by `UPDATE … WHERE status = 'waiting'`: a doctor who
    loses the race to a colleague moves on to the next patient."""
    department_id = check_clinic(actor, department_id)
    staff_id = _staff_id(actor)
    now = timezone.now()
    mine = Q(doctor_id__isnull=True) | Q(doctor_id=staff_id)
    candidates = visible(actor, waiting(actor.institution_id, department_id).filter(mine), "patient_id")
    for entry_id in candidates.values_list("pk", flat=True)[:50]:
        with transaction.atomic():
            won = QueueEntry.objects.filter(pk=entry_id, status=QueueStatus.WAITING).update(
                status=QueueStatus.CALLED, called_at=Coalesce(F("called_at"), Value(now)), calls=F("calls") + 1,
                doctor_id=Coalesce(F("doctor_id"), Value(staff_id)))
            if won:
                entry = QueueEntry.objects.get(pk=entry_id)
                _audited(actor, entry, "called")
                return entry
    return None


def _entry_for_write(actor: Actor, entry_id) -> tuple[QueueEntry, Decision | None]:
    require_cap(actor, Cap.CLINICAL, _("Your role may not call patients."))
    queryset = QueueEntry.objects.filter(institution_id=actor.institution_id)
    entry = access_object(actor, queryset, entry_id, object_type=OBJECT, action=Action.UPDATE,
                          audit_success=False)
    return entry, decide(actor, entry.patient_id)


# What each doctor's button does: from which status, to which, with which time stamp.
MOVES = {
    "recall": ((QueueStatus.CALLED,), QueueStatus.CALLED, None),
    "skip": ((QueueStatus.CALLED, QueueStatus.WAITING), QueueStatus.SKIPPED, None),
    "requeue": ((QueueStatus.SKIPPED,), QueueStatus.WAITING, None),
    "start": ((QueueStatus.CALLED,), QueueStatus.IN_ROOM, "started_at"),
    "end": ((QueueStatus.IN_ROOM,), QueueStatus.DONE, "ended_at"),
}


def _not_now(move: str) -> str:
    return {
        "recall": _("Only a patient who was called can be called again."),
        "skip": _("Only a waiting or called patient can be skipped."),
        "requeue": _("Only a skipped patient can be put back in the queue."),
        "start": _("Only a called patient can start the visit."),
        "end": _("Only a patient in the room can end the visit."),
    }[move]


def do_move(actor: Actor, entry_id, move: str) -> QueueEntry:
    """A doctor's button on one queue entry: recall (call again: `calls` + 1, `called_at` stays the first
    call), skip (过号), requeue (a skipped patient waits again), start (enters the room), end (done)."""
    if move not in MOVES:
        raise ActionError("move", _("Unknown queue action."))
    entry, decision = _entry_for_write(actor, entry_id)
    sources, target, stamp = MOVES[move]
    now = timezone.now()
    changes: dict = {"status": target}
    if move == "recall":
        changes["calls"] = F("calls") + 1
    if stamp:
        changes[stamp] = now
    with transaction.atomic():
        moved = QueueEntry.objects.filter(pk=entry.pk, status__in=sources).update(**changes)
        if not moved:
            raise ActionError("status", _not_now(move))
        entry.refresh_from_db()
        _audited(actor, entry, move, decision)
    return entry


# --- reading the queue ----------------------------------------------------------------------------------


@dataclass
class Line:
    """One queue entry as a page shows it: never a full name, an ID or a phone."""

    id: int
    number: int
    masked_name: str
    status: str
    status_label: str
    priority: int
    priority_label: str
    calls: int
    doctor: str
    room: str
    booked_at: datetime | None
    checked_in_at: datetime


def _lines(entries) -> list[Line]:
    doctors = dict(Staff.objects.filter(pk__in={e.doctor_id for e in entries if e.doctor_id})
                   .values_list("pk", "name"))
    return [Line(id=e.pk, number=e.number, masked_name=mask_name(e.patient.name), status=e.status,
                 status_label=e.get_status_display(), priority=e.priority, priority_label=e.get_priority_display(),
                 calls=e.calls, doctor=doctors.get(e.doctor_id, ""), room=e.room, booked_at=e.booked_at,
                 checked_in_at=e.checked_in_at) for e in entries]


@dataclass
class DoctorQueue:
    current: list[Line]  # called or in the room, this doctor's (or nobody's yet)
    waiting: list[Line]
    skipped: list[Line]


def doctor_queue(actor: Actor, department_id) -> DoctorQueue:
    """The doctor's page: the department's queue today, the patients the actor may see, each shown patient
    audited (one row each, as a list page does)."""
    department_id = check_clinic(actor, department_id)
    today = clinic_today(actor.institution_id, department_id).select_related("patient")
    today = visible(actor, today, "patient_id")
    staff_id = _staff_id(actor)
    current = list(today.filter(status__in=[QueueStatus.CALLED, QueueStatus.IN_ROOM])
                   .filter(Q(doctor_id=staff_id) | Q(doctor_id__isnull=True)).order_by("called_at", "number"))
    queued = list(in_order(today.filter(status=QueueStatus.WAITING))[:100])
    skipped = list(today.filter(status=QueueStatus.SKIPPED).order_by("number")[:50])
    shown = [e.patient_id for e in current + queued + skipped]
    if shown:
        audit_many(actor, shown, object_type=OBJECT)
    return DoctorQueue(_lines(current), _lines(queued), _lines(skipped))


@dataclass
class Board:
    called: list[Line]
    next: list[Line]


def display_board(actor: Actor, department_id, called: int = 4, upcoming: int = 6) -> Board:
    """The waiting-room display: the latest calls and the next numbers, masked names only. Any member of
    the institution may show it; the calls it shows were each audited when the doctor made them."""
    if actor.membership is None:
        raise ActionError("role", _("Choose the institution you act for."))
    if not Department.objects.filter(pk=department_id, institution_id=actor.institution_id).exists():
        raise ActionError("department_id", _("Department: choose a department of your institution."))
    today = clinic_today(actor.institution_id, department_id).select_related("patient")
    now_called = list(today.filter(status=QueueStatus.CALLED).order_by("-called_at", "-number")[:called])
    coming = list(in_order(today.filter(status=QueueStatus.WAITING))[:upcoming])
    return Board(_lines(now_called), _lines(coming))
