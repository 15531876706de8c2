"""The booking window (预约窗口): finding the patient the registrar books for. An action module.

One code, recognised by its shape as at the queue desk (`queue.kind_of`): a resident ID or a 一码通 QR code
checks the patient in at this desk as the patients' pages do (`patients.actions.do_check_in`,
`patients.qr.do_qr_check_in`: the care relationship and its audit row); a booking number names a booking
the registrar may see (`access.gate.access_object`: one audit row, 404 for missing and forbidden alike).
"""

from django.utils.translation import gettext as _

from yilian.access.gate import access_object
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients import qr
from yilian.patients.actions import do_check_in
from yilian.scheduling.models import Booking
from yilian.scheduling.queue import kind_of, normalise


def do_find_patient(actor: Actor, code: str) -> int:
    """The id of the patient the code names, the patient now visible to the desk; errors name `code`."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not book appointments."))
    code = normalise(code)
    if not code:
        raise ActionError("code", _("Scan the QR code, or type the resident ID or the booking number."))
    if len(code) > 64:
        raise ActionError("code", _("This code is too long for a QR code, a resident ID or a booking number."))
    kind = kind_of(code)
    if kind == "booking":
        booking_id = Booking.objects.filter(number=code).values_list("pk", flat=True).first()
        if booking_id is None:
            raise ActionError("code", _("No booking with this number."))
        return access_object(actor, Booking.objects.all(), booking_id, object_type="booking",
                             action=Action.READ).patient_id
    try:
        patient = do_check_in(actor, code) if kind == "resident_id" else qr.do_qr_check_in(actor, code)
    except ActionError as exc:  # the patients' actions name `resident_id` / `token`: here it is one field
        raise ActionError("code", exc.message) from None
    return patient.pk
