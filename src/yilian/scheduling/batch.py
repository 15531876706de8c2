"""Batch forms of the scheduling actions, for the demo generator and importers of past activity: slots,
bookings, cancellations and no-shows here; registration, check-in and the doctor's calls in
`batch_visits.py`, with the helpers below.

Each runs the checks of its single form on every item — `actions.do_generate_slots`, `do_book`, `do_cancel`
and `do_mark_no_show`; `registration.do_register_visit` with `queue.do_queue_check_in`; the doctor's
`queue.do_call_next` and `do_move` — then writes everything in one transaction with bulk inserts: all or
nothing, with the booking events and audit rows. The times are passed in (the visits happened then), never
read from the clock: each must carry a time zone and not lie in the future. A failing item is named by its
index (`bookings.3.slot_id`, `visits.12.checked_in_at`, `seen.0.called_at`); a patient or booking the actor
may not see is audited as denied and answered "not found", as the single forms answer 404.
"""

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connections, router, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yilian.access.gate import Decision, audit, audit_row, decide_many
from yilian.access.models import Action, AuditEvent, Basis, CareRelation, Outcome
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.patients.models import Patient
from yilian.scheduling.actions import MAX_RANGE_DAYS
from yilian.scheduling.models import (
    ACTIVE_BOOKING,
    Booking,
    BookingEvent,
    BookingStatus,
    Channel,
    Holiday,
    Schedule,
    Slot,
    SlotStatus,
)
from yilian.scheduling.policy import policy_for
from yilian.scheduling.slots import periods, places_left

MAX_ID = 2**63 - 1


def valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def require(actor: Actor, cap: str, message: str) -> None:
    if not actor.can(cap):
        raise ActionError("role", message)


def bad_time(value, now: datetime) -> str | None:
    """Why `value` is no time of a past event, or None."""
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return _("The time must carry a time zone, e.g. +08:00.")
    if value > now:
        return _("This time cannot be in the future.")
    return None


def refuse(prefix: str, i: int, errors: dict[str, str]) -> None:
    if errors:
        raise ActionError(errors=errors).prefixed(f"{prefix}.{i}")


def not_found(actor: Actor, prefix: str, i: int, field_name: str, message: str, *, patient_id,
               object_type: str, object_id, action: str = Action.CREATE) -> None:
    """A row the actor may not see (or that does not exist): audited as denied, then refused."""
    audit(actor, patient_id=patient_id, object_type=object_type, object_id=object_id, action=action,
          outcome=Outcome.DENIED)
    raise ActionError(f"{prefix}.{i}.{field_name}", message)


def lock_patients(patient_ids) -> None:
    """Lock the patients' rows (in one order, so two batches cannot deadlock), as the single forms lock
    the patient while they count a limit."""
    list(Patient.objects.select_for_update().filter(pk__in=set(patient_ids)).order_by("pk")
         .values_list("pk", flat=True))


def update_each(model, fields: list[str], rows, *, status: str | None = None) -> int:
    """`UPDATE … SET fields WHERE pk = … [AND status = …]` for each row, as one statement run with many
    parameter sets (Django's `bulk_update` builds a CASE per field and row, far slower for thousands of
    rows). With `status`, a row no longer in that status is left alone: the caller compares the count."""
    connection = connections[router.db_for_write(model)]
    meta, quote = model._meta, connection.ops.quote_name
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(c.column)} = %s" for c in columns)  # names from the model, values as parameters
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    if status:
        sql += f" AND {quote(meta.get_field('status').column)} = %s"
    params = [[c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns] + [row.pk]
              + ([status] if status else []) for row in rows]
    if not params:
        return 0
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)
        return cursor.rowcount


def booking_event(actor: Actor, booking: Booking, kind: str, at: datetime, **data) -> BookingEvent:
    return BookingEvent(booking=booking, kind=kind, at=at, user_id=actor.user_id,
                        membership_id=actor.membership.pk if actor.membership else None, data=data)


def audit_for(actor: Actor, patient_id: int, object_type: str, object_id: int, action: str,
           decision: Decision | None, reason: str = "") -> AuditEvent:
    return audit_row(actor, patient_id=patient_id, object_type=object_type, object_id=object_id, action=action,
                     decision=decision or Decision(Basis.CARE), reason=reason)


# --- slots ----------------------------------------------------------------------------------------------


