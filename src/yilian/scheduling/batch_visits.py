"""Batch forms of registration, check-in and the doctor's calls, for the demo generator and importers of
past activity (the booking batches are in `batch.py`, whose rules this module follows).

`do_check_in_visits` is `registration.do_register_visit` with `queue.do_queue_check_in` for many past visits;
`do_see_visits` is the doctor's `queue.do_call_next` and `do_move` (start, end) for many waiting patients.
The times are passed in; errors are named `visits.3.booking_id`, `seen.0.called_at`.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, decide_many
from yilian.access.models import Action, AuditEvent, Grant, GrantKind
from yilian.care.actions import Charge, check_charges, do_record_visits
from yilian.care.actions import Visit as CareVisit
from yilian.care.models import ChargeCategory
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Department, Membership, Staff
from yilian.network.roles import Cap
from yilian.patients.models import Patient, age_on
from yilian.scheduling.batch import (
    audit_for,
    bad_time,
    booking_event,
    bookings_by_id,
    lock_patients,
    not_found,
    refuse,
    require,
    update_each,
    valid_id,
)
from yilian.scheduling.models import (
    Booking,
    BookingEvent,
    BookingStatus,
    FeePolicy,
    FreeRegistrationRule,
    Priority,
    QueueEntry,
    QueueStatus,
    Registration,
    SlotStatus,
    Waiver,
)
from yilian.scheduling.policy import first_rule, policy_for, tier_for
from yilian.scheduling.queue import ACTIVE, ELDERLY_AGE

# --- registration and check-in --------------------------------------------------------------------------


@dataclass
class PastVisit:
    """One outpatient visit as it happened: the booking checked in, or a walk-in (patient, department and
    optionally the doctor); when the patient reached the desk and when they were checked in (registered and
    queued). A visit that opens an encounter may carry the encounter's end and its other charges, written
    with the registration charge; a return within the registration's validity opens none and carries
    neither."""

    arrived_at: datetime
    checked_in_at: datetime
    booking_id: int | None = None
    patient_id: int | None = None
    department_id: int | None = None
    doctor_id: int | None = None
    end: datetime | None = None
    charges: list[Charge] = field(default_factory=list)
    disabled: bool = False
    room: str = ""


@dataclass
class _Checked:
    """An item once checked: who, where, with whom, at which tier, and on which day."""

    patient_id: int
    department_id: int
    doctor_id: int | None
    tier: str
    day: date
    booking: Booking | None
    charges: list[Charge]


class _Desk:
    """What the acting institution's registrations read, once per batch."""

    def __init__(self, actor: Actor):
        inst = actor.institution_id
        self.institution_id = inst
        self.departments = set(Department.objects.filter(institution_id=inst).values_list("pk", flat=True))
        self.members = set(Membership.objects.filter(institution_id=inst, active=True)
                           .values_list("staff_id", flat=True))
        self.fees = dict(FeePolicy.objects.filter(institution_id=inst).values_list("tier", "amount"))
        self.rules = list(FreeRegistrationRule.objects.filter(institution_id=inst, active=True).order_by("pk"))
        self.valid_days = policy_for(inst).registration_valid_days


def _check_times(item: PastVisit, now: datetime) -> dict[str, str]:
    errors = {}
    for name in ("arrived_at", "checked_in_at"):
        bad = bad_time(getattr(item, name), now)
        if bad:
            errors[name] = bad
    if not errors and item.checked_in_at < item.arrived_at:
        errors["checked_in_at"] = _("The check-in cannot come before the arrival.")
    if item.end is not None:
        bad = bad_time(item.end, now)
        if bad:
            errors["end"] = bad
        elif not errors and item.end < item.checked_in_at:
            errors["end"] = _("End time must not be before the start.")
    return errors


