"""The results JSON API: orders and the recognition check. Parsing and the acting identity here; every rule
is in `results.orders`, every patient read through the access gate (404 for orders of patients the actor
may not see, as for missing ones)."""

from datetime import datetime
from decimal import Decimal
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.access.gate import access_patient
from yilian.access.models import Action
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.results import orders, recognition
from yilian.results.models import Exclusion, Order, OrderStatus

router = Router(tags=["results"])
ID = {"ge": 1, "le": 2**62}


class OrderIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(**ID)
    item: str = Field(..., min_length=1, max_length=20, description="the panel's or exam's catalogue code")
    circumstances: list[Literal["emergency", "pregnancy"]] = Field(default_factory=list, max_length=2)


class AcceptIn(Schema):
    model_config = ConfigDict(extra="forbid")

    report_id: int = Field(**ID)


class OverrideIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: Literal[tuple(Exclusion.values)]  # type: ignore[valid-type]
    note: str = Field("", max_length=orders.NOTE_MAX)


class PatientQuery(Schema):
    patient_id: int = Field(**ID)


class ValueOut(Schema):
    code: str
    name: str
    value: str
    unit: str
    reference: str
    flag: str
    critical: bool


class CandidateOut(Schema):
    report_id: int
    source_institution_id: int
    source: str
    name: str
    status: str
    collected_at: datetime
    reported_at: datetime
    conclusion: str
    values: list[ValueOut]


class OrderOut(Schema):
    id: int
    patient_id: int
    institution_id: int
    staff_id: int
    item: str
    item_name: str
    kind: str
    ordered_at: datetime
    circumstances: list[str]
    status: str
    offered: int
    why_none: str
    candidates: list[CandidateOut]
    answered_by: int | None
    saving: Decimal | None
    override_reason: str
    override_note: str
    decided_at: datetime | None


def candidate_out(report, values) -> dict:
    return {"report_id": report.pk, "source_institution_id": report.institution_id,
            "source": report.institution.short_name, "name": report.name, "status": report.status,
            "collected_at": report.collected_at, "reported_at": report.reported_at, "conclusion": report.conclusion,
            "values": [{"code": o.code, "name": o.name, "value": o.value, "unit": o.unit, "reference": o.reference,
                        "flag": o.flag, "critical": o.critical} for o in values]}


def shown_reports(order: Order, check: recognition.Check | None = None) -> tuple[list, str]:
    """The reports shown with an order and why none: the offered ones while it is open (the check as it
    stands now), the one that answered it once recognised, none otherwise."""
    if order.status == OrderStatus.OPEN:
        check = check or orders.current_check(order)
        return check.reports, check.why_none
    if order.status == OrderStatus.RECOGNISED:
        return [order.answered_by], ""
    return [], ""


def order_out(order: Order, check: recognition.Check | None = None) -> dict:
    reports, why_none = shown_reports(order, check)
    values = recognition.values_of(reports)
    return {"id": order.pk, "patient_id": order.patient_id, "institution_id": order.institution_id,
            "staff_id": order.staff_id, "item": order.item.code, "item_name": order.item.name,
            "kind": order.item.kind, "ordered_at": order.ordered_at, "circumstances": order.circumstances,
            "status": order.status, "offered": order.offered, "why_none": why_none,
            "candidates": [candidate_out(r, values[r.pk]) for r in reports], "answered_by": order.answered_by_id,
            "saving": order.saving, "override_reason": order.override_reason, "override_note": order.override_note,
            "decided_at": order.decided_at}


@router.post("/orders", response={201: OrderOut}, summary="Order a panel or exam: the recognition check runs",
             auth=ActingRole(Cap.RECORD_VISIT))
def place(request, payload: OrderIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    placed = orders.do_order(actor, orders.NewOrder(payload.patient_id, payload.item, list(payload.circumstances)))
    return Status(201, order_out(placed.order, placed.check))


@router.get("/orders", response=list[OrderOut], summary="A patient's orders, newest first",
            auth=ActingRole(Cap.CLINICAL))
def patient_orders(request, q: Query[PatientQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    patient = access_patient(actor, q.patient_id, Action.READ, object_type=orders.OBJECT_TYPE)
    rows = Order.objects.filter(patient=patient).select_related("item", "institution", "answered_by__institution")
    return [order_out(o) for o in rows.order_by("-ordered_at", "-pk")[:100]]


@router.get("/orders/{int:order_id}", response=OrderOut, summary="One order with the results it offers",
            auth=ActingRole(Cap.CLINICAL))
def order(request, order_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    found, _decision = orders.order_for(actor, order_id, action=Action.READ, own=False, audit_success=True)
    return order_out(found)


@router.post("/orders/{int:order_id}/accept", response=OrderOut, summary="Answer the order by an offered result",
             auth=ActingRole(Cap.RECORD_VISIT))
def accept(request, order_id: int, payload: AcceptIn):
    return order_out(orders.do_accept(api_actor(request, Cap.RECORD_VISIT), order_id, payload.report_id))


@router.post("/orders/{int:order_id}/override", response=OrderOut, summary="A new test, with a coded reason",
             auth=ActingRole(Cap.RECORD_VISIT))
def override(request, order_id: int, payload: OverrideIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    return order_out(orders.do_override(actor, order_id, payload.reason, payload.note))


@router.post("/orders/{int:order_id}/cancel", response=OrderOut, summary="Withdraw an open order",
             auth=ActingRole(Cap.RECORD_VISIT))
def cancel(request, order_id: int):
    return order_out(orders.do_cancel(api_actor(request, Cap.RECORD_VISIT), order_id))