def do_generate_slots_many(actor: Actor, schedule_ids: list[int], date_from: date, date_to: date) -> int:
    """`actions.do_generate_slots` for many schedules of the actor's institution over one range of at most
    92 days, in one insert: the slots of each schedule within its validity, on its weekdays, not on the
    institution's holidays. Idempotent (a slot that exists stays as it is). Returns how many were new."""
    require(actor, Cap.SCHEDULE, _("Your role may not manage clinic schedules."))
    schedules = {s.pk: s for s in Schedule.objects.filter(
        pk__in={sid for sid in schedule_ids if valid_id(sid)}, institution_id=actor.institution_id).order_by("pk")}
    for i, schedule_id in enumerate(schedule_ids):
        if schedule_id not in schedules:
            raise ActionError(f"schedule_ids.{i}", _("Schedule: choose a schedule of your institution."))
    if date_to < date_from:
        raise ActionError("date_to", _("The range must end on or after the day it starts."))
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ActionError("date_to", _("Generate at most 92 days at a time."))
    holidays = set(Holiday.objects.filter(institution_id=actor.institution_id, date__range=(date_from, date_to))
                   .values_list("date", flat=True))
    rows = []
    for schedule in schedules.values():
        day, last = max(date_from, schedule.valid_from), min(date_to, schedule.valid_to)
        while day <= last:
            if str(day.isoweekday()) in schedule.weekdays and day not in holidays:
                rows += [Slot(schedule=schedule, date=day, start=start, end=end, capacity=schedule.capacity,
                              reserved=schedule.referral_reserved,
                              release_at=start - timedelta(hours=schedule.release_hours))
                         for start, end in periods(schedule, day)]
            day += timedelta(days=1)
    with transaction.atomic():
        before = Slot.objects.filter(schedule_id__in=schedules).count()
        Slot.objects.bulk_create(rows, ignore_conflicts=True)  # unique (schedule, start): a rerun adds nothing
        return Slot.objects.filter(schedule_id__in=schedules).count() - before


# --- bookings -------------------------------------------------------------------------------------------


@dataclass
class NewBooking:
    patient_id: int
    slot_id: int
    at: datetime  # when the place was booked
    channel: str = Channel.WINDOW


def _slots(ids, lock: bool = False) -> dict[int, Slot]:
    qs = Slot.objects.select_related("schedule", "schedule__institution").filter(pk__in=ids).order_by("pk")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return {s.pk: s for s in qs}


def _check_booking(actor: Actor, item: NewBooking, slot: Slot | None, consortium_id, now) -> dict[str, str]:
    """`actions.check_book`, at the time the booking was made."""
    errors: dict[str, str] = {}
    if item.channel not in Channel.values:
        errors["channel"] = _("Channel: choose window, self-service, phone or referral.")
    if slot is None or slot.schedule.institution.consortium_id != consortium_id:
        errors["slot_id"] = _("Slot: no such slot.")
    elif item.channel == Channel.REFERRAL and slot.schedule.institution_id == actor.institution_id:
        errors["channel"] = _("A referral books a slot at another institution.")
    elif slot.status != SlotStatus.OPEN:
        errors["slot_id"] = _("This clinic has been stopped; choose another slot.")
    bad = bad_time(item.at, now)
    if bad:
        errors["at"] = bad
    elif slot is not None and "slot_id" not in errors and slot.start <= item.at:
        errors["slot_id"] = _("This slot has already started; choose a later one.")
    return errors


def _active_bookings(patient_ids, days) -> tuple[Counter, set]:
    """Active bookings of these patients on these days: per (patient, department, day), and (patient, slot)."""
    per_day: Counter = Counter()
    held = set()
    rows = Booking.objects.filter(ACTIVE_BOOKING, patient_id__in=patient_ids, slot__date__in=days).values_list(
        "patient_id", "slot__schedule__department_id", "slot__date", "slot_id")
    for patient_id, department_id, day, slot_id in rows:
        per_day[(patient_id, department_id, day)] += 1
        held.add((patient_id, slot_id))
    return per_day, held


