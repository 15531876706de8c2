"""Registration (挂号): the right to be seen in a department, from a booking (check-in) or at the window
(walk-in). An action module like `actions.py`.

A registration opens the outpatient encounter through `care.actions` and charges its fee (category
REGISTRATION). Within its validity (policy: N days, counting the day of registration) a return visit to the
same department reuses it: a new row pointing at the first, no fee, the same encounter. A free-registration
rule waives the fee and says which rule did (`Waiver`).
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, access_patient_for_write, audit_row
from yilian.access.models import Action, Basis
from yilian.care.actions import Charge, do_open_encounter
from yilian.care.actions import Visit as CareVisit
from yilian.care.models import ChargeCategory
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Department, Membership, Staff
from yilian.network.roles import Cap
from yilian.scheduling.actions import booking_for_write
from yilian.scheduling.models import Booking, BookingEvent, BookingStatus, Registration, SlotStatus, Waiver
from yilian.scheduling.policy import fee_for, free_rule_for, policy_for, tier_for


@dataclass
class Visit:
    """Either `booking_id` (check-in) or `patient_id` and `department_id` (walk-in), optionally a doctor."""

    patient_id: int | None = None
    department_id: int | None = None
    booking_id: int | None = None
    doctor_id: int | None = None


@dataclass
class Place:
    """Where and with whom the patient is registered, once checked."""

    department_id: int
    doctor_id: int | None
    tier: str
    booking: Booking | None = None


def _member(staff_id: int | None, institution_id: int) -> bool:
    return staff_id is not None and Membership.objects.filter(
        staff_id=staff_id, institution_id=institution_id, active=True).exists()


def _check_booking(actor: Actor, visit: Visit, today) -> tuple[Place, int, Decision | None]:
    booking, decision = booking_for_write(actor, visit.booking_id)
    slot, schedule = booking.slot, booking.slot.schedule
    if schedule.institution_id != actor.institution_id:
        raise ActionError("booking_id", _("This booking is for a clinic of another institution."))
    if slot.status != SlotStatus.OPEN or booking.status == BookingStatus.CANCELLED:
        raise ActionError("booking_id", _("This booking was cancelled or its clinic stopped; it cannot be checked in."))
    if booking.status != BookingStatus.BOOKED:
        raise ActionError("booking_id", _("This booking is no longer active."))
    if slot.date != today:
        raise ActionError("booking_id", _("A booking is checked in on the day of its slot."))
    if visit.patient_id is not None and visit.patient_id != booking.patient_id:
        raise ActionError("patient_id", _("The booking is for another patient."))
    place = Place(schedule.department_id, schedule.doctor_id, schedule.tier, booking)
    return place, booking.patient_id, decision


def _check_walk_in(actor: Actor, visit: Visit) -> Place:
    errors = {}
    if visit.patient_id is None:
        errors["patient_id"] = _("This field is required.")
    if not Department.objects.filter(pk=visit.department_id, institution_id=actor.institution_id).exists():
        errors["department_id"] = _("Department: choose a department of your institution.")
    doctor = None
    if visit.doctor_id is not None:
        doctor = Staff.objects.filter(pk=visit.doctor_id).first()
        if doctor is None or not _member(doctor.pk, actor.institution_id):
            errors["doctor_id"] = _("Doctor: choose a staff member of your institution.")
    if errors:
        raise ActionError(errors=errors)
    return Place(visit.department_id, visit.doctor_id, tier_for(doctor))


def _earlier(patient_id: int, actor: Actor, department_id: int, today) -> Registration | None:
    """A first registration still valid today in this department of the actor's institution."""
    return (Registration.objects.filter(patient_id=patient_id, institution_id=actor.institution_id,
                                        department_id=department_id, reused_from__isnull=True,
                                        valid_until__gte=today, registered_at__date__lte=today)
            .order_by("-registered_at", "-pk").first())


def do_register_visit(actor: Actor, visit: Visit) -> Registration:
    """Register a patient: reuse a valid earlier registration, or waive the fee by a rule, or charge it."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not register visits."))
    today = timezone.localdate()
    if visit.booking_id is not None:
        place, patient_id, decision = _check_booking(actor, visit, today)
        patient, _d = access_patient_for_write(actor, patient_id, Action.CREATE, object_type="registration")
    else:
        place = _check_walk_in(actor, visit)
        patient, decision = access_patient_for_write(actor, visit.patient_id, Action.CREATE,
                                                     object_type="registration")
    earlier = _earlier(patient.pk, actor, place.department_id, today)
    rule = None if earlier else free_rule_for(patient, actor.institution_id, place.department_id, today)
    fee = None if earlier else fee_for(actor.institution_id, place.tier)
    if not earlier and fee is None:
        raise ActionError("tier", _("No registration fee is set for this fee tier at your institution."))
    now = timezone.now()
    with transaction.atomic():
        if place.booking is not None:
            moved = Booking.objects.filter(pk=place.booking.pk, status=BookingStatus.BOOKED).update(
                status=BookingStatus.CHECKED_IN)
            if not moved:
                raise ActionError("booking_id", _("This booking is no longer active."))
        charged = fee if (fee and rule is None) else None
        if earlier:
            encounter_id = earlier.encounter_id
        else:
            encounter_id = do_open_encounter(actor, CareVisit(
                patient_id=patient.pk, department_id=place.department_id, start=now,
                practitioner_id=place.doctor_id if _member(place.doctor_id, actor.institution_id) else None,
                charges=[Charge(ChargeCategory.REGISTRATION, charged, "挂号")] if charged else [],
            )).pk
        registration = Registration.objects.create(
            patient=patient, institution_id=actor.institution_id, department_id=place.department_id,
            encounter_id=encounter_id, booking=place.booking, reused_from=earlier, tier=place.tier,
            fee=charged or Decimal("0.00"), registered_at=now,
            valid_until=earlier.valid_until if earlier else today + timedelta(
                days=policy_for(actor.institution_id).registration_valid_days - 1),
        )
        if rule is not None:
            Waiver.objects.create(registration=registration, amount=fee, rule=rule)
        if place.booking is not None:
            BookingEvent.objects.create(booking=place.booking, kind="checked_in", at=now, user_id=actor.user_id,
                                        membership_id=actor.membership.pk, data={"registration": registration.pk})
        reason = "reused" if earlier else ("waived" if rule else "")
        audit_row(actor, patient_id=patient.pk, object_type="registration", object_id=registration.pk,
                  action=Action.CREATE, decision=decision or Decision(Basis.CARE), reason=reason).save()
    return registration
