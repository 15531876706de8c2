"""Diagnostic-centre pages: the hub, the member's submission form, the centre's worklist and reading page
(report template, sign, amend, critical values, specimen receipt, rejection), the requesting side's report
view and critical-value acknowledgement, a patient's reports, the manager's escalated critical values and
the centres' statistics. Views parse, authorize and call `actions`; patients are read through `access.gate`."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.gate import access_patient, audit_many
from yilian.access.models import Action
from yilian.care.models import Encounter
from yilian.diagnostics import actions, catalogue, indicators, queries
from yilian.diagnostics.api import period, stored_file
from yilian.diagnostics.forms import AcknowledgeForm, CriticalForm, DraftForm, ReasonForm, SubmitForm
from yilian.diagnostics.models import OPEN, SPECIMEN_KINDS, Centre, Priority, Report, ReportStatus
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Institution
from yilian.network.roles import Cap

FIELDS = {"centre_id": "centre", "encounter_id": "encounter", "patient_id": None}
STEPS = {"claim", "release", "draft", "sign", "amend", "critical", "reject", "cancel", "send", "receive"}
SPECIMEN_TYPES = ("全血", "血清", "血浆", "尿液", "粪便", "脑脊液", "胸腹水", "组织", "细胞学涂片", "宫颈液基")


@require_http_methods(["GET"])
@requires(None)
def index(request):
    """Clinical roles: the centres they work for, the studies their institution requested and the critical
    values waiting for them. The consortium manager: escalated critical values and the statistics."""
    actor = request.actor
    context = {"clinical": actor.can(Cap.CLINICAL), "dashboard": actor.can(Cap.DASHBOARD)}
    if not context["clinical"] and not context["dashboard"]:
        raise PermissionDenied
    if context["clinical"]:
        run = queries.centres_run_by(actor)
        rows = queries.requested(actor, limit=50)
        critical = queries.critical_for_institution(actor)
        shown = {s.patient_id for s in rows} | {c.study.patient_id for c in critical}
        if shown:
            audit_many(actor, shown, object_type="study")
        context.update(run=[(c, sum(queries.worklist_counts(c).values())) for c in run], rows=rows, critical=critical,
                       serving=queries.centres_serving(actor.institution_id), ack_form=AcknowledgeForm())
    return render(request, "diagnostics/index.html", context)


def _submit_form(request, patient):
    actor = request.actor
    centres = queries.centres_serving(actor.institution_id)
    chosen = request.POST.get("centre") if request.method == "POST" else request.GET.get("centre")
    kinds = {c.kind for c in centres if str(c.pk) == str(chosen)} or {c.kind for c in centres}
    exam_types = [t for kind in sorted(kinds) for t in catalogue.for_kind(kind)]
    encounters = [(e.pk, f"{timezone.localtime(e.start):%Y-%m-%d %H:%M} {e.department.name}")
                  for e in Encounter.objects.filter(patient=patient, institution_id=actor.institution_id)
                  .select_related("department").order_by("-start")[:20]]
    initial = {"centre": chosen, "collected_at": timezone.localtime().replace(second=0, microsecond=0)}
    return SubmitForm(request.POST or None, request.FILES or None, centres=centres, exam_types=exam_types,
                      encounters=encounters, initial=initial), centres


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def new(request, patient_id: int):
    """Submit a study for the patient to a centre serving the institution (multipart, with its files)."""
    patient = access_patient(request.actor, patient_id, Action.READ, object_type="study_form")
    form, centres = _submit_form(request, patient)
    status = 200
    if request.method == "POST" and request.POST.get("send"):
        status = 400
        if form.is_valid():
            d = form.cleaned_data
            data = actions.NewStudy(
                patient_id=patient.pk, centre_id=d["centre"], exam_type=d["exam_type"], encounter_id=d["encounter"],
                priority=d["priority"], clinical_info=d["clinical_info"], specimen_barcode=d["specimen_barcode"],
                specimen_type=d["specimen_type"], specimen_site=d["specimen_site"],
                specimen_count=d["specimen_count"] or 0, collected_at=d["collected_at"])
            try:
                study = actions.do_submit(request.actor, data, d["files"])
            except ActionError as exc:
                exc.add_to(form, FIELDS)
            else:
                messages.success(request, _("Study %(number)s sent to %(centre)s.")
                                 % {"number": study.number, "centre": study.centre.name})
                return redirect("diagnostics:study", study_id=study.pk)
    return render(request, "diagnostics/new.html", {"form": form, "patient": patient, "centres": centres,
                                                    "specimen_types": SPECIMEN_TYPES}, status=status)


def _centre(request, centre_id: int) -> Centre:
    centre = Centre.objects.filter(pk=centre_id).select_related("institution").first()
    if centre is None or not actions.works_for(request.actor, centre):
        raise Http404
    return centre


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def worklist(request, centre_id: int):
    """The centre's worklist (refreshed every 30 s by htmx): emergency first, then the longest waiting."""
    centre = _centre(request, centre_id)
    rows = queries.worklist(request.actor, centre)
    critical = queries.unacknowledged_at_centre(request.actor, centre)
    shown = {s.patient_id for s in rows} | {c.study.patient_id for c in critical}
    if shown:
        audit_many(request.actor, shown, object_type="worklist")
    counts = queries.worklist_counts(centre)
    context = {"centre": centre, "rows": rows, "critical": critical, "now": timezone.now(),
               "counts": [(label, counts.get(value, 0)) for value, label in Priority.choices],
               "specimen": centre.kind in SPECIMEN_KINDS}
    template = "diagnostics/_worklist.html" if request.headers.get("HX-Request") else "diagnostics/worklist.html"
    return render(request, template, context)


