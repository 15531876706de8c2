"""Queue pages (排队叫号): the check-in desk, the doctor's calling page, and the waiting-room display. Each
view parses, authorizes and calls `queue`; an htmx request gets the part of the page it replaces."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.models import Department
from yilian.network.roles import Cap
from yilian.scheduling import queue
from yilian.scheduling.forms import DeskForm

MOVE_DONE = {
    "recall": gettext_lazy("Called again."),
    "skip": gettext_lazy("Skipped."),
    "requeue": gettext_lazy("Back in the queue."),
    "start": gettext_lazy("Visit started."),
    "end": gettext_lazy("Visit ended."),
}


def _htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


DESK_FIELDS = {"department_id": "department", "doctor_id": "doctor", "arrived_at": "arrived"}


@require_http_methods(["GET", "POST"])
@requires(Cap.REGISTER)
def desk(request):
    """The check-in desk: one field for the scanner or the keyboard; a walk-in chooses a department."""
    institution_id = request.actor.institution_id
    form = DeskForm(request.POST or None, institution_id=institution_id)
    entry = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = queue.do_queue_check_in(request.actor, queue.CheckIn(
                code=data["code"], department_id=data["department"], doctor_id=data["doctor"],
                disabled=data["disabled"], arrived_at=form.arrived_at()))
        except ActionError as exc:
            exc.add_to(form, DESK_FIELDS)
        else:
            form = DeskForm(institution_id=institution_id)
    context = {"form": form, "entry": entry,
               "department": Department.objects.get(pk=entry.department_id) if entry else None}
    template = "scheduling/_desk.html" if _htmx(request) else "scheduling/desk.html"
    return render(request, template, context, status=400 if form.errors else 200)


def _department_id(request):
    chosen = request.GET.get("department") or request.POST.get("department")
    return chosen or request.membership.department_id


def _departments(request):
    return Department.objects.filter(institution_id=request.actor.institution_id).order_by("name", "pk")


def _doctor_context(request, department_id) -> dict:
    lines = queue.doctor_queue(request.actor, department_id)
    return {"queue": lines, "department_id": int(department_id),
            "department": Department.objects.get(pk=department_id)}


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def doctor(request):
    """The doctor's page: who is called or in the room, then the waiting list, with big buttons."""
    department_id = _department_id(request)
    context = {"departments": _departments(request), "department_id": None}
    if department_id:
        try:
            context.update(_doctor_context(request, department_id))
        except ActionError as exc:
            context["error"] = exc.message
            return render(request, "scheduling/doctor.html", context, status=400)
    return render(request, "scheduling/doctor.html", context)


def _after_move(request, department_id, error: str = "", done: str = ""):
    if _htmx(request):
        context = _doctor_context(request, department_id)
        context.update({"error": error, "done": done})
        return render(request, "scheduling/_doctor_queue.html", context, status=400 if error else 200)
    if error:
        messages.error(request, error)
    elif done:
        messages.success(request, done)
    return redirect(f"{reverse('scheduling:doctor')}?department={department_id}")


@require_POST
@requires(Cap.CLINICAL)
def call_next(request):
    department_id = _department_id(request)
    try:
        department_id = queue.check_clinic(request.actor, department_id)
        entry = queue.do_call_next(request.actor, department_id)
    except ActionError as exc:
        if "department_id" in exc.errors:
            raise Http404 from None
        return _after_move(request, department_id, error=exc.message)
    if entry is None:
        return _after_move(request, department_id, error=_("Nobody is waiting."))
    return _after_move(request, department_id, done=_("Calling number %(number)s.") % {"number": entry.number})


@require_POST
@requires(Cap.CLINICAL)
def move(request, entry_id: int, move: str):
    if move not in queue.MOVES:
        raise Http404
    try:
        entry = queue.do_move(request.actor, entry_id, move)
    except ActionError as exc:
        department_id = queue.QueueEntry.objects.filter(
            pk=entry_id, institution_id=request.actor.institution_id).values_list("department_id", flat=True).first()
        return _after_move(request, department_id, error=exc.message)
    return _after_move(request, entry.department_id, done=str(MOVE_DONE[move]))


def _board(request, department_id: int) -> dict:
    if not request.actor.membership:
        raise PermissionDenied
    try:
        board = queue.display_board(request.actor, department_id)
    except ActionError:
        raise Http404 from None
    return {"board": board, "department": Department.objects.get(pk=department_id)}


@require_http_methods(["GET"])
@requires()
def display(request, department_id: int):
    """The waiting-room screen: any member of the institution may open it; it refreshes itself every 5 s."""
    return render(request, "scheduling/display.html", _board(request, department_id))


@require_http_methods(["GET"])
@requires()
def display_board_part(request, department_id: int):
    return render(request, "scheduling/_board.html", _board(request, department_id))
