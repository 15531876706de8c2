"""The booking window (预约挂号窗口, capability `register`): find the patient, see the free slots of any
member of the consortium, book by window or phone, and the patient's active bookings with cancel,
reschedule and the printed booking slip. Views parse, authorize and call the actions; the patient is read
through `access.gate` (one audit row per page, 404 for missing and forbidden alike)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.gate import access_object, access_patient
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients.masking import mask_name
from yilian.scheduling.actions import SlotTaken, do_book, do_cancel, do_reschedule
from yilian.scheduling.forms_booking import (
    BookForm,
    CancelForm,
    FindPatientForm,
    RescheduleForm,
    SlotSearchForm,
)
from yilian.scheduling.models import Booking, BookingStatus, Channel, FeePolicy
from yilian.scheduling.slots import free_slots, places_left
from yilian.scheduling.window import do_find_patient

SHOWN_SLOTS = 200


def _htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def find(request):
    """Step one: the patient's resident ID, QR card or a booking number."""
    form = FindPatientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient_id = do_find_patient(request.actor, form.cleaned_data["code"])
        except ActionError as exc:
            exc.add_to(form)
        else:
            return redirect("scheduling:book_patient", patient_id=patient_id)
    return render(request, "scheduling/book_find.html", {"form": form}, status=400 if form.errors else 200)


def _slot_context(request, search: SlotSearchForm) -> dict:
    """The free slots the search names (none while the search is bad), with places left and the fee."""
    rows = []
    if search.is_valid():
        data = search.cleaned_data
        filters = {"schedule__institution_id": data["institution"], "date": data["date"]}
        if data["department"]:
            filters["schedule__department_id"] = data["department"]
        if data["doctor"]:
            filters["schedule__doctor_id"] = data["doctor"]
        fees = dict(FeePolicy.objects.filter(institution_id=data["institution"]).values_list("tier", "amount"))
        now = timezone.now()
        rows = [{"slot": s, "left": places_left(s, Channel.WINDOW, now), "fee": fees.get(s.schedule.tier)}
                for s in free_slots(Channel.WINDOW, **filters)[:SHOWN_SLOTS]]
    return {"search": search, "rows": rows}


def _search(request) -> SlotSearchForm:
    return SlotSearchForm(request.GET if request.method == "GET" else request.POST,
                          own_institution_id=request.actor.institution_id)


def _bookings(patient_id: int) -> list[Booking]:
    """The patient's bookings still to come (anywhere in the consortium), earliest first."""
    return list(Booking.objects.filter(patient_id=patient_id, status=BookingStatus.BOOKED,
                                       slot__end__gt=timezone.now())
                .select_related("slot__schedule__institution", "slot__schedule__department",
                                "slot__schedule__doctor").order_by("slot__start", "pk"))