def _study_context(request, study_id, draft_form=None) -> dict:
    actor = request.actor
    study, _decision = actions.study_for(actor, study_id, side="any", action=Action.READ, audit_success=True)
    centre_side = actions.works_for(actor, study.centre)
    reports = list(Report.objects.filter(study=study).select_related("author", "signed_by").order_by("version"))
    signed = [r for r in reports if r.status == ReportStatus.SIGNED]
    draft = next((r for r in reports if r.status == ReportStatus.DRAFT), None) if centre_side else None
    exam = catalogue.exam_type(study.exam_type)
    if draft_form is None and centre_side:
        start = draft or (signed[-1] if signed else None)
        draft_form = DraftForm(initial={"findings": start.findings if start else exam.findings if exam else "",
                                        "impression": start.impression if start else exam.impression if exam else ""})
    me = actor.membership.staff_id
    return {
        "study": study, "centre_side": centre_side, "requesting_side": study.requesting_institution_id == actor.institution_id,
        "may_report": actions.may_report(actor, study.centre), "mine": study.reader_id == me,
        "signed": signed, "current": signed[-1] if signed else None, "draft": draft, "draft_form": draft_form,
        "exam": exam, "files": list(study.files.all()), "events": list(study.events.all()),
        "critical": list(study.critical_values.select_related("flagged_by", "acknowledged_by")),
        "open": study.status in OPEN, "specimen": study.centre.kind in SPECIMEN_KINDS,
        "reason_form": ReasonForm(), "critical_form": CriticalForm(), "ack_form": AcknowledgeForm(),
        "can_cancel": actor.can(Cap.RECORD_VISIT), "now": timezone.now(),
    }


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def study(request, study_id: int):
    """The reading page for the centre; the report (signed versions, history) for the requesting side."""
    return render(request, "diagnostics/study.html", _study_context(request, study_id))


