"""The recognition indicators and the exam wait, computed by hand on a small case.

At the county (2A; CBC ¥22.00, CT-HEAD ¥200.00 by the grade II reference prices), patient A:
- day 1: CBC recognised, CT-HEAD recognised (one person-time, two items, ¥222.00);
- day 2: CBC recognised again (a second person-time, ¥22.00), CT-HEAD overridden (acute change);
- day 2: LIPID offered nothing (left open: not in the repeat share), CBC offered and cancelled.
Patient B at the county, day 2: CBC overridden (patient request). At the township (grade 1), patient A,
day 2: CBC recognised (¥20.00: its own person-time at another institution).
Exams: two CT reports with order times, waits 30 and 90 minutes, at the township; one cancelled and one
without an order time (left out).
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from yilian.analytics.registry import REGISTRY, Scope
from yilian.network.roles import Role
from yilian.results import indicators, orders
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f


@pytest.fixture
def world(db):
    return make_world()


def test_recognition_indicators_by_hand(world):
    net = world.net
    a = world.patient
    b = f.register_patient(f.make_membership(net.county, Role.REGISTRAR))
    f.grant(a, to_institution=net.township)
    county, township = f.actor(world.county_doctor), f.actor(world.township_doctor)
    today = timezone.localdate()
    day1 = timezone.make_aware(datetime.combine(today - timedelta(days=2), time(9, 0)))
    day2 = day1 + timedelta(days=1)
    cbc_a = report(a, net.township, collected_at=day1 - timedelta(days=1))
    ct_a = report(a, net.township, "CT-HEAD", collected_at=day1 - timedelta(days=3))
    report(b, net.township, collected_at=day1)

    def order(actor, patient, code, at):
        return orders.do_order(actor, orders.NewOrder(patient.pk, code), at=at).order

    orders.do_accept(county, order(county, a, "CBC", day1).pk, cbc_a.pk, at=day1)
    orders.do_accept(county, order(county, a, "CT-HEAD", day1 + timedelta(hours=1)).pk, ct_a.pk,
                     at=day1 + timedelta(hours=2))
    orders.do_accept(county, order(county, a, "CBC", day2).pk, cbc_a.pk, at=day2)
    orders.do_override(county, order(county, a, "CT-HEAD", day2).pk, "acute_change", at=day2)
    assert order(county, a, "LIPID", day2).offered == 0
    orders.do_cancel(county, order(county, a, "CBC", day2 + timedelta(hours=1)).pk, at=day2 + timedelta(hours=1))
    orders.do_override(county, order(county, b, "CBC", day2).pk, "patient_request", at=day2)
    orders.do_accept(township, order(township, a, "CBC", day2).pk, cbc_a.pk, at=day2)

    scope = Scope(start=today - timedelta(days=3), end=today + timedelta(days=1))
    value = {code: REGISTRY[code].compute(scope) for code in REGISTRY if code.startswith("results.")}
    assert value["results.recognised"] == 3  # (A, county, day 1), (A, county, day 2), (A, township, day 2)
    assert value["results.recognised_items"] == 4
    assert value["results.saved_amount"] == Decimal("264.00")  # 22 + 200 + 22 at the county, 20 at the township
    assert value["results.overrides"] == 2
    with translation.override("en"):
        assert indicators.overrides_by_reason(scope) == [
            {"reason": "acute_change", "label": "The condition has changed (病情变化)", "count": 1},
            {"reason": "patient_request", "label": "The patient asks for a new test (患者要求)", "count": 1}]
    # 2 overridden ÷ 6 decided orders that were offered something (4 recognised + 2 overridden)
    assert value["results.repeat_share"] == Decimal("0.3333")

    county_only = Scope(scope.start, scope.end, frozenset({net.county.pk}))
    assert REGISTRY["results.recognised"].compute(county_only) == 2
    assert REGISTRY["results.saved_amount"].compute(county_only) == Decimal("244.00")
    day1_only = Scope(today - timedelta(days=2), today - timedelta(days=1))
    assert REGISTRY["results.recognised"].compute(day1_only) == 1
    assert REGISTRY["results.repeat_share"].compute(day1_only) == Decimal("0.0000")
    empty = Scope(today + timedelta(days=5), today + timedelta(days=6))
    assert (REGISTRY["results.recognised"].compute(empty), REGISTRY["results.saved_amount"].compute(empty),
            REGISTRY["results.repeat_share"].compute(empty)) == (0, Decimal("0.00"), None)


def test_exam_wait_by_hand(world):
    net, patient = world.net, world.patient
    start = timezone.now() - timedelta(days=1)
    report(patient, net.township, "CT-HEAD", collected_at=start, ordered_at=start - timedelta(minutes=30))
    report(patient, net.township, "CT-CHEST", collected_at=start, ordered_at=start - timedelta(minutes=90))
    report(patient, net.township, "CT-ABD", collected_at=start, ordered_at=start - timedelta(minutes=600),
           status="cancelled")
    report(patient, net.township, "US-ABD", collected_at=start)  # no order time
    report(patient, net.county, "DR-CHEST", collected_at=start, ordered_at=start - timedelta(minutes=10))
    report(patient, net.township, "CBC", collected_at=start, ordered_at=start - timedelta(minutes=300))  # lab
    today = timezone.localdate()
    scope = Scope(today - timedelta(days=2), today + timedelta(days=1))
    wait = REGISTRY["results.exam_wait"]
    assert wait.compute(scope) == Decimal("43.33")  # (30 + 90 + 10) ÷ 3
    assert wait.compute(Scope(scope.start, scope.end, frozenset({net.township.pk}))) == Decimal("60.00")
    assert wait.compute(Scope(today + timedelta(days=1), today + timedelta(days=2))) is None
