"""Each care indicator computed by hand on a tiny consortium."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from yilian.analytics.registry import REGISTRY, Scope
from yilian.care.actions import Charge
from yilian.care.indicators import visits_by_institution_month
from yilian.network.roles import Role
from yilian.testing.factories import make_membership, make_network, open_encounter, register_patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny():
    """County: 2 outpatient + 1 emergency + 1 inpatient (not a visit); township: 3 outpatient; village: 1
    outpatient; and one county visit 40 days ago, outside the period."""
    net = make_network()
    reg = {i.code: make_membership(i, Role.REGISTRAR) for i in (net.county, net.township, net.village)}
    now = timezone.now()

    def seen(inst, klass="outpatient", charges=(), start=None):
        patient = register_patient(reg[inst.code])
        return open_encounter(reg[inst.code], patient, klass=klass, charges=list(charges),
                              start=start or now - timedelta(hours=2))

    seen(net.county, charges=[Charge("western_drug", "30.00"), Charge("registration", "10.00")])
    seen(net.county, charges=[Charge("herbal", "50.00")])
    seen(net.county, klass="emergency", charges=[Charge("lab", "40.00")])
    seen(net.county, klass="inpatient", charges=[Charge("bed", "100.00")])
    seen(net.county, start=now - timedelta(days=40), charges=[Charge("western_drug", "999.00")])
    for _ in range(3):
        seen(net.township)
    seen(net.village, charges=[Charge("patent_drug", "20.00")])
    today = timezone.localdate()
    return net, Scope(start=today - timedelta(days=10), end=today + timedelta(days=1))


def test_outpatient_visits_counts_outpatient_and_emergency_in_the_period(tiny):
    _net, scope = tiny
    # county 2 outpatient + 1 emergency, township 3, village 1; the inpatient stay and the old visit are out
    assert REGISTRY["outpatient.visits"].compute(scope) == 7


def test_grassroots_rate_by_hand(tiny):
    net, scope = tiny
    # grassroots (township 3 + village 1) ÷ all visits 7
    assert REGISTRY["outpatient.grassroots_rate"].compute(scope) == Decimal("0.5714")
    county_only = Scope(scope.start, scope.end, frozenset({net.county.pk}))
    assert REGISTRY["outpatient.grassroots_rate"].compute(county_only) == Decimal("0.0000")


def test_drug_ratio_excludes_herbal_pieces_from_the_numerator_only(tiny):
    _net, scope = tiny
    # drugs: western 30 + patent 20 = 50; medical income: 30 + 10 + 50 + 40 + 100 + 20 = 250
    assert REGISTRY["finance.drug_ratio"].compute(scope) == Decimal("0.2000")


def test_ratios_with_nothing_recorded_are_none_not_zero():
    make_network()
    today = timezone.localdate()
    scope = Scope(today, today + timedelta(days=1))
    assert REGISTRY["outpatient.grassroots_rate"].compute(scope) is None
    assert REGISTRY["finance.drug_ratio"].compute(scope) is None
    assert REGISTRY["outpatient.visits"].compute(scope) == 0


def test_visits_by_institution_month_sums_to_the_visit_count(tiny):
    net, scope = tiny
    rows = visits_by_institution_month(scope)
    by_institution = {r["institution_id"]: r["visits"] for r in rows}
    assert by_institution == {net.county.pk: 3, net.township.pk: 3, net.village.pk: 1}


def test_every_indicator_cites_a_formula_and_a_source():
    for indicator in REGISTRY.values():
        assert indicator.formula and indicator.source and indicator.name_zh and indicator.name_en
        assert indicator.compute.__doc__ and ("÷" in indicator.compute.__doc__ or "人次" in indicator.compute.__doc__)