def do_book_many(actor: Actor, items: list[NewBooking]) -> list[Booking]:
    """Book many places, each at its own past time (`do_book`'s checks: the slot open, of the consortium,
    not started when booked; the patient visible; a place left for the channel at that time; at most the
    institution's `max_daily_bookings` active bookings per patient, department and day; one per slot).
    Places are claimed in the order of the booking times. Returns the bookings in the order given."""
    require(actor, Cap.REGISTER, _("Your role may not book appointments."))
    now = timezone.now()
    consortium_id = Institution.objects.filter(pk=actor.institution_id).values_list("consortium_id", flat=True).first()
    slots = _slots({item.slot_id for item in items if valid_id(item.slot_id)})
    decisions = decide_many(actor, {item.patient_id for item in items if valid_id(item.patient_id)})
    for i, item in enumerate(items):
        refuse("bookings", i, _check_booking(actor, item, slots.get(item.slot_id), consortium_id, now))
        if item.patient_id not in decisions:
            not_found(actor, "bookings", i, "patient_id", _("Patient not found."),
                       patient_id=item.patient_id if valid_id(item.patient_id) else None, object_type="booking",
                       object_id="")
    with transaction.atomic():
        lock_patients(decisions)
        slots = _slots(set(slots), lock=True)  # the counters as they stand now
        per_day, held = _active_bookings({item.patient_id for item in items}, {s.date for s in slots.values()})
        limits = {inst: policy_for(inst).max_daily_bookings for inst in {s.schedule.institution_id
                                                                         for s in slots.values()}}
        rows: list[Booking | None] = [None] * len(items)
        touched: set[int] = set()
        for i in sorted(range(len(items)), key=lambda k: (items[k].at, k)):
            item, slot = items[i], slots[items[i].slot_id]
            day_key = (item.patient_id, slot.schedule.department_id, slot.date)
            if (item.patient_id, slot.pk) in held:
                raise ActionError(f"bookings.{i}.slot_id", _("The patient already holds a booking in this slot."))
            limit = limits[slot.schedule.institution_id]
            if per_day[day_key] >= limit:
                raise ActionError(f"bookings.{i}.patient_id", ngettext(
                    "The patient already holds %(n)d booking in this department on this day, the most allowed.",
                    "The patient already holds %(n)d bookings in this department on this day, the most allowed.",
                    limit) % {"n": limit})
            if places_left(slot, item.channel, item.at) <= 0:
                raise ActionError(f"bookings.{i}.slot_id", _("This slot is taken."))
            slot.booked += 1
            slot.referral_booked += 1 if item.channel == Channel.REFERRAL else 0
            slot.issued += 1
            per_day[day_key] += 1
            held.add((item.patient_id, slot.pk))
            touched.add(slot.pk)
            rows[i] = Booking(patient_id=item.patient_id, slot=slot, serial=slot.issued,
                              number=f"{slot.date:%Y%m%d}-{slot.pk}-{slot.issued:03d}", channel=item.channel,
                              created_at=item.at)
        bookings = Booking.objects.bulk_create(rows)
        update_each(Slot, ["booked", "referral_booked", "issued"], [s for s in slots.values() if s.pk in touched])
        CareRelation.objects.bulk_create([
            CareRelation(patient_id=b.patient_id, institution_id=b.slot.schedule.institution_id, source_type="booking",
                         source_id=b.pk, since=b.created_at) for b in bookings])
        BookingEvent.objects.bulk_create([booking_event(actor, b, "booked", b.created_at, channel=b.channel)
                                          for b in bookings])
        AuditEvent.objects.bulk_create([audit_for(actor, b.patient_id, "booking", b.pk, Action.CREATE,
                                               decisions[b.patient_id]) for b in bookings])
    return bookings


@dataclass
class Cancellation:
    booking_id: int
    at: datetime
    reason: str = ""


@dataclass
class NoShow:
    booking_id: int
    at: datetime  # when the desk marked it


def bookings_by_id(ids, lock: bool = False) -> dict[int, Booking]:
    qs = Booking.objects.select_related("slot", "slot__schedule").filter(pk__in=ids).order_by("pk")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return {b.pk: b for b in qs}