def _query_id(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 18 else None


def _patient_page(request, patient_id, *, form=None, status: int = 200, taken=None, reschedule_id=None,
                  cancel_error: str = ""):
    """The patient's booking page; reading the patient writes its one audit row (404 if they may not)."""
    patient = access_patient(request.actor, patient_id)
    bookings = _bookings(patient.pk)
    reschedule_id = reschedule_id if reschedule_id is not None else _query_id(request, "reschedule")
    rescheduling = next((b for b in bookings if b.pk == reschedule_id), None)
    booked_id = _query_id(request, "booked")
    booked = (Booking.objects.filter(pk=booked_id, patient_id=patient.pk)
              .select_related("slot__schedule__institution", "slot__schedule__department", "slot__schedule__doctor")
              .first() if booked_id else None)
    if form is None:
        form = RescheduleForm() if rescheduling else BookForm()
    context = {"patient": patient, "bookings": bookings, "form": form, "rescheduling": rescheduling,
               "booked": booked, "taken": taken, "cancel_error": cancel_error,
               **_slot_context(request, _search(request))}
    return render(request, "scheduling/book_patient.html", context, status=status)


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def patient(request, patient_id: int):
    """The patient's booking page (GET); POST books the slot chosen by window or phone."""
    if request.method == "GET":
        return _patient_page(request, patient_id)
    form = BookForm(request.POST)
    taken = None
    if form.is_valid():
        try:
            booking = do_book(request.actor, patient_id, form.cleaned_data["slot_id"], form.cleaned_data["channel"])
        except SlotTaken as exc:
            taken = exc.alternatives
            exc.add_to(form)
        except ActionError as exc:
            exc.add_to(form, {"patient_id": "slot_id"})
        else:
            messages.success(request, _("Booked: number %(number)s.") % {"number": booking.number})
            return redirect(f"{reverse('scheduling:book_patient', args=[booking.patient_id])}?booked={booking.pk}")
    return _patient_page(request, patient_id, form=form, status=400, taken=taken)


@require_http_methods(["GET"])
@requires(Cap.REGISTER)
def slots_part(request, patient_id: int):
    """htmx: the search and the free slots, without the patient (nothing of them is shown here)."""
    search = _search(request)
    context = {"patient_id": patient_id, "form": BookForm(), **_slot_context(request, search)}
    reschedule_id = _query_id(request, "reschedule")
    if reschedule_id is not None:
        context["rescheduling"] = {"pk": reschedule_id}
    return render(request, "scheduling/_slots.html", context, status=400 if search.errors else 200)


def _patient_of(request, booking_id: int, *, checked: bool) -> int:
    """The patient of a booking: `checked` when an action already let the actor reach it (it raised an
    ActionError, not 404); otherwise the gate decides here (404, audited as denied, if they may not)."""
    if checked:
        return Booking.objects.values_list("patient_id", flat=True).get(pk=booking_id)
    return access_object(request.actor, Booking.objects.all(), booking_id, object_type="booking",
                         action=Action.UPDATE, audit_success=False).patient_id


@require_POST
@requires(Cap.REGISTER)
def cancel(request, booking_id: int):
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            booking = do_cancel(request.actor, booking_id, form.cleaned_data["reason"])
        except ActionError as exc:
            error = exc.message
        else:
            messages.success(request, _("Booking %(number)s cancelled; the place is free again.")
                             % {"number": booking.number})
            return redirect("scheduling:book_patient", patient_id=booking.patient_id)
    else:
        error = " ".join(form.errors["reason"])
    patient_id = _patient_of(request, booking_id, checked=form.is_valid())
    return _patient_page(request, patient_id, status=400, cancel_error=error)


@require_POST
@requires(Cap.REGISTER)
def reschedule(request, booking_id: int):
    form = RescheduleForm(request.POST)
    taken = None
    if form.is_valid():
        try:
            new = do_reschedule(request.actor, booking_id, form.cleaned_data["slot_id"])
        except SlotTaken as exc:
            taken = exc.alternatives
            exc.add_to(form)
        except ActionError as exc:
            exc.add_to(form, {"booking_id": "slot_id"})
        else:
            messages.success(request, _("Moved to a new slot: number %(number)s.") % {"number": new.number})
            return redirect(f"{reverse('scheduling:book_patient', args=[new.patient_id])}?booked={new.pk}")
        patient_id = _patient_of(request, booking_id, checked=True)
    else:
        patient_id = _patient_of(request, booking_id, checked=False)
    return _patient_page(request, patient_id, form=form, status=400, taken=taken, reschedule_id=booking_id)


@require_http_methods(["GET"])
@requires(Cap.REGISTER)
def slip(request, booking_id: int):
    """The printed booking slip: the booking number, 就诊序号, where and when; the name masked."""
    queryset = Booking.objects.select_related("slot__schedule__institution", "slot__schedule__department",
                                              "slot__schedule__doctor", "patient")
    booking = access_object(request.actor, queryset, booking_id, object_type="booking", action=Action.READ)
    return render(request, "scheduling/booking_slip.html",
                  {"booking": booking, "masked_name": mask_name(booking.patient.name)})
