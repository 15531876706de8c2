"""Patient pages: the list of patients in care, one patient, registration (search before create),
check-in by resident ID or QR code, identifiers, the QR card, break-glass, and the master patient index
desk (review queue, merges)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.actions import do_break_glass
from yilian.care.queries import patient_encounters
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients import qr
from yilian.patients.actions import NewPatient, do_check_in, do_register_patient
from yilian.patients.forms import (
    BreakGlassForm,
    CheckInForm,
    DecideForm,
    IdentifierForm,
    QrCheckInForm,
    RegisterForm,
)
from yilian.patients.identifiers import do_link_identifier, do_unlink_identifier, masked_identifiers
from yilian.patients.merging import do_unmerge
from yilian.patients.models import IdentifierType
from yilian.patients.queries import (
    MergedRecord,
    access_current,
    list_patients,
    patient_id_for_break_glass,
    unmask_patient,
)
from yilian.patients.registration import SearchResult, do_claim, do_claim_by_identifier, search_before_create
from yilian.patients.review import do_decide_link, recent_merges, review_pair, review_queue
from yilian.patients.stewardship import require_steward


@requires(Cap.CLINICAL)
def patient_list(request):
    page = list_patients(request.actor)
    return render(request, "patients/list.html", {"patients": page, "check_in": CheckInForm(),
                                                  "can_register": request.actor.can(Cap.REGISTER)})


def _to_survivor(request, merged: MergedRecord, name: str = "patients:detail"):
    messages.info(request, _("Record #%(old)s was merged into record #%(new)s; showing that record.")
                  % {"old": merged.requested, "new": merged.survivor_id})
    return redirect(name, patient_id=merged.survivor_id)


@requires(Cap.CLINICAL)
def patient_detail(request, patient_id: int, identifier_form=None, status: int = 200):
    try:
        patient = access_current(request.actor, patient_id)
    except MergedRecord as merged:
        return _to_survivor(request, merged)
    token = qr.live_token(patient.pk)
    own_mrn_system = request.membership.institution.code
    identifiers = masked_identifiers([patient.pk]).get(patient.pk, [])
    for ident in identifiers:
        ident["unlinkable"] = ident["type"] not in (IdentifierType.RESIDENT_ID, IdentifierType.CONSORTIUM) and (
            ident["type"] != IdentifierType.MRN or ident["system"] == own_mrn_system)
    return render(request, "patients/detail.html", {
        "patient": patient, "encounters": patient_encounters(patient)[:50],
        "can_unmask": request.actor.can(Cap.UNMASK), "can_register": request.actor.can(Cap.REGISTER),
        "can_refer": request.actor.can(Cap.RECORD_VISIT), "can_consult": request.actor.can(Cap.RECORD_VISIT),
        "identifiers": identifiers, "identifier_form": identifier_form or IdentifierForm(),
        "qr_svg": qr.svg(token.token) if token else "", "qr_token": token.token if token else "",
    }, status=status)


@requires(Cap.CLINICAL)
def patient_card(request, patient_id: int):
    """The printable 就诊一码通 card: name, QR code, the code in letters (for a scanner that fails)."""
    try:
        patient = access_current(request.actor, patient_id, object_type="qr-card")
    except MergedRecord as merged:
        return _to_survivor(request, merged, "patients:card")
    token = qr.live_token(patient.pk)
    return render(request, "patients/card.html", {
        "patient": patient, "qr_svg": qr.svg(token.token, scale=6) if token else "",
        "qr_token": token.token if token else "", "consortium": request.membership.institution.consortium,
    })


def _then_back(request, patient_id: int, act, done: str):
    """Run a button's action on the patient's page, say how it went, and go back to the page."""
    try:
        act()
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, done)
    return redirect("patients:detail", patient_id=patient_id)


@require_POST
@requires(Cap.REGISTER)
def rotate_qr(request, patient_id: int):
    return _then_back(request, patient_id, lambda: qr.do_rotate_qr(request.actor, patient_id),
                      _("A new QR card was issued; the old one no longer works."))


@require_POST
@requires(Cap.REGISTER)
def link_identifier(request, patient_id: int):
    form = IdentifierForm(request.POST)
    if form.is_valid():
        try:
            do_link_identifier(request.actor, patient_id, form.cleaned_data["type"], form.cleaned_data["value"],
                               form.cleaned_data["system"])
        except ActionError as exc:
            exc.add_to(form)
        else:
            messages.success(request, _("Identifier added."))
            return redirect("patients:detail", patient_id=patient_id)
    return patient_detail(request, patient_id, identifier_form=form, status=400)


@require_POST
@requires(Cap.REGISTER)
def unlink_identifier(request, patient_id: int, identifier_id: int):
    return _then_back(request, patient_id, lambda: do_unlink_identifier(request.actor, patient_id, identifier_id),
                      _("Identifier removed."))


@require_POST
@requires(Cap.UNMASK)
def patient_unmask(request, patient_id: int):
    patient = unmask_patient(request.actor, patient_id)
    return render(request, "patients/_identifiers.html", {"patient": patient, "unmasked": True})


def _register_step(request, data: NewPatient):
    """What the registrar pressed: *search*, *this is the person* (a record shown, or the record the
    presented card names) or *new person*. Returns the patient chosen, or the search result."""
    post, actor = request.POST, request.actor
    if "claim" in post:
        patient = do_claim(actor, post["claim"], data.mrn)
        messages.success(request, _("This person's record is now in care here."))
        return patient
    if "claim_identifier" in post:
        kind = post["claim_identifier"]
        value = data.insurance if kind == IdentifierType.INSURANCE else data.resident_id
        patient = do_claim_by_identifier(actor, kind, value, data.mrn)
        messages.success(request, _("This person's record is now in care here."))
        return patient
    if post.get("step") == "new":
        patient = do_register_patient(actor, data)
        messages.success(request, _("Patient registered."))
        return patient
    return search_before_create(actor, data)


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def register(request):
    """Search before create (docs/mpi.md, "Workflow"): the details first, then the possible matches."""
    form = RegisterForm(request.POST or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            outcome = _register_step(request, NewPatient(**form.cleaned_data))
        except ActionError as exc:
            exc.add_to(form)
        else:
            if not isinstance(outcome, SearchResult):
                return redirect("patients:detail", patient_id=outcome.pk)
            result = outcome
    return render(request, "patients/register.html", {"form": form, "result": result},
                  status=400 if form.errors else 200)


@require_POST
@requires(Cap.REGISTER)
def check_in(request):
    form = CheckInForm(request.POST)
    if form.is_valid():
        try:
            patient = do_check_in(request.actor, form.cleaned_data["resident_id"])
        except ActionError as exc:
            exc.add_to(form)
        else:
            return redirect("patients:detail", patient_id=patient.pk)
    page = list_patients(request.actor)
    return render(request, "patients/list.html", {"patients": page, "check_in": form, "can_register": True},
                  status=400)


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def qr_check_in(request):
    """The desk's scanner types the code into the field (and presses Enter)."""
    form = QrCheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            patient = qr.do_qr_check_in(request.actor, form.cleaned_data["token"])
        except ActionError as exc:
            exc.add_to(form)
        else:
            messages.success(request, _("Checked in."))
            return redirect("patients:detail", patient_id=patient.pk)
    return render(request, "patients/qr_check_in.html", {"form": form}, status=400 if form.errors else 200)


