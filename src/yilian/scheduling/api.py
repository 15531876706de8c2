"""Outpatient endpoints: free slots, book, cancel, reschedule, mark a no-show, register (check-in or
walk-in). Parsing and the acting identity here; every rule is in the actions."""

from datetime import date, datetime
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.models import Department, Institution, Staff
from yilian.network.roles import Cap
from yilian.scheduling.actions import do_book, do_cancel, do_mark_no_show, do_reschedule
from yilian.scheduling.models import Booking, Channel, Registration
from yilian.scheduling.registration import Visit, do_register_visit
from yilian.scheduling.slots import free_slots, places_left

router = Router(tags=["scheduling"])
ID = {"ge": 1, "le": 2**62}


class SlotQuery(Schema):
    institution_id: int = Field(**ID)
    date: date
    department_id: int | None = Field(None, **ID)
    doctor_id: int | None = Field(None, **ID)
    channel: Channel = Channel.WINDOW


class SlotOut(Schema):
    id: int
    institution_id: int
    department_id: int
    doctor_id: int | None
    tier: str
    session: str
    start: datetime
    end: datetime
    free: int


class BookIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(**ID)
    slot_id: int = Field(**ID)
    channel: Channel = Channel.WINDOW


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=200)


class RescheduleIn(Schema):
    model_config = ConfigDict(extra="forbid")

    slot_id: int = Field(**ID)


class BookingOut(Schema):
    id: int
    number: str
    serial: int
    patient_id: int
    slot_id: int
    start: datetime
    channel: str
    status: str


class RegisterIn(Schema):
    """A check-in names the booking; a walk-in names the patient and the department."""

    model_config = ConfigDict(extra="forbid")

    booking_id: int | None = Field(None, **ID)
    patient_id: int | None = Field(None, **ID)
    department_id: int | None = Field(None, **ID)
    doctor_id: int | None = Field(None, **ID)


class WaiverOut(Schema):
    amount: Decimal
    rule_id: int
    rule: str


class RegistrationOut(Schema):
    id: int
    patient_id: int
    encounter_id: int
    department_id: int
    booking_id: int | None
    tier: str
    fee: Decimal
    valid_until: date
    reused_from: int | None
    waiver: WaiverOut | None


def _booking_out(b: Booking) -> dict:
    return {"id": b.pk, "number": b.number, "serial": b.serial, "patient_id": b.patient_id, "slot_id": b.slot_id,
            "start": b.slot.start, "channel": b.channel, "status": b.status}


def _registration_out(r: Registration) -> dict:
    waiver = getattr(r, "waiver", None)
    return {"id": r.pk, "patient_id": r.patient_id, "encounter_id": r.encounter_id,
            "department_id": r.department_id, "booking_id": r.booking_id, "tier": r.tier, "fee": r.fee,
            "valid_until": r.valid_until, "reused_from": r.reused_from_id,
            "waiver": {"amount": waiver.amount, "rule_id": waiver.rule_id, "rule": waiver.rule.kind}
            if waiver else None}


def _check_filters(actor: Actor, q: SlotQuery) -> None:
    """Every bad filter at once: a past date, an institution outside the consortium, a department or doctor
    not of that institution."""
    errors = {}
    if q.date < timezone.localdate():
        errors["date"] = _("Choose today or a later date.")
    consortium = Institution.objects.filter(pk=actor.institution_id).values_list("consortium_id", flat=True)
    if not Institution.objects.filter(pk=q.institution_id, consortium_id__in=consortium).exists():
        errors["institution_id"] = _("Institution: choose a member of your consortium.")
    elif q.department_id and not Department.objects.filter(pk=q.department_id,
                                                           institution_id=q.institution_id).exists():
        errors["department_id"] = _("Department: choose a department of that institution.")
    if q.doctor_id and not Staff.objects.filter(pk=q.doctor_id, memberships__institution_id=q.institution_id,
                                                memberships__active=True).exists():
        errors["doctor_id"] = _("Doctor: no such doctor at that institution.")
    if errors:
        raise ActionError(errors=errors)


@router.get("/slots", response=list[SlotOut], summary="Free slots of a day (by institution, department, doctor)",
            auth=ActingRole(Cap.REGISTER))
def slots(request, q: Query[SlotQuery]):
    actor = api_actor(request, Cap.REGISTER)
    _check_filters(actor, q)
    filters = {"schedule__institution_id": q.institution_id, "date": q.date}
    if q.department_id:
        filters["schedule__department_id"] = q.department_id
    if q.doctor_id:
        filters["schedule__doctor_id"] = q.doctor_id
    now = timezone.now()
    return [{"id": s.pk, "institution_id": s.schedule.institution_id, "department_id": s.schedule.department_id,
             "doctor_id": s.schedule.doctor_id, "tier": s.schedule.tier, "session": s.schedule.session,
             "start": s.start, "end": s.end, "free": places_left(s, q.channel, now)}
            for s in free_slots(q.channel.value, **filters)[:500]]


@router.post("/bookings", response={201: BookingOut}, summary="Book a place (atomic; 422 names alternatives)",
             auth=ActingRole(Cap.REGISTER))
def book(request, payload: BookIn):
    actor = api_actor(request, Cap.REGISTER)
    return Status(201, _booking_out(do_book(actor, payload.patient_id, payload.slot_id, payload.channel.value)))


@router.post("/bookings/{int:booking_id}/cancel", response=BookingOut, summary="Cancel a booking",
             auth=ActingRole(Cap.REGISTER))
def cancel(request, booking_id: int, payload: CancelIn):
    actor = api_actor(request, Cap.REGISTER)
    return _booking_out(do_cancel(actor, booking_id, payload.reason))


@router.post("/bookings/{int:booking_id}/reschedule", response={201: BookingOut},
             summary="Move a booking to another slot (the old one stands if the new one cannot be had)",
             auth=ActingRole(Cap.REGISTER))
def reschedule(request, booking_id: int, payload: RescheduleIn):
    actor = api_actor(request, Cap.REGISTER)
    return Status(201, _booking_out(do_reschedule(actor, booking_id, payload.slot_id)))


@router.post("/bookings/{int:booking_id}/no-show", response=BookingOut, summary="Mark a no-show",
             auth=ActingRole(Cap.REGISTER))
def no_show(request, booking_id: int):
    actor = api_actor(request, Cap.REGISTER)
    return _booking_out(do_mark_no_show(actor, booking_id))


@router.post("/registrations", response={201: RegistrationOut},
             summary="Register (挂号): check in a booking, or a walk-in", auth=ActingRole(Cap.REGISTER))
def register(request, payload: RegisterIn):
    actor = api_actor(request, Cap.REGISTER)
    visit = Visit(patient_id=payload.patient_id, department_id=payload.department_id,
                  booking_id=payload.booking_id, doctor_id=payload.doctor_id)
    return Status(201, _registration_out(do_register_visit(actor, visit)))
