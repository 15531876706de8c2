"""Green-channel pages: the live board of open cases and the tablet page of one case (one tap per node).
Each view parses, authorizes and calls the actions; an htmx request gets the part of the page it replaces
(the board every 15 seconds, the case panel after a tap and every 15 seconds)."""

from datetime import datetime

from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from yilian.access.models import Action
from yilian.emergency import queries
from yilian.emergency.actions import (
    BYPASS_TARGETS,
    NewCase,
    do_correct_node,
    do_direct_bypass,
    do_open_case,
    do_record_node,
)
from yilian.emergency.board import board_rows, clock
from yilian.emergency.models import ArrivalMode, CentreType, PrehospitalRecord
from yilian.emergency.nodes import next_nodes
from yilian.emergency.nodes import node as node_named
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.patients.models import Patient

BYPASS_LABELS = {"cath_lab": gettext_lazy("Straight to the cath lab"), "ct": gettext_lazy("Straight to CT"),
                 "operating_room": gettext_lazy("Straight to the operating room"),
                 "nicu": gettext_lazy("Straight to the NICU")}


def _htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@require_GET
@requires(Cap.CLINICAL)
def board(request):
    context = {"rows": board_rows(request.actor), "centres": CentreType.choices, "modes": ArrivalMode.choices}
    return render(request, "emergency/_board.html" if _htmx(request) else "emergency/board.html", context)


@require_POST
@requires(Cap.CLINICAL)
def open_case(request):
    """Open an (as yet unidentified) green channel at the acting institution: the patient is identified
    later by the registration desk."""
    try:
        case = do_open_case(request.actor, NewCase(
            centre=request.POST.get("centre", ""), arrival_mode=request.POST.get("arrival_mode", ""),
            in_hospital_onset=request.POST.get("in_hospital_onset") == "on"))
    except ActionError as exc:
        context = {"rows": board_rows(request.actor), "centres": CentreType.choices, "modes": ArrivalMode.choices,
                   "error": exc.message}
        return render(request, "emergency/board.html", context, status=400)
    return redirect("emergency:case", case.pk)


def _panel_context(request, case, *, error: str = "", done: str = "") -> dict:
    items = queries.timeline(case)
    recorded = {i["node"].code: i["current"].at for i in items if i["current"]}
    call = queries.call_of(case)
    record = PrehospitalRecord.objects.filter(call=call).order_by("recorded_at", "pk").last() if call else None
    patient = Patient.objects.filter(pk=case.patient_id).first() if case.patient_id else None
    notices = queries.notices(case)
    return {
        "case": case, "items": items, "next": next_nodes(case.centre, recorded), "error": error, "done": done,
        "clock": clock(case, recorded, timezone.now(), notices[0].sent_at if notices else None),
        "patient": patient, "call": call, "record": record, "notices": notices,
        "receiving": case.institution_id == request.actor.institution_id,
        "bypass": [(to, BYPASS_LABELS[to]) for to in BYPASS_TARGETS[case.centre]],
        "bypassed": [e for e in queries.case_events(case) if e.kind == "bypass"],
        "now_local": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
    }


@require_GET
@requires(Cap.CLINICAL)
def case_page(request, case_id: int):
    case, _decision = queries.case_for(request.actor, case_id, action=Action.READ)
    template = "emergency/_case_panel.html" if _htmx(request) else "emergency/case.html"
    return render(request, template, _panel_context(request, case))


def _local_time(raw: str) -> datetime | None:
    """A datetime-local field ("2026-01-31T23:50") read as Asia/Shanghai; None when malformed."""
    try:
        return datetime.strptime((raw or "").strip(), "%Y-%m-%dT%H:%M").replace(
            tzinfo=timezone.get_current_timezone())
    except ValueError:
        return None


def _after_write(request, case_id, *, error: str = "", done: str = ""):
    case, _decision = queries.case_for(request.actor, case_id, action=Action.READ, audit_success=False)
    if not _htmx(request):
        return redirect("emergency:case", case.pk)
    return render(request, "emergency/_case_panel.html", _panel_context(request, case, error=error, done=done),
                  status=400 if error else 200)


@require_POST
@requires(Cap.CLINICAL)
def record(request, case_id: int):
    """One tap: the node at this moment (or at the time given in the form)."""
    raw = request.POST.get("at", "")
    at = _local_time(raw) if raw else timezone.now()
    if at is None:
        return _after_write(request, case_id, error=_("Give the time as date and hours:minutes."))
    try:
        row = do_record_node(request.actor, case_id, request.POST.get("node", ""), at, source="tablet")
    except ActionError as exc:  # a conflict (NodeConflict) names the value kept
        return _after_write(request, case_id, error=exc.message)
    return _after_write(request, case_id, done=_("%(node)s recorded at %(time)s.") % {
        "node": node_named(row.case.centre, row.node).name, "time": timezone.localtime(row.at).strftime("%H:%M:%S")})


@require_POST
@requires(Cap.CLINICAL)
def correct(request, case_id: int):
    at = _local_time(request.POST.get("at", ""))
    if at is None:
        return _after_write(request, case_id, error=_("Give the time as date and hours:minutes."))
    supersedes = request.POST.get("supersedes_id") or None
    try:
        do_correct_node(request.actor, case_id, request.POST.get("node", ""), at, request.POST.get("reason", ""),
                        supersedes_id=int(supersedes) if supersedes and supersedes.isdigit() else None,
                        source="tablet")
    except ActionError as exc:
        return _after_write(request, case_id, error=exc.message)
    return _after_write(request, case_id, done=_("Correction recorded; the earlier value stays in the history."))


@require_POST
@requires(Cap.CLINICAL)
def bypass(request, case_id: int):
    try:
        do_direct_bypass(request.actor, case_id, request.POST.get("to", ""))
    except ActionError as exc:
        return _after_write(request, case_id, error=exc.message)
    return _after_write(request, case_id, done=_("Bypass direction recorded."))