def _check_visit(actor: Actor, desk: _Desk, i: int, item: PastVisit, bookings: dict[int, Booking],
                 decisions: dict[int, Decision], staff: dict[int, Staff], named: set, now) -> _Checked:
    refuse("visits", i, _check_times(item, now))
    day = timezone.localdate(item.checked_in_at)
    try:
        charges = check_charges(item.charges)
    except ActionError as exc:
        raise exc.prefixed(f"visits.{i}") from None
    if item.booking_id is not None:
        booking = bookings.get(item.booking_id)
        if booking is None or booking.patient_id not in decisions:
            not_found(actor, "visits", i, "booking_id", _("Booking: no such booking."),
                       patient_id=booking.patient_id if booking else None, object_type="booking",
                       object_id=item.booking_id if valid_id(item.booking_id) else "", action=Action.UPDATE)
        slot, schedule = booking.slot, booking.slot.schedule
        message = None
        if schedule.institution_id != actor.institution_id:
            message = _("This booking is for a clinic of another institution.")
        elif slot.status != SlotStatus.OPEN or booking.status == BookingStatus.CANCELLED:
            message = _("This booking was cancelled or its clinic stopped; it cannot be checked in.")
        elif booking.status != BookingStatus.BOOKED or booking.pk in named:
            message = _("This booking is no longer active.")
        elif slot.date != day:
            message = _("A booking is checked in on the day of its slot.")
        refuse("visits", i, {"booking_id": message} if message else {})
        if item.patient_id is not None and item.patient_id != booking.patient_id:
            refuse("visits", i, {"patient_id": _("The booking is for another patient.")})
        named.add(booking.pk)
        return _Checked(booking.patient_id, schedule.department_id, schedule.doctor_id, schedule.tier, day, booking,
                        charges)
    errors = {}
    if item.patient_id is None:
        errors["patient_id"] = _("This field is required.")
    if item.department_id not in desk.departments:
        errors["department_id"] = _("Department: choose a department of your institution.")
    doctor = staff.get(item.doctor_id) if item.doctor_id is not None else None
    if item.doctor_id is not None and (doctor is None or doctor.pk not in desk.members):
        errors["doctor_id"] = _("Doctor: choose a staff member of your institution.")
    refuse("visits", i, errors)
    if item.patient_id not in decisions:
        not_found(actor, "visits", i, "patient_id", _("Patient not found."),
                   patient_id=item.patient_id if valid_id(item.patient_id) else None, object_type="registration",
                   object_id="")
    return _Checked(item.patient_id, item.department_id, item.doctor_id, tier_for(doctor), day, None, charges)


def _first_registrations(desk: _Desk, patient_ids, since: date) -> dict[tuple[int, int], list[Registration]]:
    """First registrations (not reuses) of these patients at the desk's institution still valid on `since`
    or later, per (patient, department)."""
    out = defaultdict(list)
    for reg in Registration.objects.filter(patient_id__in=patient_ids, institution_id=desk.institution_id,
                                           reused_from__isnull=True, valid_until__gte=since).order_by("registered_at",
                                                                                                     "pk"):
        out[(reg.patient_id, reg.department_id)].append(reg)
    return out


def _contracts(patient_ids) -> dict[int, list[tuple[datetime, datetime]]]:
    """Family-doctor contracts (for now: family-doctor grants, not revoked) of these patients."""
    out = defaultdict(list)
    for patient_id, start, end in Grant.objects.filter(
            patient_id__in=patient_ids, kind=GrantKind.FAMILY_DOCTOR, revoked_at__isnull=True).values_list(
            "patient_id", "valid_from", "valid_to"):
        out[patient_id].append((start, end))
    return out


def _queue_state(desk: _Desk, patient_ids, days) -> tuple[dict, dict]:
    """The active queue places of these patients on these days, and the last number of each clinic's day."""
    active = {(p, d, day): n for p, d, day, n in QueueEntry.objects.filter(
        institution_id=desk.institution_id, patient_id__in=patient_ids, date__in=days, status__in=ACTIVE)
        .values_list("patient_id", "department_id", "date", "number")}
    last = {(d, day): n for d, day, n in QueueEntry.objects.filter(institution_id=desk.institution_id, date__in=days)
            .values("department_id", "date").annotate(n=Max("number")).values_list("department_id", "date", "n")}
    return active, last


