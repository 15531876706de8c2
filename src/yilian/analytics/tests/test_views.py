"""The indicator dashboard and the indicator endpoints: figures from recorded encounters, and bad periods
answered 400/422 naming the field (never 500)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from yilian.analytics.dashboard import default_scope, display
from yilian.analytics.registry import REGISTRY, Indicator, Scope, ratio, register
from yilian.care.actions import Charge
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, api_errors, contains, is_english, marked_invalid


@pytest.fixture
def activity(net, owner, registrar, patient):
    """Three visits half an hour ago: two at the county hospital, one at the township centre; charges."""
    township_doctor = f.make_membership(net.township, Role.DOCTOR)
    f.grant(patient, to_institution=net.township)
    start = timezone.now() - timedelta(minutes=30)
    f.open_encounter(owner, patient, start=start, charges=[Charge("western_drug", "30"), Charge("herbal", "50")])
    f.open_encounter(owner, patient, start=start, charges=[Charge("lab", "20")])
    f.open_encounter(township_doctor, patient, start=start)
    return patient


def recent() -> Scope:
    """The last few days (the activity is half an hour old, whatever the time of day)."""
    today = timezone.localdate()
    return Scope(start=today - timedelta(days=2), end=today + timedelta(days=1))


def test_indicators_compute_from_encounters(activity):
    scope = recent()
    assert REGISTRY["outpatient.visits"].compute(scope) == 3
    assert REGISTRY["outpatient.grassroots_rate"].compute(scope) == Decimal("0.3333")
    assert REGISTRY["finance.drug_ratio"].compute(scope) == Decimal("0.3000")  # herbal pieces excluded
    county_only = Scope(scope.start, scope.end, frozenset({activity.registered_at_id}))
    assert REGISTRY["outpatient.visits"].compute(county_only) == 2


def test_empty_period_has_no_ratio(db):
    scope = Scope(date(2020, 1, 1), date(2020, 2, 1))
    assert REGISTRY["outpatient.visits"].compute(scope) == 0
    assert REGISTRY["outpatient.grassroots_rate"].compute(scope) is None
    assert display(None, "ratio") == "—"


def test_registry_refuses_a_second_indicator_under_one_code():
    existing = REGISTRY["outpatient.visits"]
    assert register(existing) is existing
    twin = Indicator(**{**existing.__dict__})
    with pytest.raises(ValueError):
        register(twin)


def test_ratio_and_display():
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(1, 0) is None
    assert display(Decimal("0.3333"), "ratio") == "33.3%"
    assert display(1234, "count") == "1,234"
    assert display(Decimal("12.5"), "yuan") == "¥12.50"
    with translation.override("en"):
        assert display(Decimal("14.04"), "minutes") == "14.0 min"
    with translation.override("zh-hans"):
        assert display(Decimal("3"), "minutes") == "3.0 分钟"


def test_default_scope_covers_six_months():
    scope = default_scope(date(2026, 3, 15))
    assert (scope.start, scope.end) == (date(2025, 10, 1), date(2026, 3, 16))
    assert [m.month for m in scope.months()] == [10, 11, 12, 1, 2, 3]


def test_dashboard_shows_aggregates_only(client_as, manager, activity):
    resp = client_as(manager).get(reverse("analytics:dashboard"))
    assert resp.status_code == 200
    kpis = {k["code"]: k["value"] for k in resp.context["kpis"]}
    assert kpis["outpatient.visits"] == 3
    assert sum(sum(s["data"]) for s in resp.context["visits"]["series"]) == 3
    assert f.leaked(resp.content, activity) == []


def test_dashboard_period(client_as, manager, activity):
    today = timezone.localdate()
    resp = client_as(manager).get(reverse("analytics:dashboard"),
                                  {"start": (today - timedelta(days=400)).isoformat(), "end": "2020-01-01"})
    assert resp.status_code == 400
    resp = client_as(manager).get(reverse("analytics:dashboard"),
                                  {"start": "2020-01-01", "end": "2020-03-01"})
    assert resp.status_code == 200
    assert {k["code"]: k["value"] for k in resp.context["kpis"]}["outpatient.visits"] == 0
    assert resp.context["visits"]["months"] == ["2020-01", "2020-02"]


DASHBOARD_BAD = [
    ({"start": "2026-13-01"}, "start", "a date like"),
    ({"end": "soon"}, "end", "a date like"),
    ({"start": "2026-03-01", "end": "2026-03-01"}, "end", "after the start"),
    ({"start": "2020-01-01", "end": "2026-01-01"}, "end", "three years"),
    ({"start": "0001-01-01", "end": "0001-03-01"}, "start", "between"),
    ({"start": "9999-01-01", "end": "9999-12-31"}, "start", "between"),
    ({"start": "2026-01-01", "end": "9999-12-31"}, "end", "between"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("query", "field", "english"), DASHBOARD_BAD)
def test_dashboard_bad_period(client_as, manager, lang, query, field, english):
    resp = client_as(manager, **LANGUAGES[lang]).get(reverse("analytics:dashboard"), query)
    assert resp.status_code == 400
    assert field in resp.context["errors"]
    assert marked_invalid(resp, field)
    assert contains(resp, 'role="alert"')
    if lang == "en":
        assert english in resp.context["errors"][field]
        assert is_english(resp.context["errors"][field])


def test_api_lists_the_registry(client_as, manager):
    resp = client_as(manager).get("/api/v1/indicators")
    assert resp.status_code == 200
    assert [i["code"] for i in resp.json()] == sorted(REGISTRY)
    assert all(i["formula"] and i["source"] for i in resp.json())


def test_api_value(client_as, manager, activity):
    today = timezone.localdate()
    resp = client_as(manager).get("/api/v1/indicators/outpatient.visits",
                                  {"start": (today - timedelta(days=2)).isoformat(),
                                   "end": (today + timedelta(days=1)).isoformat()})
    assert resp.status_code == 200
    assert resp.json()["value"] == 3
    assert client_as(manager).get("/api/v1/indicators/outpatient.visits").json()["value"] == 3


def test_api_unknown_indicator(client_as, manager):
    resp = client_as(manager).get("/api/v1/indicators/no.such")
    assert resp.status_code == 404
    assert api_errors(resp) == {"": api_errors(resp)[""]}


API_BAD = [
    ({"start": "2026-02-30"}, "start", "date like"),
    ({"end": "x"}, "end", "date like"),
    ({"start": "2026-03-01", "end": "2026-02-01"}, "end", "after the start"),
    ({"start": "2010-01-01", "end": "2026-01-01"}, "end", "three years"),
    ({"start": "0001-01-01", "end": "0001-03-01"}, "start", "between"),
    ({"start": "9999-01-01", "end": "9999-12-31"}, "start", "between"),
]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("query", "field", "english"), API_BAD)
def test_api_bad_period(client_as, manager, lang, query, field, english):
    resp = client_as(manager, **LANGUAGES[lang]).get("/api/v1/indicators/outpatient.visits", query)
    assert resp.status_code == 422
    errors = api_errors(resp)
    assert list(errors) == [field]
    if lang == "en":
        assert english in errors[field]
        assert is_english(errors[field])


def test_outpatient_trend_by_month_scales_shares_and_keeps_minutes(activity):
    """The dashboard's outpatient chart: one point per month, shares in %, waits in minutes; three walk-in
    encounters and no booking give a booking rate of 0 % and no waiting time this month."""
    from yilian.analytics.dashboard import OUTPATIENT_CODES, trend_chart

    today = timezone.localdate()
    scope = Scope(start=(today.replace(day=1) - timedelta(days=1)).replace(day=1), end=today + timedelta(days=1))
    chart = trend_chart(scope, OUTPATIENT_CODES)
    assert len(chart["months"]) == 2
    series = {s["code"]: s for s in chart["series"]}
    assert set(series) == set(OUTPATIENT_CODES)
    assert series["outpatient.booking_rate"]["unit"] == "ratio"
    assert series["outpatient.booking_rate"]["data"][-1] == 0.0
    assert series["outpatient.booked_wait"]["unit"] == "minutes"
    assert series["outpatient.booked_wait"]["data"][-1] is None
    assert series["outpatient.top3_specialty_share"]["data"][-1] == 100.0  # two departments, all visits


def test_dashboard_carries_the_outpatient_chart(client_as, activity, net):
    manager = f.make_membership(net.county, Role.MANAGER)
    page = client_as(manager).get(reverse("analytics:dashboard"))
    assert page.status_code == 200
    assert contains(page, 'id="data-outpatient"') and contains(page, "chart-outpatient")
