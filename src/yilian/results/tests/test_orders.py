"""The order actions: placing runs the check (offered count, one audit row, 404 for a patient one may not
see), accepting re-checks and records the saving, overriding needs a coded reason, cancelling, decisions
from the open state only, and `at=` for a history."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone, translation

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.results import orders
from yilian.results.models import Item, Order, OrderStatus, Price
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def place(world, code="CBC", circumstances=(), by=None, **kw):
    return orders.do_order(f.actor(by or world.county_doctor),
                           orders.NewOrder(world.patient.pk, code, list(circumstances)), **kw)


def audits(**filters):
    return list(AuditEvent.objects.filter(object_type="result_order", **filters).order_by("pk"))


def test_placing_an_order_runs_the_check_and_audits_it(world):
    earlier = report(world.patient, world.net.township, days_ago=2)
    placed = place(world)
    order = Order.objects.get()
    assert placed.order == order and [r.pk for r in placed.check.reports] == [earlier.pk]
    assert (order.offered, order.status, order.institution_id, order.staff_id, order.circumstances) == (
        1, OrderStatus.OPEN, world.net.county.pk, world.county_doctor.staff_id, [])
    [row] = audits()
    assert (row.patient_id, row.action, row.basis, row.object_id) == (world.patient.pk, "create", "care", str(order.pk))
    assert row.reason == "recognition check: 1 offered"


def test_an_excluded_circumstance_stores_none_offered(world):
    report(world.patient, world.net.township, days_ago=2)
    placed = place(world, circumstances=["emergency"])
    assert placed.order.offered == 0 and placed.order.circumstances == ["emergency"]
    assert "Emergency" in placed.check.why_none
    lipids = place(world, code="LIPID", circumstances=["pregnancy", "emergency", "pregnancy"])
    assert lipids.order.circumstances == ["emergency", "pregnancy"]  # once each, in order


def test_a_patient_one_may_not_see_is_404_and_nothing_is_stored(world):
    report(world.patient, world.net.township, days_ago=2)
    outsider = f.make_membership(world.net.village, Role.DOCTOR)
    for patient_id in (world.patient.pk, 10**9, "x"):
        with pytest.raises(Http404):
            orders.do_order(f.actor(outsider), orders.NewOrder(patient_id, "CBC"))
    assert not Order.objects.exists()
    assert [r.outcome for r in audits()] == ["denied"] * 3


def test_roles_and_bad_input(world):
    nurse = f.make_membership(world.net.county, Role.NURSE)
    with pytest.raises(ActionError) as exc:
        place(world, by=nurse)
    assert set(exc.value.errors) == {"role"}
    with pytest.raises(ActionError) as exc:
        place(world, code="K", circumstances=["acute_change"])  # a lab item, not a panel; not an order-time one
    assert set(exc.value.errors) == {"item", "circumstances"}
    with pytest.raises(ActionError) as exc:
        place(world, at=datetime(2026, 1, 1, 8, 0))  # noqa: DTZ001 - the naive time is the point
    assert set(exc.value.errors) == {"at"}
    assert not Order.objects.exists()


def test_accept_records_the_price_at_the_ordering_institution(world):
    earlier = report(world.patient, world.net.township, days_ago=2)
    Price.objects.create(institution=world.net.county, item=Item.objects.get(code="CBC"), amount=Decimal("26.50"))
    placed = place(world)
    order = orders.do_accept(f.actor(world.county_doctor2), placed.order.pk, earlier.pk)
    order.refresh_from_db()
    assert (order.status, order.answered_by_id, order.saving) == (OrderStatus.RECOGNISED, earlier.pk, Decimal("26.50"))
    assert order.decided_by_membership_id == world.county_doctor2.pk and order.decided_at is not None
    assert audits(action="update")[0].reason == "recognised"


def test_accept_falls_back_to_the_reference_price_of_the_grade(world):
    earlier = report(world.patient, world.net.county, "CT-HEAD", days_ago=10)
    f.grant(world.patient, to_institution=world.net.township)
    placed = orders.do_order(f.actor(world.township_doctor), orders.NewOrder(world.patient.pk, "CT-HEAD"))
    order = orders.do_accept(f.actor(world.township_doctor), placed.order.pk, earlier.pk)
    assert order.saving == Decimal("180.00")  # data/prices.csv, grade I column: the township's grade


def test_accept_only_an_offered_report_still_recognisable_now(world):
    earlier = report(world.patient, world.net.township, days_ago=2, identifier="F1")
    lfts = report(world.patient, world.net.township, "LFT", days_ago=2)
    placed = place(world)
    for bad in (lfts.pk, "x", None):
        with pytest.raises(ActionError) as exc:
            orders.do_accept(f.actor(world.county_doctor), placed.order.pk, bad)
        assert set(exc.value.errors) == {"report_id"}
    report(world.patient, world.net.township, status="cancelled", identifier="F1")  # the lab withdrew it
    with pytest.raises(ActionError):
        orders.do_accept(f.actor(world.county_doctor), placed.order.pk, earlier.pk)
    assert Order.objects.get().status == OrderStatus.OPEN


def test_one_decision_only(world):
    earlier = report(world.patient, world.net.township, days_ago=2)
    placed = place(world)
    orders.do_accept(f.actor(world.county_doctor), placed.order.pk, earlier.pk)
    for decide in (lambda a: orders.do_accept(a, placed.order.pk, earlier.pk),
                   lambda a: orders.do_override(a, placed.order.pk, "clinical_need"),
                   lambda a: orders.do_cancel(a, placed.order.pk)):
        with pytest.raises(ActionError) as exc:
            decide(f.actor(world.county_doctor2))
        assert set(exc.value.errors) == {"status"} and "Answered by an earlier result" in exc.value.message
    assert len(audits(action="update")) == 1


def test_override_needs_a_coded_reason_and_an_offered_result(world):
    report(world.patient, world.net.township, days_ago=2)
    placed = place(world)
    doctor = f.actor(world.county_doctor)
    for reason, note, fields in (("because", "", {"reason"}), ("other", "", {"note"}),
                                 ("other", "x" * 201, {"note"})):
        with pytest.raises(ActionError) as exc:
            orders.do_override(doctor, placed.order.pk, reason, note)
        assert set(exc.value.errors) == fields
    order = orders.do_override(doctor, placed.order.pk, "other", "  患者已用抗凝药，需复查 ")
    order.refresh_from_db()
    assert (order.status, order.override_reason, order.override_note) == ("overridden", "other", "患者已用抗凝药，需复查")
    assert audits(action="update")[0].reason == "overridden: other"

    nothing = place(world, code="LIPID")
    assert nothing.order.offered == 0
    with pytest.raises(ActionError) as exc:
        orders.do_override(doctor, nothing.order.pk, "clinical_need")
    assert set(exc.value.errors) == {"status"}


def test_cancel_and_another_institutions_order(world):
    placed = place(world)
    f.grant(world.patient, to_institution=world.net.township)
    with pytest.raises(Http404):  # the township may see the patient but did not place the order
        orders.do_cancel(f.actor(world.township_doctor), placed.order.pk)
    order = orders.do_cancel(f.actor(world.county_doctor), placed.order.pk)
    assert order.status == OrderStatus.CANCELLED and Order.objects.get().decided_at is not None


def test_a_history_at_given_times(world):
    """The demo builds months of orders: `at` is the order's time, and the check looks back from it."""
    at = timezone.now() - timedelta(days=90)
    old = report(world.patient, world.net.township, collected_at=at - timedelta(days=3))
    report(world.patient, world.net.township, days_ago=1)  # after that order: not offered to it
    placed = place(world, at=at)
    assert placed.order.ordered_at == at and [r.pk for r in placed.check.reports] == [old.pk]
    with pytest.raises(ActionError) as exc:
        orders.do_accept(f.actor(world.county_doctor), placed.order.pk, old.pk, at=at - timedelta(minutes=1))
    assert set(exc.value.errors) == {"at"}
    order = orders.do_accept(f.actor(world.county_doctor), placed.order.pk, old.pk, at=at + timedelta(minutes=5))
    assert order.decided_at == at + timedelta(minutes=5)
