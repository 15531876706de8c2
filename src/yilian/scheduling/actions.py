"""Clinic schedules, their slots and bookings: the only code that changes them.

`check_*` validates and raises `ActionError` naming each bad field; `do_*` writes in a transaction with its
event and audit rows. A place in a slot is claimed by one conditional UPDATE (`booked < capacity`, and the
referral reservation), so parallel bookings of the last place leave exactly one winner; the CHECK
constraint `booked <= capacity` and the unique (slot, serial) are the database's last guard.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from yilian.access.actions import do_record_care
from yilian.access.gate import Decision, access_object, access_patient_for_write, audit, audit_row, decide
from yilian.access.models import Action, Basis, CareRelation
from yilian.errors import ActionError
from yilian.network.acting import Actor, require_cap
from yilian.network.models import Department, Institution, Staff
from yilian.network.roles import Cap
from yilian.patients.models import Patient
from yilian.scheduling.models import (
    ACTIVE_BOOKING,
    Booking,
    BookingEvent,
    BookingStatus,
    Channel,
    FeePolicy,
    FeeTier,
    FreeRegistrationRule,
    FreeRule,
    Holiday,
    Message,
    OutpatientPolicy,
    Schedule,
    SessionKind,
    Slot,
    SlotStatus,
)
from yilian.scheduling.policy import policy_for, tier_for
from yilian.scheduling.slots import alternatives, describe, free_for, periods

MAX_RANGE_DAYS = 92  # slots are generated a season at a time at most


# --- schedules and policy rows --------------------------------------------------------------------------


@dataclass
class NewSchedule:
    department_id: int
    session: str
    start_time: time
    end_time: time
    slot_minutes: int
    capacity: int
    weekdays: str
    valid_from: date
    valid_to: date
    doctor_id: int | None = None
    referral_reserved: int = 0
    release_hours: int = 24
    special: bool = False  # a 特需 clinic


def check_schedule(actor: Actor, data: NewSchedule) -> Staff | None:
    """Every bad field at once; returns the doctor (an active member of the actor's institution)."""
    require_cap(actor, Cap.SCHEDULE, _("Your role may not manage clinic schedules."))
    errors: dict[str, str] = {}
    if not Department.objects.filter(pk=data.department_id, institution_id=actor.institution_id).exists():
        errors["department_id"] = _("Department: choose a department of your institution.")
    doctor = None
    if data.doctor_id is not None:
        doctor = Staff.objects.filter(pk=data.doctor_id, memberships__institution_id=actor.institution_id,
                                      memberships__active=True).distinct().first()
        if doctor is None:
            errors["doctor_id"] = _("Doctor: choose a staff member of your institution.")
    if data.session not in SessionKind.values:
        errors["session"] = _("Session: choose morning, afternoon, evening or weekend.")
    if not (isinstance(data.start_time, time) and isinstance(data.end_time, time)
            and data.start_time < data.end_time):
        errors["end_time"] = _("The clinic must end after it starts.")
    if not 5 <= data.slot_minutes <= 240:
        errors["slot_minutes"] = _("Slot length: 5 to 240 minutes.")
    if not 1 <= data.capacity <= 200:
        errors["capacity"] = _("Capacity per slot: 1 to 200.")
    elif not 0 <= data.referral_reserved <= data.capacity:
        errors["referral_reserved"] = _("Places reserved for referral: from 0 up to the capacity.")
    if not 0 <= data.release_hours <= 168:
        errors["release_hours"] = _("Release of referral places: 0 to 168 hours before the slot.")
    days = data.weekdays or ""
    if not days or any(c not in "1234567" for c in days) or len(set(days)) != len(days):
        errors["weekdays"] = _("Weekdays: digits 1 (Monday) to 7 (Sunday), each at most once.")
    if data.valid_to < data.valid_from:
        errors["valid_to"] = _("The schedule must end on or after the day it starts.")
    if errors:
        raise ActionError(errors=errors)
    return doctor


def do_create_schedule(actor: Actor, data: NewSchedule) -> Schedule:
    doctor = check_schedule(actor, data)
    return Schedule.objects.create(
        institution_id=actor.institution_id, department_id=data.department_id, doctor=doctor,
        session=data.session, start_time=data.start_time, end_time=data.end_time, slot_minutes=data.slot_minutes,
        capacity=data.capacity, referral_reserved=data.referral_reserved, release_hours=data.release_hours,
        tier=tier_for(doctor, data.special), weekdays="".join(sorted(data.weekdays)), valid_from=data.valid_from,
        valid_to=data.valid_to,
    )


def _own_schedule(actor: Actor, schedule_id) -> Schedule:
    require_cap(actor, Cap.SCHEDULE, _("Your role may not manage clinic schedules."))
    schedule = Schedule.objects.filter(pk=schedule_id, institution_id=actor.institution_id).first()
    if schedule is None:
        raise ActionError("schedule_id", _("Schedule: choose a schedule of your institution."))
    return schedule


def do_generate_slots(actor: Actor, schedule_id: int, date_from: date, date_to: date) -> int:
    """Create the slots of a schedule for a date range (within its validity, on its weekdays, not on the
    institution's holidays). Idempotent: a slot that exists is kept as it is. Returns how many were new."""
    schedule = _own_schedule(actor, schedule_id)
    if date_to < date_from:
        raise ActionError("date_to", _("The range must end on or after the day it starts."))
    if (date_to - date_from).days >= MAX_RANGE_DAYS:
        raise ActionError("date_to", _("Generate at most 92 days at a time."))
    first, last = max(date_from, schedule.valid_from), min(date_to, schedule.valid_to)
    holidays = set(Holiday.objects.filter(institution_id=schedule.institution_id, date__range=(first, last))
                   .values_list("date", flat=True))
    rows = []
    day = first
    while day <= last:
        if str(day.isoweekday()) in schedule.weekdays and day not in holidays:
            rows += [Slot(schedule=schedule, date=day, start=start, end=end, capacity=schedule.capacity,
                          reserved=schedule.referral_reserved,
                          release_at=start - timedelta(hours=schedule.release_hours))
                     for start, end in periods(schedule, day)]
        day += timedelta(days=1)
    with transaction.atomic():
        before = Slot.objects.filter(schedule=schedule).count()
        Slot.objects.bulk_create(rows, ignore_conflicts=True)  # unique (schedule, start): a rerun adds nothing
        return Slot.objects.filter(schedule=schedule).count() - before


# Policy rows are set for an institution: its own registrars (capability `schedule`) set the acting
# institution's; the consortium manager (capability `policy`) sets any member's. Every change writes one
# audit row (no patient): object type "outpatient-policy", object id the institution, the reason what changed.
POLICY_OBJECT = "outpatient-policy"
HOLIDAY_OBJECT = "holiday"


def policy_institution(actor: Actor, institution_id=None) -> int:
    """The institution whose policy rows the actor may change: their own (capability `schedule` or
    `policy`), or with `policy` any member of their consortium; otherwise the field `institution_id`."""
    if not (actor.can(Cap.SCHEDULE) or actor.can(Cap.POLICY)):
        raise ActionError("role", _("Your role may not set outpatient policy."))
    if institution_id is None or institution_id == actor.institution_id:
        return actor.institution_id
    if not actor.can(Cap.POLICY):
        raise ActionError("institution_id", _("Institution: you may set the policy of your own institution only."))
    consortium = Institution.objects.filter(pk=actor.institution_id).values("consortium_id")[:1]
    if not (isinstance(institution_id, int) and 0 < institution_id < 2**63
            and Institution.objects.filter(pk=institution_id, consortium_id__in=consortium).exists()):
        raise ActionError("institution_id", _("Institution: choose a member of your consortium."))
    return institution_id


def _policy_audit(actor: Actor, institution_id: int, action: str, what: str,
                  object_type: str = POLICY_OBJECT) -> None:
    audit(actor, patient_id=None, object_type=object_type, object_id=institution_id, action=action, reason=what)


def _amount(value) -> Decimal | None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and Decimal("0") <= amount <= Decimal("9999.99") else None


def do_set_fee(actor: Actor, tier: str, amount, *, institution_id: int | None = None) -> FeePolicy:
    """The registration fee of a tier at an institution (one row per institution and tier, changed in place)."""
    target = policy_institution(actor, institution_id)
    errors = {}
    if tier not in FeeTier.values:
        errors["tier"] = _("Fee tier: choose ordinary, expert or special.")
    amount = _amount(amount)
    if amount is None:
        errors["amount"] = _("Fee: a number of yuan from 0 to 9999.99.")
    if errors:
        raise ActionError(errors=errors)
    with transaction.atomic():
        old = (FeePolicy.objects.select_for_update().filter(institution_id=target, tier=tier)
               .values_list("amount", flat=True).first())
        fee, created = FeePolicy.objects.update_or_create(institution_id=target, tier=tier,
                                                          defaults={"amount": amount})
        _policy_audit(actor, target, Action.CREATE if created else Action.UPDATE,
                      f"fee {tier}: {'-' if old is None else old} -> {amount}")
    return fee


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def do_set_policy(actor: Actor, *, max_daily_bookings: int, registration_valid_days: int,
                  institution_id: int | None = None) -> OutpatientPolicy:
    """An institution's booking limit and registration validity (one row per institution)."""
    target = policy_institution(actor, institution_id)
    errors = {}
    if not _whole(max_daily_bookings, 1, 20):
        errors["max_daily_bookings"] = _("Bookings per patient, department and day: 1 to 20.")
    if not _whole(registration_valid_days, 1, 30):
        errors["registration_valid_days"] = _("Registration validity: 1 to 30 days.")
    if errors:
        raise ActionError(errors=errors)
    with transaction.atomic():
        old = policy_for(target)
        policy, created = OutpatientPolicy.objects.update_or_create(
            institution_id=target,
            defaults={"max_daily_bookings": max_daily_bookings, "registration_valid_days": registration_valid_days})
        _policy_audit(actor, target, Action.CREATE if created else Action.UPDATE,
                      f"bookings per day {old.max_daily_bookings} -> {max_daily_bookings}; "
                      f"registration valid days {old.registration_valid_days} -> {registration_valid_days}")
    return policy


def _rule_text(rule: FreeRegistrationRule) -> str:
    if rule.kind == FreeRule.AGE:
        return f"age >= {rule.min_age}"
    if rule.kind == FreeRule.DEPARTMENT:
        return f"department #{rule.department_id}"
    return rule.kind


def do_add_free_rule(actor: Actor, kind: str, *, min_age: int | None = None, department_id: int | None = None,
                     institution_id: int | None = None) -> FreeRegistrationRule:
    """A group that registers free at an institution: aged `min_age` or more, contracted with a family
    doctor, or seen in `department_id` (a department of that institution). The same active rule twice is
    refused."""
    target = policy_institution(actor, institution_id)
    if kind not in FreeRule.values:
        raise ActionError("kind", _("Rule: choose age, contracted or department."))
    if kind == FreeRule.AGE and not _whole(min_age, 0, 150):
        raise ActionError("min_age", _("Minimum age: a whole number of years from 0 to 150."))
    if kind == FreeRule.DEPARTMENT and not (_whole(department_id, 1, 2**63 - 1) and Department.objects.filter(
            pk=department_id, institution_id=target).exists()):
        raise ActionError("department_id", _("Department: choose a department of that institution."))
    rule = FreeRegistrationRule(institution_id=target, kind=kind, min_age=min_age if kind == FreeRule.AGE else None,
                                department_id=department_id if kind == FreeRule.DEPARTMENT else None)
    with transaction.atomic():
        if FreeRegistrationRule.objects.select_for_update().filter(
                institution_id=target, kind=kind, min_age=rule.min_age, department_id=rule.department_id,
                active=True).exists():
            raise ActionError("kind", _("This rule is already in force."))
        rule.save()
        _policy_audit(actor, target, Action.CREATE, f"free rule #{rule.pk} added: {_rule_text(rule)}")
    return rule


def do_deactivate_free_rule(actor: Actor, rule_id, *, institution_id: int | None = None) -> FreeRegistrationRule:
    """Stop a free-registration rule (kept, inactive: the waivers it granted still name it)."""
    target = policy_institution(actor, institution_id)
    rule = FreeRegistrationRule.objects.filter(pk=rule_id, institution_id=target).first() \
        if _whole(rule_id, 1, 2**63 - 1) else None
    if rule is None:
        raise ActionError("rule_id", _("Rule: no such rule at that institution."))
    with transaction.atomic():
        if not FreeRegistrationRule.objects.filter(pk=rule.pk, active=True).update(active=False):
            raise ActionError("rule_id", _("This rule is no longer in force."))
        rule.active = False
        _policy_audit(actor, target, Action.UPDATE, f"free rule #{rule.pk} deactivated: {_rule_text(rule)}")
    return rule


def do_add_holiday(actor: Actor, day: date, name: str = "") -> Holiday:
    """A day the acting institution holds no scheduled clinics: slot generation skips it. Slots generated
    before stay as they are (stop those clinics with `do_stop_clinic` so the booked patients are told)."""
    require_cap(actor, Cap.SCHEDULE, _("Your role may not manage clinic schedules."))
    errors = {}
    if not isinstance(day, date):
        errors["date"] = _("Date: choose a day.")
    name = (name or "").strip()
    if len(name) > 50:
        errors["name"] = _("Name: at most 50 characters.")
    if errors:
        raise ActionError(errors=errors)
    with transaction.atomic():
        if Holiday.objects.filter(institution_id=actor.institution_id, date=day).exists():
            raise ActionError("date", _("This day is already a holiday."))
        try:
            with transaction.atomic():
                holiday = Holiday.objects.create(institution_id=actor.institution_id, date=day, name=name)
        except IntegrityError:  # added at the same moment by another desk
            raise ActionError("date", _("This day is already a holiday.")) from None
        _policy_audit(actor, actor.institution_id, Action.CREATE, f"holiday {day:%Y-%m-%d} added",
                      object_type=HOLIDAY_OBJECT)
    return holiday


def do_remove_holiday(actor: Actor, holiday_id) -> None:
    """The day is an ordinary day again; generating slots again adds its clinics."""
    require_cap(actor, Cap.SCHEDULE, _("Your role may not manage clinic schedules."))
    holiday = Holiday.objects.filter(pk=holiday_id, institution_id=actor.institution_id).first() \
        if _whole(holiday_id, 1, 2**63 - 1) else None
    if holiday is None:
        raise ActionError("holiday_id", _("Holiday: no such holiday at your institution."))
    with transaction.atomic():
        if not Holiday.objects.filter(pk=holiday.pk).delete()[0]:
            raise ActionError("holiday_id", _("Holiday: no such holiday at your institution."))
        _policy_audit(actor, actor.institution_id, Action.DELETE, f"holiday {holiday.date:%Y-%m-%d} removed",
                      object_type=HOLIDAY_OBJECT)


# --- booking --------------------------------------------------------------------------------------------


class SlotTaken(ActionError):
    """The slot had no place left for the channel; `alternatives` are the nearest free slots."""

    def __init__(self, slot: Slot, channel: str):
        self.alternatives = alternatives(slot, channel)
        if self.alternatives:
            message = _("This slot is taken. Nearest free slots: %(slots)s.") % {"slots": describe(self.alternatives)}
        else:
            message = _("This slot is taken, and no slot nearby in the same department and fee tier is free.")
        super().__init__("slot_id", message)


def find_slot(slot_id) -> Slot:
    slot = Slot.objects.select_related("schedule", "schedule__institution").filter(pk=slot_id).first() \
        if isinstance(slot_id, int) and 0 < slot_id < 2**63 else None
    if slot is None:
        raise ActionError("slot_id", _("Slot: no such slot."))
    return slot


def check_book(actor: Actor, slot: Slot, channel: str, now) -> None:
    """What can be said before the claim: role, channel, the slot's consortium, state and time."""
    require_cap(actor, Cap.REGISTER, _("Your role may not book appointments."))
    if channel not in Channel.values:
        raise ActionError("channel", _("Channel: choose window, self-service, phone or referral."))
    actor_consortium = Institution.objects.filter(pk=actor.institution_id).values_list("consortium_id", flat=True)
    if slot.schedule.institution.consortium_id not in set(actor_consortium):
        raise ActionError("slot_id", _("Slot: no such slot."))
    if channel == Channel.REFERRAL and slot.schedule.institution_id == actor.institution_id:
        raise ActionError("channel", _("A referral books a slot at another institution."))
    check_slot_open(slot, now)


def check_slot_open(slot: Slot, now) -> None:
    """The slot's clinic is not stopped and the slot has not started (every channel, residents' too)."""
    if slot.status != SlotStatus.OPEN:
        raise ActionError("slot_id", _("This clinic has been stopped; choose another slot."))
    if slot.start <= now:
        raise ActionError("slot_id", _("This slot has already started; choose a later one."))


def _check_limit(patient_id: int, slot: Slot) -> None:
    """At most N active bookings per patient, department and day (the institution's policy)."""
    limit = policy_for(slot.schedule.institution_id).max_daily_bookings
    active = Booking.objects.filter(ACTIVE_BOOKING, patient_id=patient_id, slot__date=slot.date,
                                    slot__schedule__department_id=slot.schedule.department_id)
    if active.filter(slot=slot).exists():
        raise ActionError("slot_id", _("The patient already holds a booking in this slot."))
    if active.count() >= limit:
        raise ActionError("patient_id", ngettext(
            "The patient already holds %(n)d booking in this department on this day, the most allowed.",
            "The patient already holds %(n)d bookings in this department on this day, the most allowed.",
            limit) % {"n": limit})


def claim_place(actor: Actor, patient_id: int, slot: Slot, channel: str, now, **event) -> Booking:
    """Inside a transaction: lock the patient (for the limit), claim a place, write the booking."""
    list(Patient.objects.select_for_update().filter(pk=patient_id).values_list("pk", flat=True))
    _check_limit(patient_id, slot)
    referral = 1 if channel == Channel.REFERRAL else 0
    claimed = Slot.objects.filter(free_for(channel, now), pk=slot.pk).update(
        booked=F("booked") + 1, referral_booked=F("referral_booked") + referral, issued=F("issued") + 1)
    if not claimed:
        raise SlotTaken(slot, channel)
    serial = Slot.objects.values_list("issued", flat=True).get(pk=slot.pk)
    number = f"{slot.date:%Y%m%d}-{slot.pk}-{serial:03d}"
    try:  # no savepoint: a failure here rolls the caller's whole transaction back
        booking = Booking.objects.create(patient_id=patient_id, slot=slot, serial=serial, number=number,
                                         channel=channel, created_at=now)
    except IntegrityError:  # the last guard: the same patient in the same slot, raced
        raise ActionError("slot_id", _("The patient already holds a booking in this slot.")) from None
    do_record_care(patient_id, slot.schedule.institution_id, "booking", booking.pk, now, new=True)
    record_event(actor, booking, "booked", now, channel=channel, **event)
    return booking


def record_event(actor: Actor, booking: Booking, kind: str, at, **data) -> None:
    BookingEvent.objects.create(booking=booking, kind=kind, at=at, user_id=actor.user_id,
                                membership_id=actor.membership.pk if actor.membership else None, data=data)


def _audited(actor: Actor, booking: Booking, action: str, decision: Decision | None, reason: str = "") -> None:
    audit_row(actor, patient_id=booking.patient_id, object_type="booking", object_id=booking.pk, action=action,
              decision=decision or Decision(Basis.CARE), reason=reason).save()


def do_book(actor: Actor, patient_id, slot_id, channel: str = Channel.WINDOW) -> Booking:
    """Book a place for a patient the actor may see (404 otherwise). The slot's institution gains a care
    relationship with the patient (a booking is one, docs/access-and-audit.md)."""
    require_cap(actor, Cap.REGISTER, _("Your role may not book appointments."))
    slot = find_slot(slot_id)
    now = timezone.now()
    check_book(actor, slot, channel, now)
    patient, decision = access_patient_for_write(actor, patient_id, Action.CREATE, object_type="booking")
    with transaction.atomic():
        booking = claim_place(actor, patient.pk, slot, channel, now)
        _audited(actor, booking, Action.CREATE, decision)
    return booking


def booking_for_write(actor: Actor, booking_id, cap: str = Cap.REGISTER) -> tuple[Booking, Decision | None]:
    """The booking and the basis the actor sees its patient on; 404 (audited as denied) if they may not.
    The action then writes the audit row of the write, so one request leaves one row."""
    require_cap(actor, cap, _("Your role may not change bookings."))
    queryset = Booking.objects.select_related("slot", "slot__schedule")
    booking = access_object(actor, queryset, booking_id, object_type="booking", action=Action.UPDATE,
                            audit_success=False)
    return booking, decide(actor, booking.patient_id)


def release_place(booking: Booking, status: str, reason: str = "") -> None:
    """Inside a transaction: move an active booking out of BOOKED and give its place back. A cancelled
    booking no longer makes its institution one that cares for the patient (its care relation ends)."""
    moved = Booking.objects.filter(pk=booking.pk, status=BookingStatus.BOOKED).update(status=status,
                                                                                   reason=reason[:200])
    if not moved:
        raise ActionError("booking_id", _("This booking is no longer active."))
    referral = 1 if booking.channel == Channel.REFERRAL else 0
    Slot.objects.filter(pk=booking.slot_id).update(booked=F("booked") - 1,
                                                   referral_booked=F("referral_booked") - referral)
    if status == BookingStatus.CANCELLED:
        CareRelation.objects.filter(source_type="booking", source_id=booking.pk, until__isnull=True).update(
            until=timezone.now())
    booking.status, booking.reason = status, reason[:200]


def do_cancel(actor: Actor, booking_id, reason: str = "") -> Booking:
    """Cancel a booking before its slot starts; the place is free again."""
    booking, decision = booking_for_write(actor, booking_id)
    now = timezone.now()
    if booking.slot.start <= now:
        raise ActionError("booking_id", _("The slot has started; a booking can no longer be cancelled."))
    reason = (reason or "").strip()
    with transaction.atomic():
        release_place(booking, BookingStatus.CANCELLED, reason)
        record_event(actor, booking, "cancelled", now, reason=reason[:200])
        _audited(actor, booking, Action.UPDATE, decision, reason="cancelled")
    return booking


def do_reschedule(actor: Actor, booking_id, slot_id) -> Booking:
    """Cancel and book again, atomically: if the new slot cannot be had, the old booking stands."""
    booking, decision = booking_for_write(actor, booking_id)
    now = timezone.now()
    slot = find_slot(slot_id)
    if booking.slot.start <= now:
        raise ActionError("booking_id", _("The slot has started; a booking can no longer be cancelled."))
    if slot.pk == booking.slot_id:
        raise ActionError("slot_id", _("Choose a different slot."))
    check_book(actor, slot, booking.channel, now)
    with transaction.atomic():
        release_place(booking, BookingStatus.CANCELLED, "rescheduled")
        record_event(actor, booking, "cancelled", now, reason="rescheduled")
        new = claim_place(actor, booking.patient_id, slot, booking.channel, now, replaces=booking.pk)
        _audited(actor, booking, Action.UPDATE, decision, reason="rescheduled")
        _audited(actor, new, Action.CREATE, decision, reason="rescheduled")
    return new


def do_mark_no_show(actor: Actor, booking_id) -> Booking:
    """After the slot ends, a booking never checked in is a no-show (its institution marks it)."""
    booking, decision = booking_for_write(actor, booking_id)
    if booking.slot.schedule.institution_id != actor.institution_id:
        raise ActionError("booking_id", _("Only the institution of the clinic marks a no-show."))
    now = timezone.now()
    if booking.slot.end > now:
        raise ActionError("booking_id", _("A no-show can be marked only after the slot ends."))
    with transaction.atomic():
        moved = Booking.objects.filter(pk=booking.pk, status=BookingStatus.BOOKED).update(
            status=BookingStatus.NO_SHOW)
        if not moved:
            raise ActionError("booking_id", _("This booking is no longer active."))
        booking.status = BookingStatus.NO_SHOW
        record_event(actor, booking, "no_show", now)
        _audited(actor, booking, Action.UPDATE, decision, reason="no-show")
    return booking


# --- stopping a clinic (停诊) ------------------------------------------------------------------------------


def _stop_message(slot: Slot, options: list[Slot]) -> str:
    """The patient's notice, in the consortium's language (patients get Chinese whatever the desk uses)."""
    with translation.override(settings.LANGUAGE_CODE):
        when = f"{timezone.localtime(slot.start):%Y-%m-%d %H:%M}"
        text = _("The clinic of %(when)s has been stopped and your booking cancelled.") % {"when": when}
        if options:
            text += " " + _("Nearest free slots: %(slots)s.") % {"slots": describe(options)}
        return text


def do_stop_clinic(actor: Actor, schedule_id, day: date, reason: str, *, slot_id: int | None = None) -> list[Message]:
    """Stop a schedule's clinic on a day (or only the slot `slot_id` of it): its open slots close, every
    active booking is cancelled with the reason, and each booked patient gets one message offering the
    nearest free slots. Each message returned carries those slots as `alternatives` (not stored)."""
    schedule = _own_schedule(actor, schedule_id)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ActionError("reason", _("Give the reason the clinic stops."))
    if not isinstance(day, date) or day < timezone.localdate():
        raise ActionError("date", _("A clinic can be stopped today or later, not in the past."))
    now = timezone.now()
    with transaction.atomic():
        slots = Slot.objects.select_for_update().filter(schedule=schedule, date=day, status=SlotStatus.OPEN)
        if slot_id is not None:
            slots = slots.filter(pk=slot_id) if isinstance(slot_id, int) and 0 < slot_id < 2**63 else slots.none()
        slots = list(slots)
        if not slots and slot_id is not None:
            raise ActionError("slot_id", _("Slot: choose an open slot of this clinic on that day."))
        if not slots:
            raise ActionError("date", _("This schedule has no open slots on that day."))
        Slot.objects.filter(pk__in=[s.pk for s in slots]).update(status=SlotStatus.STOPPED, booked=0,
                                                                 referral_booked=0)
        bookings = list(Booking.objects.select_for_update().filter(slot__in=slots, status=BookingStatus.BOOKED)
                        .order_by("slot__start", "pk"))
        Booking.objects.filter(pk__in=[b.pk for b in bookings]).update(status=BookingStatus.CANCELLED,
                                                                       reason=reason[:200])
        slot_of = {s.pk: s for s in slots}
        messages, told = [], set()
        for booking in bookings:
            record_event(actor, booking, "cancelled", now, reason=reason[:200], stopped=True)
            _audited(actor, booking, Action.UPDATE, None, reason="clinic stopped")
            if booking.patient_id not in told:
                told.add(booking.patient_id)
                slot = slot_of[booking.slot_id]
                options = alternatives(slot)
                message = Message(patient_id=booking.patient_id, booking=booking, created_at=now,
                                  text=_stop_message(slot, options))
                message.alternatives = options
                messages.append(message)
        return Message.objects.bulk_create(messages)