def _priority(patient: Patient, reused: bool, disabled: bool, day: date) -> int:
    """`queue.priority_for`, for a registration not saved yet: disabled, elderly (70 and over), returning."""
    if disabled:
        return Priority.DISABLED
    if patient.birth_date is not None and age_on(patient.birth_date, day) >= ELDERLY_AGE:
        return Priority.ELDERLY
    return Priority.RETURNING if reused else Priority.NORMAL


class _Registrar:
    """Decides, in the order of the check-in times, each visit's registration (reuse, waiver or fee) and
    queue place, as `do_register_visit` and `do_queue_check_in` would have at that time."""

    def __init__(self, desk: _Desk, checked: list[_Checked], items: list[PastVisit]):
        self.desk, self.checked, self.items = desk, checked, items
        patient_ids = {c.patient_id for c in checked}
        days = {c.day for c in checked}
        self.patients = {p.pk: p for p in Patient.objects.filter(pk__in=patient_ids).only("pk", "birth_date")}
        self.firsts = _first_registrations(desk, patient_ids, min(days))
        self.contracts = _contracts(patient_ids)
        self.active, self.last = _queue_state(desk, patient_ids, days)

    def _earlier(self, c: _Checked, at: datetime) -> Registration | None:
        valid = [r for r in self.firsts[(c.patient_id, c.department_id)]
                 if r.registered_at <= at and r.valid_until >= c.day]
        return max(valid, key=lambda r: r.registered_at) if valid else None

    def _contracted(self, patient_id: int, at: datetime) -> bool:
        return any(start <= at < end for start, end in self.contracts[patient_id])

    def decide(self, i: int) -> tuple[Registration, Waiver | None, QueueEntry]:
        c, item = self.checked[i], self.items[i]
        at = item.checked_in_at
        patient = self.patients[c.patient_id]
        earlier = self._earlier(c, at)
        rule = fee = None
        if earlier is not None:
            if c.charges or item.end is not None:
                message = _("A return visit within the registration's validity opens no new encounter: give it "
                            "no charges and no end time.")
                raise ActionError(errors={f"visits.{i}.charges": message})
        else:
            rule = first_rule(self.desk.rules, patient, c.department_id, c.day,
                              lambda: self._contracted(c.patient_id, at))
            fee = self.desk.fees.get(c.tier)
            if fee is None:
                raise ActionError(f"visits.{i}.tier", _("No registration fee is set for this fee tier at your "
                                                        "institution."))
        key = (c.patient_id, c.department_id, c.day)
        if key in self.active:
            field_name = "booking_id" if c.booking else "patient_id"
            raise ActionError(f"visits.{i}.{field_name}", _(
                "This patient is already in this department's queue today (number %(number)s).")
                % {"number": self.active[key]})
        charged = fee if (fee and rule is None) else None
        registration = Registration(
            patient_id=c.patient_id, institution_id=self.desk.institution_id, department_id=c.department_id,
            booking=c.booking, reused_from=earlier, tier=c.tier, fee=charged or Decimal("0.00"), registered_at=at,
            valid_until=earlier.valid_until if earlier else c.day + timedelta(days=self.desk.valid_days - 1))
        if earlier is None:
            self.firsts[(c.patient_id, c.department_id)].append(registration)
        waiver = Waiver(registration=registration, amount=fee, rule=rule) if rule is not None else None
        number = self.last.get((c.department_id, c.day), 0) + 1
        self.last[(c.department_id, c.day)] = number
        self.active[key] = number
        entry = QueueEntry(
            registration=registration, patient_id=c.patient_id, institution_id=self.desk.institution_id,
            department_id=c.department_id, doctor_id=c.doctor_id, room=(item.room or "")[:20], date=c.day,
            number=number, priority=_priority(patient, earlier is not None, item.disabled, c.day),
            booked_at=c.booking.slot.start if c.booking else None, arrived_at=item.arrived_at, checked_in_at=at)
        return registration, waiver, entry


