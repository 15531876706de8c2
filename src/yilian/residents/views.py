"""The residents' mobile pages (居民端): log in by text-message code, find a clinic across the consortium,
book for oneself or a family member, see and cancel bookings, and follow the queue on the day. Views parse
and call `login`, `actions` and `queries`; every page showing a patient writes its audit rows."""

from datetime import date, timedelta

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.errors import ActionError
from yilian.residents import actions, login, queries
from yilian.residents.forms import BookForm, CodeForm, FindForm, PhoneForm
from yilian.residents.login import patients_with
from yilian.residents.session import log_in, log_out, resident_required

FIELDS = {"patient_id": "patient", "slot_id": "slot"}


def _next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}) and target.startswith("/m/"):
        return target
    return reverse("residents:home")


@require_http_methods(["GET", "POST"])
def login_page(request):
    """Step 1: the number (a code is sent); step 2: the number and the code."""
    step, shown = "phone", None
    form = PhoneForm(request.POST or None)
    if request.method == "POST" and request.POST.get("step") == "code":
        step, form = "code", CodeForm(request.POST)
        if form.is_valid():
            try:
                account = login.do_verify(form.cleaned_data["phone"], form.cleaned_data["code"])
            except ActionError as exc:
                exc.add_to(form, FIELDS)
            else:
                log_in(request, account)
                return redirect(_next(request))
    elif request.method == "POST" and form.is_valid():
        try:
            sent = login.do_request_code(form.cleaned_data["phone"])
        except ActionError as exc:
            exc.add_to(form, FIELDS)
        else:
            step, shown = "code", sent.shown
            form = CodeForm(initial={"phone": form.cleaned_data["phone"]})
    context = {"form": form, "step": step, "shown": shown, "next": _next(request),
               "demo_phone": login.demo_household_phone() if step == "phone" else None}
    return render(request, "residents/login.html", context, status=400 if form.errors else 200)


@require_POST
def logout_page(request):
    log_out(request)
    return redirect("residents:login")


def _audit_patients(request, patients, object_type: str) -> None:
    for p in patients:
        actions.audit_self(request.resident, p.pk, object_type, p.pk)


@require_http_methods(["GET"])
@resident_required
def home(request):
    """Who the resident may book for, and their bookings from today on with the queue on the day."""
    patients = list(patients_with(request.resident.phone))
    bookings = queries.bookings_of(request.resident)
    today = timezone.localdate()
    rows = [(b, queries.queue_place(b) if b.slot.date == today else None) for b in bookings]
    _audit_patients(request, patients, "resident_home")
    return render(request, "residents/home.html", {"patients": patients, "rows": rows, "today": today})


@require_http_methods(["GET"])
def find(request):
    """Clinics with free places in the coming week, by department, doctor or hospital name (no log-in:
    nothing here is about a patient; booking asks for it)."""
    institutions = queries.institutions()
    form = FindForm(request.GET or None, institutions=institutions)
    clinics = []
    if form.is_valid():
        clinics = queries.find_clinics(form.cleaned_data["q"], form.cleaned_data["institution"])
    days = [timezone.localdate() + timedelta(days=n) for n in range(queries.DAYS_AHEAD)]
    rows = [(c, [(d, c.free.get(d, 0)) for d in days]) for c in clinics]
    return render(request, "residents/find.html", {"form": form, "rows": rows, "searched": bool(request.GET)},
                  status=400 if form.errors else 200)


def _day(raw: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except (TypeError, ValueError):
        return None


@require_http_methods(["GET", "POST"])
@resident_required
def book(request, schedule_id: int, day: str):
    """A clinic's free times on a day; choose the patient and the time, and book."""
    schedule, when = queries.clinic(schedule_id), _day(day)
    if schedule is None or when is None:
        messages.error(request, _("That clinic or day does not exist; search again."))
        return redirect("residents:find")
    patients = list(patients_with(request.resident.phone))
    slots = queries.free_places(schedule.pk, when)
    choices = [(s.pk, f"{timezone.localtime(s.start):%H:%M}–{timezone.localtime(s.end):%H:%M} · "
                      + _("%(n)d left") % {"n": n}) for s, n in slots]
    form = BookForm(request.POST or None, patients=patients, slots=choices)
    alternatives = []
    if request.method == "POST" and form.is_valid():
        try:
            booking = actions.do_book(request.resident, form.cleaned_data["patient"], form.cleaned_data["slot"])
        except ActionError as exc:
            exc.add_to(form, FIELDS)
            alternatives = getattr(exc, "alternatives", [])
        else:
            messages.success(request, _("Booked. Your booking number is %(number)s.") % {"number": booking.number})
            return redirect("residents:booking", booking_id=booking.pk)
    _audit_patients(request, patients, "resident_book")
    context = {"schedule": schedule, "day": when, "form": form, "slots": slots, "alternatives": alternatives}
    return render(request, "residents/book.html", context, status=400 if form.errors else 200)


@require_http_methods(["GET"])
@resident_required
def booking(request, booking_id: int):
    found = actions.own_booking(request.resident, booking_id)
    actions.audit_self(request.resident, found.patient_id, "booking", found.pk)
    today = timezone.localdate()
    place = queries.queue_place(found) if found.slot.date == today else None
    return render(request, "residents/booking.html", {"booking": found, "place": place, "today": today})


@require_http_methods(["GET"])
@resident_required
def queue_part(request, booking_id: int):
    """The queue position alone, for the page to refresh every 15 seconds."""
    found = actions.own_booking(request.resident, booking_id)
    actions.audit_self(request.resident, found.patient_id, "queue_entry", found.pk)
    return render(request, "residents/_queue.html", {"booking": found, "place": queries.queue_place(found)})


@require_POST
@resident_required
def cancel(request, booking_id: int):
    try:
        actions.do_cancel(request.resident, booking_id)
    except ActionError as exc:
        for message in exc.errors.values():
            messages.error(request, message)
    else:
        messages.success(request, _("The booking is cancelled."))
    return redirect("residents:booking", booking_id=booking_id)