# --- the master patient index desk ---------------------------------------------------------------------------


@requires(Cap.LINK_REVIEW)
def link_queue(request):
    require_steward(request.actor, Cap.LINK_REVIEW)
    try:
        page_no = max(1, min(int(request.GET.get("page", 1)), 100_000))
    except ValueError:
        page_no = 1
    pairs, total = review_queue(request.actor, limit=50, offset=(page_no - 1) * 50)
    return render(request, "patients/link_queue.html", {
        "pairs": pairs, "total": total, "page": page_no, "has_next": page_no * 50 < total})


@require_http_methods(["GET", "POST"])
@requires(Cap.LINK_REVIEW)
def link_review(request, candidate_id: int):
    require_steward(request.actor, Cap.LINK_REVIEW)
    form = DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            do_decide_link(request.actor, candidate_id, data["decision"] == "same", data["survivor"], data["confirm"])
        except ActionError as exc:
            exc.add_to(form)
        else:
            messages.success(request, _("Decision recorded.") if data["decision"] == "different"
                             else _("Decision recorded; the records were merged."))
            return redirect("patients:links")
    try:
        pair = review_pair(request.actor, candidate_id)
    except ActionError as exc:
        messages.info(request, exc.message)
        return redirect("patients:links")
    return render(request, "patients/link_review.html", {"pair": pair, "form": form},
                  status=400 if form.errors else 200)


@requires(Cap.MERGE)
def merges(request):
    require_steward(request.actor, Cap.MERGE)
    return render(request, "patients/merges.html", {"merges": recent_merges(request.actor)})


@require_POST
@requires(Cap.MERGE)
def unmerge(request, merge_id: int):
    require_steward(request.actor, Cap.MERGE)
    try:
        do_unmerge(request.actor, merge_id)
    except ActionError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The merge was undone."))
    return redirect("patients:merges")


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
                exc.add_to(form)
            else:
                messages.warning(request, _("Emergency access opened for 24 hours. It will be reviewed."))
                return redirect("patients:detail", patient_id=patient_id)
    return render(request, "patients/break_glass.html", {"form": form}, status=400 if form.errors else 200)