def _run_step(request, study_id: int, step: str):
    actor, post = request.actor, request.POST
    if step == "claim":
        actions.do_claim(actor, study_id)
    elif step == "release":
        actions.do_release(actor, study_id)
    elif step in ("draft", "sign"):
        if "findings" in post or "impression" in post:
            actions.do_save_draft(actor, study_id, post.get("findings", ""), post.get("impression", ""))
        if step == "sign":
            actions.do_sign(actor, study_id)
    elif step == "amend":
        actions.do_amend(actor, study_id, post.get("reason", ""))
    elif step == "critical":
        actions.do_flag_critical(actor, study_id, post.get("description", ""))
    elif step == "reject":
        actions.do_reject(actor, study_id, post.get("reason", ""))
    elif step == "cancel":
        actions.do_cancel(actor, study_id, post.get("reason", ""))
    elif step == "send":
        actions.do_send_specimen(actor, study_id)
    else:
        actions.do_receive_specimen(actor, study_id)


@require_POST
@requires(Cap.CLINICAL)
def step(request, study_id: int, step: str):
    if step not in STEPS:
        raise Http404
    try:
        _run_step(request, study_id, step)
    except ActionError as exc:
        if step in ("draft", "sign") and set(exc.errors) <= {"findings", "impression"}:
            form = DraftForm(request.POST)
            form.is_valid()
            for field, message in exc.errors.items():
                form.add_error(field, message)
            return render(request, "diagnostics/study.html", _study_context(request, study_id, form), status=400)
        for message in exc.errors.values():
            messages.error(request, message)
    else:
        messages.success(request, {"sign": _("Report signed."), "draft": _("Draft saved."),
                                   "critical": _("Critical value sent to the requesting institution.")}
                         .get(step, _("Done.")))
        if step in ("reject", "cancel"):  # the grant has ended: the centre may no longer see the patient
            return redirect("diagnostics:index")
    return redirect("diagnostics:study", study_id=study_id)


@require_POST
@requires(Cap.CLINICAL)
def acknowledge(request, critical_id: int):
    """From the hub or the study page (`back`: the study's id, to return there)."""
    back = request.POST.get("back", "")
    try:
        actions.do_acknowledge(request.actor, critical_id, request.POST.get("note", ""))
    except ActionError as exc:
        for message in exc.errors.values():
            messages.error(request, message)
    else:
        messages.success(request, _("Critical value acknowledged in your name."))
    if back.isdigit():
        return redirect("diagnostics:study", study_id=int(back))
    return redirect("diagnostics:index")


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def study_file(request, study_id: int, file_id: int):
    return stored_file(request.actor, study_id, file_id)


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def patient(request, patient_id: int):
    """The patient's diagnostic reports: part of the record wherever the patient may be seen."""
    found = access_patient(request.actor, patient_id, Action.READ, object_type="diagnostic-reports")
    studies = queries.patient_studies(found)
    reports = {r.study_id: r for r in Report.objects.filter(study__in=studies, status=ReportStatus.SIGNED)
               .order_by("version")}
    return render(request, "diagnostics/patient.html", {
        "patient": found, "rows": [(s, reports.get(s.pk)) for s in studies],
        "can_request": request.actor.can(Cap.RECORD_VISIT)})


@require_http_methods(["GET"])
@requires(Cap.DASHBOARD)
def escalated(request):
    """For the consortium management centre: critical values escalated and still not acknowledged."""
    consortium_id = Institution.objects.values_list("consortium_id", flat=True).get(pk=request.actor.institution_id)
    return render(request, "diagnostics/escalated.html", {"rows": queries.escalated(consortium_id),
                                                          "now": timezone.now()})


@require_http_methods(["GET"])
@requires(Cap.DASHBOARD)
def statistics(request):
    """Remote diagnoses by centre and member, turnaround by exam type, critical values (aggregates only)."""
    def day(name):
        try:
            return date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    try:
        scope = period(day("start"), day("end"))
    except ActionError as exc:
        messages.error(request, exc.message)
        scope = period(None, None)
    return render(request, "diagnostics/statistics.html", {
        "scope": scope, "total": indicators.remote_diagnoses(scope),
        "by_centre": indicators.remote_by_centre_and_member(scope),
        "by_exam": indicators.turnaround_by_exam_type(scope),
        "ack_share": indicators.critical_ack_share(scope), "ack_minutes": indicators.critical_ack_minutes(scope)})