def _visible_bookings(actor: Actor, prefix: str, items) -> tuple[dict[int, Booking], dict[int, Decision]]:
    """The bookings named, each one the actor may see (else audited as denied and refused), each named
    once in the batch and still booked."""
    bookings = bookings_by_id({item.booking_id for item in items if valid_id(item.booking_id)})
    decisions = decide_many(actor, {b.patient_id for b in bookings.values()})
    named = set()
    for i, item in enumerate(items):
        booking = bookings.get(item.booking_id)
        if booking is None or booking.patient_id not in decisions:
            not_found(actor, prefix, i, "booking_id", _("Booking: no such booking."),
                       patient_id=booking.patient_id if booking else None, object_type="booking",
                       object_id=item.booking_id if valid_id(item.booking_id) else "", action=Action.UPDATE)
        if booking.status != BookingStatus.BOOKED or booking.pk in named:
            raise ActionError(f"{prefix}.{i}.booking_id", _("This booking is no longer active."))
        named.add(booking.pk)
    return bookings, decisions


def _move_bookings(bookings: list[Booking], fields: list[str]) -> None:
    """Inside the transaction: write the bookings' new status (a conditional UPDATE on the old one, as the
    single forms do); one no longer booked refuses the whole batch."""
    if update_each(Booking, fields, bookings, status=BookingStatus.BOOKED) != len(bookings):
        raise ActionError("booking_id", _("This booking is no longer active."))


def do_cancel_many(actor: Actor, items: list[Cancellation]) -> list[Booking]:
    """Cancel many bookings, each at its own past time before its slot started (`do_cancel`); the places
    are free again."""
    require(actor, Cap.REGISTER, _("Your role may not change bookings."))
    now = timezone.now()
    bookings, decisions = _visible_bookings(actor, "cancellations", items)
    for i, item in enumerate(items):
        booking = bookings[item.booking_id]
        bad = bad_time(item.at, now)
        if bad:
            refuse("cancellations", i, {"at": bad})
        if item.at < booking.created_at:
            refuse("cancellations", i, {"at": _("The cancellation cannot come before the booking.")})
        if booking.slot.start <= item.at:
            refuse("cancellations", i, {"booking_id": _(
                "The slot has started; a booking can no longer be cancelled.")})
    out = []
    with transaction.atomic():
        freed: Counter = Counter()
        freed_referral: Counter = Counter()
        for item in items:
            booking = bookings[item.booking_id]
            booking.status, booking.reason = BookingStatus.CANCELLED, (item.reason or "").strip()[:200]
            freed[booking.slot_id] += 1
            freed_referral[booking.slot_id] += 1 if booking.channel == Channel.REFERRAL else 0
            out.append(booking)
        _move_bookings(out, ["status", "reason"])
        slots = _slots(set(freed), lock=True)
        for slot in slots.values():
            slot.booked -= freed[slot.pk]
            slot.referral_booked -= freed_referral[slot.pk]
        update_each(Slot, ["booked", "referral_booked"], slots.values())
        BookingEvent.objects.bulk_create([booking_event(actor, b, "cancelled", item.at, reason=b.reason)
                                          for b, item in zip(out, items, strict=True)])
        AuditEvent.objects.bulk_create([audit_for(actor, b.patient_id, "booking", b.pk, Action.UPDATE,
                                               decisions[b.patient_id], "cancelled") for b in out])
    return out


def do_mark_no_show_many(actor: Actor, items: list[NoShow]) -> list[Booking]:
    """Mark many bookings never checked in as no-shows, each after its slot ended, by the clinic's own
    institution (`do_mark_no_show`)."""
    require(actor, Cap.REGISTER, _("Your role may not change bookings."))
    now = timezone.now()
    bookings, decisions = _visible_bookings(actor, "no_shows", items)
    for i, item in enumerate(items):
        booking = bookings[item.booking_id]
        if booking.slot.schedule.institution_id != actor.institution_id:
            refuse("no_shows", i, {"booking_id": _("Only the institution of the clinic marks a no-show.")})
        bad = bad_time(item.at, now)
        if bad:
            refuse("no_shows", i, {"at": bad})
        if item.at < booking.slot.end:
            refuse("no_shows", i, {"booking_id": _("A no-show can be marked only after the slot ends.")})
    out = []
    with transaction.atomic():
        for item in items:
            booking = bookings[item.booking_id]
            booking.status = BookingStatus.NO_SHOW
            out.append(booking)
        _move_bookings(out, ["status"])
        BookingEvent.objects.bulk_create([booking_event(actor, b, "no_show", item.at)
                                          for b, item in zip(out, items, strict=True)])
        AuditEvent.objects.bulk_create([audit_for(actor, b.patient_id, "booking", b.pk, Action.UPDATE,
                                               decisions[b.patient_id], "no-show") for b in out])
    return out
