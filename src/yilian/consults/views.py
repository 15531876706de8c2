"""Consultation pages: the lists (asked by us, the worklist with claim and assign, my consultations), a
request from a patient's page, one consultation with the opinion editor, MDT contributions, sign, amend,
confirm and cancel; guided operations (list and form). Views parse, authorize and call `actions`;
patients are read through `access.gate`."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.gate import access_patient, audit_many
from yilian.access.models import Action
from yilian.care.models import Encounter
from yilian.consults import actions, queries
from yilian.consults import operations as guided
from yilian.consults.experts import consortium_of, expert_institutions
from yilian.consults.forms import (
    AmendForm,
    ConsultationForm,
    ContributionForm,
    ExpertForm,
    GuidedOperationForm,
    OpinionForm,
    ReasonForm,
    parse_expert,
)
from yilian.consults.models import IN_WORK, Consultation, Status, Target
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Department, Membership
from yilian.network.roles import Cap, Role

FIELDS = {"to_institution_id": "to_expert", "to_department_id": "to_department", "to_staff_id": "to_expert",
          "patient_id": None, "staff_id": "expert", "expert_staff_id": "expert", "operator_staff_id": "operator",
          "department_id": "department", "consultation_id": "consultation", "contributions": None, "mdt": None}
STEPS = {"claim", "add_expert", "contribute", "opinion", "sign", "amend", "confirm", "cancel"}
BOXES = ("out", "work", "mine")


def _encounters(patient):
    return [(e.pk, f"{timezone.localtime(e.start):%Y-%m-%d} {e.institution.short_name} {e.department.name}")
            for e in Encounter.objects.filter(patient=patient).select_related("institution", "department")
            .order_by("-start")[:20]]


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def boxes(request):
    actor = request.actor
    box = request.GET.get("box") if request.GET.get("box") in BOXES else "out"
    status = request.GET.get("status") if request.GET.get("status") in {*Status.values, "open"} else None
    context = {"box": box, "status": status, "can_request": actor.can(Cap.RECORD_VISIT)}
    if box == "work":
        context["items"] = queries.worklist(actor)
    else:
        rows = queries.requested(actor, status) if box == "out" else queries.mine(actor, status)
        queries.audit_list(actor, rows)
        context["rows"] = rows
    return render(request, "consults/boxes.html", context)


def _request_form(request, patient):
    actor = request.actor
    experts = queries.targets(actor)
    departments = Department.objects.filter(
        institution__in=expert_institutions(consortium_of(actor.institution_id))).exclude(
        institution_id=actor.institution_id).select_related("institution").order_by("institution__code", "name")
    return ConsultationForm(request.POST or None, departments=departments, experts=experts,
                            encounters=_encounters(patient))


def _new_consultation(patient, d) -> actions.NewConsultation:
    staff_id, institution_id = parse_expert(d["to_expert"])
    if d["target"] == Target.DEPARTMENT and d["to_department"]:
        institution_id = Department.objects.filter(pk=d["to_department"]).values_list(
            "institution_id", flat=True).first()
    sync = d["mode"] == "sync"
    return actions.NewConsultation(
        patient_id=patient.pk, target=d["target"], mode=d["mode"], urgency=d["urgency"], question=d["question"],
        summary=d["summary"], consent=d["consent"], mdt=d["mdt"],
        to_institution_id=institution_id if d["target"] != Target.CENTRE else None,
        to_department_id=d["to_department"] if d["target"] == Target.DEPARTMENT else None,
        to_staff_id=staff_id if d["target"] == Target.EXPERT else None,
        shared=[{"type": "encounter", "id": pk} for pk in d["shared"]],
        session_start=d["session_start"] if sync else None, session_minutes=d["session_minutes"] if sync else None)


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def new(request, patient_id: int):
    patient = access_patient(request.actor, patient_id, Action.READ, object_type="consultation_form")
    form = _request_form(request, patient)
    if request.method == "POST" and form.is_valid():
        try:
            consultation = actions.do_request(request.actor, _new_consultation(patient, form.cleaned_data))
        except ActionError as exc:
            exc.add_to(form, FIELDS)
        else:
            messages.success(request, _("Consultation %(number)s requested.") % {"number": consultation.number})
            return redirect("consults:detail", consultation_id=consultation.pk)
    return render(request, "consults/new.html", {"form": form, "patient": patient},
                  status=400 if request.method == "POST" else 200)


def _context(request, consultation: Consultation, **forms) -> dict:
    actor = request.actor
    staff_id = actor.membership.staff_id
    panel = list(consultation.panel.filter(left_at__isnull=True).select_related("staff", "institution"))
    mine = next((p for p in panel if p.staff_id == staff_id), None)
    opinions = list(consultation.opinions.select_related("author"))
    draft = next((o for o in opinions if o.signed_at is None), None)
    signed = [o for o in opinions if o.signed_at is not None]
    lead = consultation.expert_id == staff_id and mine is not None
    shared_ids = [item["id"] for item in consultation.shared if item.get("type") == "encounter"]
    context = {
        "consultation": consultation, "events": consultation.events.all(), "panel": panel, "mine": mine,
        "lead": lead, "requester": consultation.from_institution_id == actor.institution_id,
        "in_work": consultation.status in IN_WORK, "draft": draft, "signed": signed[::-1],
        "current": signed[-1] if signed else None,
        "shared": Encounter.objects.filter(pk__in=shared_ids, patient_id=consultation.patient_id)
        .select_related("institution", "department").order_by("-start"),
        "operations": consultation.guided_operations.select_related("expert", "operator").order_by("-performed_on"),
        "is_doctor": actor.role == Role.DOCTOR,
        "opinion_form": forms.get("opinion_form") or OpinionForm(initial={
            "opinion": draft.opinion if draft else "", "recommendation": draft.recommendation if draft else ""}),
        "amend_form": forms.get("amend_form") or AmendForm(initial={
            "opinion": signed[-1].opinion if signed else "",
            "recommendation": signed[-1].recommendation if signed else ""}),
        "contribution_form": forms.get("contribution_form") or ContributionForm(
            initial={"text": mine.contribution if mine else ""}),
        "reason_form": ReasonForm(),
    }
    if lead and consultation.mdt and consultation.status in IN_WORK:
        context["expert_form"] = forms.get("expert_form") or ExpertForm(experts=queries.experts_for(consultation))
    return context


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def detail(request, consultation_id: int):
    consultation, _decision = actions.consultation_for(request.actor, consultation_id, action=Action.READ,
                                                       audit_success=True)
    return render(request, "consults/detail.html", _context(request, consultation))


def _redisplay(request, consultation_id: int, name: str, form, exc: ActionError):
    """A step whose text would be lost on a redirect: the page again, with the message beside the field."""
    exc.add_to(form, FIELDS)
    consultation, _decision = actions.consultation_for(request.actor, consultation_id, action=Action.READ,
                                                       audit_success=True)
    return render(request, "consults/detail.html", _context(request, consultation, **{name: form}), status=400)


@require_POST
@requires(Cap.CLINICAL)
def step(request, consultation_id: int, step: str):
    if step not in STEPS:
        raise Http404
    actor, post = request.actor, request.POST
    try:
        if step == "claim":
            actions.do_claim(actor, consultation_id)
        elif step == "add_expert":
            staff_id, institution_id = parse_expert(post.get("expert"))
            actions.do_add_expert(actor, consultation_id, staff_id, institution_id)
        elif step == "contribute":
            form = ContributionForm(post)
            actions.do_contribute(actor, consultation_id, post.get("text", ""))
        elif step == "opinion":
            form = OpinionForm(post)
            actions.do_write_opinion(actor, consultation_id, post.get("opinion", ""), post.get("recommendation", ""))
        elif step == "sign":
            actions.do_sign(actor, consultation_id)
        elif step == "amend":
            form = AmendForm(post)
            actions.do_amend(actor, consultation_id, post.get("opinion", ""), post.get("recommendation", ""),
                             post.get("reason", ""))
        elif step == "confirm":
            actions.do_confirm(actor, consultation_id)
        else:
            actions.do_cancel(actor, consultation_id, post.get("reason", ""))
    except ActionError as exc:
        names = {"contribute": "contribution_form", "opinion": "opinion_form", "amend": "amend_form"}
        if step in names and "status" not in exc.errors and "role" not in exc.errors:
            return _redisplay(request, consultation_id, names[step], form, exc)
        for message in exc.errors.values():
            messages.error(request, message)
        if step == "claim":
            return redirect(_worklist_url())
    else:
        messages.success(request, _("Done."))
    return redirect("consults:detail", consultation_id=consultation_id)


def _worklist_url() -> str:
    return reverse("consults:boxes") + "?box=work"


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def assign(request, consultation_id: int):
    """The desk of the institution asked gives a waiting request to an expert (de-identified: the desk does
    not see the patient)."""
    consultation = actions.for_choosing_experts(request.actor, consultation_id)
    form = ExpertForm(request.POST or None, experts=queries.experts_for(consultation))
    if request.method == "POST" and form.is_valid():
        staff_id, institution_id = parse_expert(form.cleaned_data["expert"])
        try:
            replacing = request.POST.get("replacing", "")  # the expert the desk saw holding it
            actions.do_assign(request.actor, consultation_id, staff_id, institution_id,
                              int(replacing) if replacing.isdigit() else None)
        except ActionError as exc:
            exc.add_to(form, FIELDS)
        else:
            messages.success(request, _("Consultation %(number)s assigned.") % {"number": consultation.number})
            return redirect(_worklist_url())
    return render(request, "consults/assign.html", {"consultation": consultation, "form": form},
                  status=400 if request.method == "POST" else 200)


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def operations(request):
    rows = queries.guided_operations(request.actor)
    if rows:
        audit_many(request.actor, {o.patient_id for o in rows}, object_type="guided-operation")
    return render(request, "consults/operations.html", {"rows": rows})


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def operation_new(request, patient_id: int):
    actor = request.actor
    patient = access_patient(actor, patient_id, Action.READ, object_type="guided_operation_form")
    consultations = Consultation.objects.filter(patient=patient, from_institution_id=actor.institution_id).exclude(
        status=Status.CANCELLED).order_by("-created_at")[:20]
    operators = Membership.objects.filter(institution_id=actor.institution_id, role=Role.DOCTOR, active=True
                                          ).select_related("staff").order_by("staff__name")
    chosen = request.GET.get("consultation", "")
    form = GuidedOperationForm(
        request.POST or None, experts=queries.targets(actor), operators=operators,
        departments=Department.objects.filter(institution_id=actor.institution_id).order_by("name"),
        consultations=consultations,
        initial={"performed_on": timezone.localdate(), "consultation": int(chosen) if chosen.isdigit() else None,
                 "operator": actor.membership.staff_id, "department": actor.membership.department_id})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        staff_id, institution_id = parse_expert(d["expert"])
        data = guided.NewGuidedOperation(
            patient_id=patient.pk, procedure=d["procedure"], performed_on=d["performed_on"], mode=d["mode"],
            expert_staff_id=staff_id, expert_institution_id=institution_id, operator_staff_id=d["operator"],
            outcome=d["outcome"], notes=d["notes"], consultation_id=d["consultation"], department_id=d["department"])
        try:
            guided.do_record_guided_operation(actor, data)
        except ActionError as exc:
            exc.add_to(form, FIELDS)
        else:
            messages.success(request, _("Guided operation recorded."))
            return redirect("consults:operations")
    return render(request, "consults/operation_new.html", {"form": form, "patient": patient},
                  status=400 if request.method == "POST" else 200)