def _encounter_visit(desk: _Desk, c: _Checked, item: PastVisit, registration: Registration) -> CareVisit:
    charges = [Charge(ChargeCategory.REGISTRATION, registration.fee, "挂号")] if registration.fee else []
    return CareVisit(patient_id=c.patient_id, department_id=c.department_id, start=item.checked_in_at, end=item.end,
                     practitioner_id=c.doctor_id if c.doctor_id in desk.members else None,
                     charges=charges + c.charges)


def do_check_in_visits(actor: Actor, items: list[PastVisit]) -> list[QueueEntry]:
    """Register and queue many past visits at the actor's institution (`do_register_visit` and
    `do_queue_check_in` for each, at its check-in time): a booking is checked in on its slot's day; a
    registration still valid in the same department is reused (no fee, no new encounter), else a free rule
    waives the fee (a `Waiver` naming the rule), else the tier's fee is charged on the outpatient encounter
    the registration opens (through `care.actions.do_record_visits`); one active place a day per patient in
    a department's queue, numbered per clinic and day. Returns the queue entries in the order given, each
    with its `registration`."""
    require(actor, Cap.REGISTER, _("Your role may not register visits."))
    if not items:
        return []
    now = timezone.now()
    desk = _Desk(actor)
    bookings = bookings_by_id({item.booking_id for item in items if valid_id(item.booking_id)})
    patient_ids = {b.patient_id for b in bookings.values()} | {
        item.patient_id for item in items if item.booking_id is None and valid_id(item.patient_id)}
    decisions = decide_many(actor, patient_ids)
    staff = {s.pk: s for s in Staff.objects.filter(pk__in={item.doctor_id for item in items
                                                           if valid_id(item.doctor_id)})}
    named: set[int] = set()
    checked = [_check_visit(actor, desk, i, item, bookings, decisions, staff, named, now)
               for i, item in enumerate(items)]
    with transaction.atomic():
        lock_patients({c.patient_id for c in checked})
        registrar = _Registrar(desk, checked, items)
        decided = [None] * len(items)
        for i in sorted(range(len(items)), key=lambda k: (items[k].checked_in_at, k)):
            decided[i] = registrar.decide(i)
        booked = [c.booking.pk for c in checked if c.booking]
        if Booking.objects.filter(pk__in=booked, status=BookingStatus.BOOKED).update(
                status=BookingStatus.CHECKED_IN) != len(booked):
            raise ActionError("booking_id", _("This booking is no longer active."))
        opening = [i for i, (reg, _w, _e) in enumerate(decided) if reg.reused_from is None]
        encounters = do_record_visits(actor, [_encounter_visit(desk, checked[i], items[i], decided[i][0])
                                              for i in opening])
        for i, encounter in zip(opening, encounters, strict=True):
            decided[i][0].encounter = encounter
        for reg, _w, _e in decided:
            if reg.reused_from is not None:
                reg.encounter_id = reg.reused_from.encounter_id
        Registration.objects.bulk_create([decided[i][0] for i in opening])  # the reused ones exist first
        Registration.objects.bulk_create([reg for reg, _w, _e in decided if reg.reused_from is not None])
        Waiver.objects.bulk_create([w for _r, w, _e in decided if w is not None])
        try:  # a desk numbering the same clinic's day at this moment: the unique number refuses one of us
            with transaction.atomic():
                entries = QueueEntry.objects.bulk_create([e for _r, _w, e in decided])
        except IntegrityError:
            raise ActionError("visits", _("The desk is busy; please try again.")) from None
        BookingEvent.objects.bulk_create([
            booking_event(actor, c.booking, "checked_in", item.checked_in_at, registration=reg.pk)
            for c, item, (reg, _w, _e) in zip(checked, items, decided, strict=True) if c.booking])
        audits = []
        for c, (reg, waiver, entry) in zip(checked, decided, strict=True):
            reason = "reused" if reg.reused_from is not None else ("waived" if waiver else "")
            decision = decisions.get(c.patient_id)
            audits.append(audit_for(actor, c.patient_id, "registration", reg.pk, Action.CREATE, decision, reason))
            audits.append(audit_for(actor, c.patient_id, "queue", entry.pk, Action.CREATE, decision, "queue check-in"))
        AuditEvent.objects.bulk_create(audits)
    return entries


