"""Order pages: the order form from a patient, the recognition panel (the earlier results offered, accept
one, or override with a coded reason, or cancel), and the patient's orders. Views parse, authorize and call
`results.orders`; patients are read through `access.gate`."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from yilian.access.gate import access_patient
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import requires
from yilian.network.roles import Cap
from yilian.results import orders, recognition
from yilian.results.api import shown_reports
from yilian.results.forms_orders import OrderForm, OverrideForm
from yilian.results.models import Exclusion, Flag, Order, OrderStatus

STEPS = {"accept", "override", "cancel"}
MARKS = {Flag.HIGH: "↑", Flag.LOW: "↓", Flag.CRITICAL_HIGH: "↑↑", Flag.CRITICAL_LOW: "↓↓", Flag.ABNORMAL: "*"}
DONE = {"accept": lambda: _("The earlier result answers this order (recognised)."),
        "override": lambda: _("A new test is ordered."), "cancel": lambda: _("Order cancelled.")}


@require_http_methods(["GET", "POST"])
@requires(Cap.RECORD_VISIT)
def new(request, patient_id: int):
    """Order a panel or exam for the patient; the recognition panel follows."""
    patient = access_patient(request.actor, patient_id, Action.READ, object_type="result_order_form")
    form = OrderForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            data = orders.NewOrder(patient.pk, form.cleaned_data["item"], form.cleaned_data["circumstances"])
            try:
                placed = orders.do_order(request.actor, data)
            except ActionError as exc:
                exc.add_to(form)
            else:
                return redirect("results:order", order_id=placed.order.pk)
    return render(request, "results/orders/new.html", {"form": form, "patient": patient}, status=status)


def _candidates(reports) -> list[dict]:
    values = recognition.values_of(reports)
    return [{"report": r, "values": [(o, MARKS.get(o.flag, "")) for o in values[r.pk]],
             "abnormal": any(o.flag not in ("", Flag.NORMAL) for o in values[r.pk]),
             "critical": any(o.critical for o in values[r.pk])} for r in reports]


def _context(request, order_id, override_form=None) -> dict:
    actor = request.actor
    order, _decision = orders.order_for(actor, order_id, action=Action.READ, own=False, audit_success=True)
    reports, why_none = shown_reports(order)
    mine = order.institution_id == actor.institution_id and actor.can(Cap.RECORD_VISIT)
    return {"order": order, "patient": order.patient, "candidates": _candidates(reports), "why_none": why_none,
            "open": order.status == OrderStatus.OPEN, "mine": mine,
            "override_form": override_form or OverrideForm(), "circumstances": _circumstances(order)}


def _circumstances(order: Order) -> list[str]:
    labels = dict(Exclusion.choices)
    return [str(labels.get(c, c)) for c in order.circumstances]


def _render(request, context: dict, status: int = 200):
    """The whole page, or the panel alone for htmx (which then shows the step's message itself)."""
    partial = bool(request.headers.get("HX-Request"))
    template = "results/orders/_panel.html" if partial else "results/orders/detail.html"
    return render(request, template, {**context, "partial": partial}, status=status)


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def order(request, order_id: int):
    """The recognition panel of one order (a read of the patient's results: audited)."""
    return _render(request, _context(request, order_id))


def _run(request, order_id: int, step: str):
    if step == "accept":
        return orders.do_accept(request.actor, order_id, request.POST.get("report_id"))
    if step == "override":
        return orders.do_override(request.actor, order_id, request.POST.get("reason", ""),
                                  request.POST.get("note", ""))
    return orders.do_cancel(request.actor, order_id)


@require_POST
@requires(Cap.RECORD_VISIT)
def step(request, order_id: int, step: str):
    """Accept, override or cancel; with htmx the panel comes back in place, otherwise the page reloads."""
    if step not in STEPS:
        raise Http404
    try:
        _run(request, order_id, step)
    except ActionError as exc:
        if step == "override" and set(exc.errors) <= {"reason", "note"}:
            form = OverrideForm(request.POST)
            form.is_valid()
            exc.add_to(form)
            return _render(request, _context(request, order_id, form), status=400)
        for message in exc.errors.values():
            messages.error(request, message)
    else:
        messages.success(request, DONE[step]())
    if request.headers.get("HX-Request"):
        return _render(request, _context(request, order_id))
    return redirect("results:order", order_id=order_id)


@require_http_methods(["GET"])
@requires(Cap.CLINICAL)
def patient_orders(request, patient_id: int):
    """The patient's orders at every member, newest first, with what became of each."""
    patient = access_patient(request.actor, patient_id, Action.READ, object_type=orders.OBJECT_TYPE)
    rows = (Order.objects.filter(patient=patient).select_related("item", "institution", "answered_by__institution")
            .order_by("-ordered_at", "-pk")[:200])
    return render(request, "results/orders/list.html", {
        "patient": patient, "rows": rows, "can_order": request.actor.can(Cap.RECORD_VISIT)})
