"""Patient pages: the list of patients in care, one patient, registration, check-in and break-glass."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.actions import do_break_glass
from yilian.care.queries import patient_encounters
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients.actions import NewPatient, do_check_in, do_register_patient
from yilian.patients.forms import BreakGlassForm, CheckInForm, RegisterForm
from yilian.patients.queries import access_patient, list_patients, patient_id_for_break_glass, unmask_patient


def _add_errors(form, exc: ActionError) -> None:
    for field, message in exc.errors.items():
        form.add_error(field if field in form.fields else None, message)


@requires(Cap.CLINICAL)
def patient_list(request):
    page = list_patients(request.actor)
    return render(request, "patients/list.html", {"patients": page, "check_in": CheckInForm(),
                                                  "can_register": request.actor.can(Cap.REGISTER)})


@requires(Cap.CLINICAL)
def patient_detail(request, patient_id: int):
    patient = access_patient(request.actor, patient_id)
    return render(request, "patients/detail.html", {
        "patient": patient, "encounters": patient_encounters(patient)[:50],
        "can_unmask": request.actor.can(Cap.UNMASK),
    })


@require_POST
@requires(Cap.UNMASK)
def patient_unmask(request, patient_id: int):
    patient = unmask_patient(request.actor, patient_id)
    return render(request, "patients/_identifiers.html", {"patient": patient, "unmasked": True})


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def register(request):
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = do_register_patient(request.actor, NewPatient(**form.cleaned_data))
        except ActionError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, _("Patient registered."))
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/register.html", {"form": form}, status=400 if form.errors else 200)


@require_POST
@requires(Cap.REGISTER)
def check_in(request):
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            patient = do_check_in(request.actor, form.cleaned_data["resident_id"])
        except ActionError as exc:
            _add_errors(form, exc)
        else:
            return redirect("patients:detail", patient_id=patient.pk)
    page = list_patients(request.actor)
    return render(request, "patients/list.html", {"patients": page, "check_in": form, "can_register": True},
                  status=400)


@require_http_methods(["GET", "POST"])
@requires(Cap.BREAK_GLASS)
def break_glass(request):
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        rid = form.cleaned_data["resident_id"]
        patient_id = patient_id_for_break_glass(rid)
        if patient_id is None:
            form.add_error("resident_id", _("No patient with this resident ID."))
        else:
            try:
                do_break_glass(request.actor, patient_id, form.cleaned_data["reason"])
            except ActionError as exc:
                _add_errors(form, exc)
            else:
                messages.warning(request, _("Emergency access opened for 24 hours. It will be reviewed."))
                return redirect("patients:detail", patient_id=patient_id)
    return render(request, "patients/break_glass.html", {"form": form}, status=400 if form.errors else 200)