# --- the doctor's calls ---------------------------------------------------------------------------------


@dataclass
class Seen:
    """A patient of the queue called, let into the room and seen to the end, at these times."""

    entry_id: int
    called_at: datetime
    started_at: datetime
    ended_at: datetime


def _check_seen(item: Seen, entry: QueueEntry, staff_id, now) -> dict[str, str]:
    errors = {}
    if entry.doctor_id is not None and entry.doctor_id != staff_id:
        errors["entry_id"] = _("This patient waits for another doctor.")
    for name in ("called_at", "started_at", "ended_at"):
        bad = bad_time(getattr(item, name), now)
        if bad:
            errors[name] = bad
    if errors:
        return errors
    if item.called_at < entry.checked_in_at:
        errors["called_at"] = _("The call cannot come before the check-in.")
    elif item.started_at < item.called_at:
        errors["started_at"] = _("The visit cannot start before the call.")
    elif item.ended_at < item.started_at:
        errors["ended_at"] = _("End time must not be before the start.")
    return errors


def do_see_visits(actor: Actor, items: list[Seen]) -> list[QueueEntry]:
    """The doctor's calls for many waiting patients of the actor's institution, at past times: each called
    once (`do_call_next`: waiting, booked with this doctor or with none, who then becomes the entry's
    doctor), let into the room and seen to the end (`do_move` start and end); check-in ≤ call ≤ start ≤
    end. Each status moves by a conditional UPDATE on "waiting", as the single forms do. One audit row
    each, reason "called, start, end" (the single forms write one per button pressed)."""
    require(actor, Cap.CLINICAL, _("Your role may not call patients."))
    now = timezone.now()
    staff_id = actor.membership.staff_id if actor.membership else None
    entries = {e.pk: e for e in QueueEntry.objects.filter(
        pk__in={item.entry_id for item in items if valid_id(item.entry_id)}, institution_id=actor.institution_id)}
    decisions = decide_many(actor, {e.patient_id for e in entries.values()})
    named = set()
    for i, item in enumerate(items):
        entry = entries.get(item.entry_id)
        if entry is None or entry.patient_id not in decisions:
            not_found(actor, "seen", i, "entry_id", _("Queue entry: no such entry."),
                       patient_id=entry.patient_id if entry else None, object_type="queue",
                       object_id=item.entry_id if valid_id(item.entry_id) else "", action=Action.UPDATE)
        if entry.status != QueueStatus.WAITING or entry.pk in named:
            refuse("seen", i, {"status": _("Only a waiting patient can be called.")})
        named.add(entry.pk)
        refuse("seen", i, _check_seen(item, entry, staff_id, now))
    out = []
    with transaction.atomic():
        for item in items:
            entry = entries[item.entry_id]
            entry.status, entry.calls = QueueStatus.DONE, entry.calls + 1
            entry.called_at, entry.started_at, entry.ended_at = item.called_at, item.started_at, item.ended_at
            entry.doctor_id = entry.doctor_id or staff_id
            out.append(entry)
        fields = ["status", "calls", "called_at", "started_at", "ended_at", "doctor_id"]
        if update_each(QueueEntry, fields, out, status=QueueStatus.WAITING) != len(out):
            raise ActionError("status", _("Only a waiting patient can be called."))
        AuditEvent.objects.bulk_create([audit_for(actor, e.patient_id, "queue", e.pk, Action.UPDATE,
                                               decisions[e.patient_id], "called, start, end") for e in out])
    return out
