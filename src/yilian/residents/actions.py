"""What a resident does for the patients they may act for: book a place (channel self-service) and cancel
it. The same claim as at the window (`scheduling.actions.claim_place`: one conditional UPDATE, the
per-patient limit, the care relationship, the booking event); the audit row's basis is `self` and its
source names the resident account, never the number.
"""

from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, audit_row
from yilian.access.models import Action, Basis, Outcome
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.patients.models import Patient
from yilian.residents.login import patients_with
from yilian.residents.models import ResidentAccount
from yilian.scheduling.actions import check_slot_open, claim_place, find_slot, record_event, release_place
from yilian.scheduling.models import Booking, BookingStatus, Channel, Message
from yilian.scheduling.slots import describe_booking

SELF = Decision(Basis.SELF)


def actor_for(account: ResidentAccount) -> Actor:
    """The resident as an actor: no user, no membership, nothing it `can` beyond what these actions allow."""
    return Actor(user_id=None, username="resident", membership=None, source=f"resident:{account.pk}")


def audit_self(account: ResidentAccount, patient_id: int | None, object_type: str, object_id="",
               action: str = Action.READ, outcome: str = Outcome.SUCCESS, reason: str = "") -> None:
    audit_row(actor_for(account), patient_id=patient_id, object_type=object_type, object_id=object_id,
              action=action, outcome=outcome, decision=SELF if outcome == Outcome.SUCCESS else None,
              reason=reason).save()


def own_patient(account: ResidentAccount, patient_id, object_type: str, action: str = Action.READ) -> Patient:
    """One of the account's patients, or 404 (audited as denied, as staff are)."""
    patient = patients_with(account.phone).filter(pk=patient_id).first() \
        if isinstance(patient_id, int) and 0 < patient_id < 2**63 else None
    if patient is None:
        audit_self(account, patient_id if isinstance(patient_id, int) else None, object_type, action=action,
                   outcome=Outcome.DENIED)
        raise Http404
    return patient


def own_booking(account: ResidentAccount, booking_id, action: str = Action.READ) -> Booking:
    booking = (Booking.objects.select_related("slot", "slot__schedule", "slot__schedule__institution",
                                              "slot__schedule__department", "slot__schedule__doctor")
               .filter(pk=booking_id, patient__in=patients_with(account.phone)).first()
               if isinstance(booking_id, int) and 0 < booking_id < 2**63 else None)
    if booking is None:
        audit_self(account, None, "booking", booking_id if isinstance(booking_id, int) else "", action=action,
                   outcome=Outcome.DENIED)
        raise Http404
    return booking


def do_book(account: ResidentAccount, patient_id, slot_id) -> Booking:
    """Book a place in `slot_id` for one of the account's patients; a text message confirms it."""
    patient = own_patient(account, patient_id, "booking", Action.CREATE)
    slot = find_slot(slot_id)
    now = timezone.now()
    check_slot_open(slot, now)
    actor = actor_for(account)
    with transaction.atomic():
        booking = claim_place(actor, patient.pk, slot, Channel.SELF_SERVICE, now)
        audit_self(account, patient.pk, "booking", booking.pk, Action.CREATE)
        Message.objects.create(patient_id=patient.pk, booking=booking, created_at=now, text=_(
            "Booked: %(what)s, booking number %(number)s. Bring your QR code or resident ID card.")
            % {"what": describe_booking(booking), "number": booking.number})
    return booking


def do_cancel(account: ResidentAccount, booking_id) -> Booking:
    """Cancel one of the account's bookings before its slot starts."""
    booking = own_booking(account, booking_id, Action.UPDATE)
    now = timezone.now()
    if booking.status != BookingStatus.BOOKED:
        raise ActionError("booking_id", _("This booking is no longer active."))
    if booking.slot.start <= now:
        raise ActionError("booking_id", _("The slot has started; a booking can no longer be cancelled."))
    with transaction.atomic():
        release_place(booking, BookingStatus.CANCELLED, "cancelled by the patient")
        record_event(actor_for(account), booking, "cancelled", now, reason="cancelled by the patient")
        audit_self(account, booking.patient_id, "booking", booking.pk, Action.UPDATE, reason="cancelled")
    return booking
