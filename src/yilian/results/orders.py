"""Orders and their mutual recognition: the app's actions for orders — the only code that creates or
changes an `Order` (docs/recognition.md).

- `do_order`: a doctor orders a panel or exam for a patient they may see; the recognition check
  (`results.recognition.check`) runs at once and the number of earlier reports offered is stored.
- `do_accept`: the order is answered by one of the offered reports, re-checked now; the saving is the
  item's price at the ordering institution (its grade's reference price when it has none).
- `do_override`: a new test after all, with a coded reason (`Exclusion`; "other" needs a note). Only an
  order that was offered something can be overridden: one offered nothing simply goes ahead.
- `do_cancel`: the order is withdrawn.

Each decision moves the order out of `open` by one conditional UPDATE, so of two doctors deciding at once
one wins and the other is told. Each action writes one audit row (object type "result_order"). `at` (an
aware time, default now) lets the demo build a history: the order's time, or the decision's.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, access_object, access_patient_for_write, audit_row, decide
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import Actor, require_cap
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.results import load, recognition
from yilian.results.models import AT_ORDER_TIME, ORDERABLE, Exclusion, Item, Order, OrderStatus, Price

OBJECT_TYPE = "result_order"
NOTE_MAX = 200


@dataclass
class NewOrder:
    patient_id: int
    item_code: str
    circumstances: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Placed:
    order: Order
    check: recognition.Check


def _require(actor: Actor) -> None:
    require_cap(actor, Cap.CLINICAL, _("Your role may not order tests."))
    require_cap(actor, Cap.RECORD_VISIT, _("Your role may not order tests."))


def _when(at: datetime | None) -> datetime:
    if at is None:
        return timezone.now()
    if not isinstance(at, datetime) or timezone.is_naive(at):
        raise ActionError("at", _("The time must carry a time zone."))
    return at


def check_order(data: NewOrder) -> Item:
    """The orderable item; every bad field at once."""
    errors = {}
    item = (Item.objects.select_related("rule")
            .filter(code=str(data.item_code or "").strip(), kind__in=ORDERABLE, active=True).first())
    if item is None:
        errors["item"] = _("Choose a lab panel or an exam from the catalogue.")
    circumstances = data.circumstances if isinstance(data.circumstances, list | tuple) else None
    if circumstances is None or any(c not in AT_ORDER_TIME for c in circumstances):
        errors["circumstances"] = _("Circumstances: emergency or pregnancy only.")
    if errors:
        raise ActionError(errors=errors)
    return item


def _consortium_of(institution_id: int) -> int:
    return Institution.objects.filter(pk=institution_id).values_list("consortium_id", flat=True).get()


def _audit(actor: Actor, order: Order, action: str, decision: Decision | None, reason: str) -> None:
    audit_row(actor, patient_id=order.patient_id, object_type=OBJECT_TYPE, object_id=order.pk, action=action,
              decision=decision, reason=reason).save()


def do_order(actor: Actor, data: NewOrder, *, at: datetime | None = None) -> Placed:
    """Order a panel or exam for a patient the actor may see (404 otherwise, audited as denied), run the
    recognition check and store the order with the number of earlier reports offered; one audit row."""
    _require(actor)
    at = _when(at)
    patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE, object_type=OBJECT_TYPE)
    item = check_order(data)
    circumstances = sorted(set(data.circumstances))
    found = recognition.check(patient.pk, item, at, circumstances, consortium_id=_consortium_of(actor.institution_id))
    with transaction.atomic():
        order = Order.objects.create(
            patient=patient, institution_id=actor.institution_id, staff_id=actor.membership.staff_id, item=item,
            ordered_at=at, circumstances=circumstances, offered=found.offered)
        _audit(actor, order, Action.CREATE, decision, f"recognition check: {found.offered} offered")
    return Placed(order, found)


def order_for(actor: Actor, order_id, *, action: str = Action.UPDATE, own: bool = True,
              audit_success: bool = False) -> tuple[Order, Decision | None]:
    """An order whose patient the actor may see (and, with `own`, placed at the actor's institution);
    404, audited as denied, otherwise."""
    queryset = Order.objects.select_related("item__rule", "institution")
    if own:
        queryset = queryset.filter(institution_id=actor.institution_id)
    order = access_object(actor, queryset, order_id, object_type=OBJECT_TYPE, action=action,
                          audit_success=audit_success)
    return order, decide(actor, order.patient_id)


def current_check(order: Order) -> recognition.Check:
    """The check again, for the order's time and circumstances, under today's rules and reports."""
    return recognition.check(order.patient_id, order.item, order.ordered_at, order.circumstances,
                             consortium_id=order.institution.consortium_id)


def saving_for(order: Order) -> Decimal | None:
    """The item's price at the ordering institution, else the reference price for its grade."""
    price = Price.objects.filter(institution_id=order.institution_id, item_id=order.item_id).first()
    if price is not None:
        return price.amount
    return load.reference_price(order.item.code, order.institution.grade)


def _decided_at(order: Order, at: datetime | None) -> datetime:
    at = _when(at)
    if at < order.ordered_at:
        raise ActionError("at", _("A decision cannot come before the order."))
    return at


def _move(order: Order, **changes) -> None:
    """open → the decision, by one conditional UPDATE; refused if someone decided first."""
    if not Order.objects.filter(pk=order.pk, status=OrderStatus.OPEN).update(**changes):
        raise ActionError("status", _("This order has been decided meanwhile (now: %(status)s); reload it.")
                          % {"status": Order.objects.get(pk=order.pk).get_status_display()})
    for name, value in changes.items():
        setattr(order, name, value)


def _decision(actor: Actor, at: datetime) -> dict:
    return {"decided_at": at, "decided_by_membership_id": actor.membership.pk}


def do_accept(actor: Actor, order_id, report_id, *, at: datetime | None = None) -> Order:
    """Answer the order by an earlier report: it must still be among the reports the check offers now (for
    the order's time and circumstances); the saving is recorded."""
    _require(actor)
    order, decision = order_for(actor, order_id)
    at = _decided_at(order, at)
    offered = {r.pk: r for r in current_check(order).reports}
    try:
        report = offered.get(int(report_id))
    except (TypeError, ValueError):
        report = None
    if report is None:
        raise ActionError("report_id", _("Choose one of the earlier results offered for this order."))
    with transaction.atomic():
        _move(order, status=OrderStatus.RECOGNISED, answered_by=report, saving=saving_for(order),
              **_decision(actor, at))
        _audit(actor, order, Action.UPDATE, decision, "recognised")
    return order


def do_override(actor: Actor, order_id, reason: str, note: str = "", *, at: datetime | None = None) -> Order:
    """A new test although earlier results were offered, with a coded reason ("other" needs a note)."""
    _require(actor)
    reason, note = str(reason or "").strip(), str(note or "").strip()
    errors = {}
    if reason not in Exclusion.values:
        errors["reason"] = _("Choose a reason from the list.")
    elif reason == Exclusion.OTHER and not note:
        errors["note"] = _("Say why (the reason is \"other\").")
    if len(note) > NOTE_MAX:
        errors["note"] = _("Note: at most 200 characters.")
    if errors:
        raise ActionError(errors=errors)
    order, decision = order_for(actor, order_id)
    at = _decided_at(order, at)
    if order.status == OrderStatus.OPEN and not order.offered:
        raise ActionError("status", _("No earlier result was offered for this order: it goes ahead as a new test."))
    with transaction.atomic():
        _move(order, status=OrderStatus.OVERRIDDEN, override_reason=reason, override_note=note,
              **_decision(actor, at))
        _audit(actor, order, Action.UPDATE, decision, f"overridden: {reason}")
    return order


def do_cancel(actor: Actor, order_id, *, at: datetime | None = None) -> Order:
    """Withdraw an open order."""
    _require(actor)
    order, decision = order_for(actor, order_id)
    at = _decided_at(order, at)
    with transaction.atomic():
        _move(order, status=OrderStatus.CANCELLED, **_decision(actor, at))
        _audit(actor, order, Action.UPDATE, decision, "cancelled")
    return order
