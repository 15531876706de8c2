"""The outpatient policy page: a registrar sets their own institution's fees, limits and free-registration
rules; the consortium manager chooses any member. A registrar of another member and a manager of another
consortium are refused (400 naming the institution, nothing written), a doctor gets 403; every change
leaves one audit row."""

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent
from yilian.network.models import Consortium, Institution, InstitutionKind
from yilian.network.roles import Role
from yilian.scheduling.actions import POLICY_OBJECT, do_add_free_rule
from yilian.scheduling.models import FeePolicy, FreeRegistrationRule, OutpatientPolicy
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts

ROWS = ("scheduling.FeePolicy", "scheduling.OutpatientPolicy", "scheduling.FreeRegistrationRule", "access.AuditEvent")


def policy_rows() -> tuple:
    return (row_counts(*ROWS), list(FeePolicy.objects.values_list("institution_id", "tier", "amount")),
            list(OutpatientPolicy.objects.values_list("institution_id", "max_daily_bookings",
                                                      "registration_valid_days")),
            list(FreeRegistrationRule.objects.values_list("pk", "active")))


@pytest.fixture
def foreign_manager(db):
    other = Consortium.objects.create(name="邻县医共体", short_name="邻县", division_code="330783")
    hospital = Institution.objects.create(consortium=other, code="X-H01", name="邻县人民医院", short_name="邻县医院",
                                          kind=InstitutionKind.GENERAL_SECONDARY, division_code="330783")
    return f.make_membership(hospital, Role.MANAGER, username="foreign_manager")


def test_registrar_sets_their_own_rows(client_as, net, registrar):
    client = client_as(registrar)
    page = client.get(reverse("scheduling:policy"))
    assert page.status_code == 200
    assert page.context["institution"] == net.county
    assert page.context["members"] == []  # no institution choice for a registrar
    assert client.post(reverse("scheduling:policy_fee"), {"tier": "expert", "amount": "25"}).status_code == 302
    assert client.post(reverse("scheduling:policy_limits"),
                       {"max_daily_bookings": "2", "registration_valid_days": "7"}).status_code == 302
    resp = client.post(reverse("scheduling:policy_free_rule"), {"kind": "age", "min_age": "65"})
    assert resp.status_code == 302 and resp["Location"] == reverse("scheduling:policy")
    rule = FreeRegistrationRule.objects.get()
    assert client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk])).status_code == 302
    assert list(FeePolicy.objects.values_list("institution_id", "tier", "amount")) == [(net.county.pk, "expert", 25)]
    assert list(OutpatientPolicy.objects.values_list("max_daily_bookings", "registration_valid_days")) == [(2, 7)]
    rule.refresh_from_db()
    assert not rule.active
    rows = AuditEvent.objects.filter(object_type=POLICY_OBJECT)
    assert rows.count() == 4
    assert {(r.user_id, r.object_id) for r in rows} == {(registrar.staff.user_id, str(net.county.pk))}
    page = client.get(reverse("scheduling:policy"))
    assert contains(page, 'value="25.00"')
    assert contains(page, f'data-testid="rule-{rule.pk}"')


def test_manager_edits_any_member(client_as, net, manager):
    client = client_as(manager)
    page = client.get(reverse("scheduling:policy"), {"institution": net.village.pk})
    assert page.status_code == 200
    assert page.context["institution"] == net.village
    assert {i.pk for i in page.context["members"]} == {net.county.pk, net.township.pk, net.village.pk}
    resp = client.post(reverse("scheduling:policy_fee"),
                       {"institution": net.village.pk, "tier": "ordinary", "amount": "3"})
    assert resp["Location"] == f"{reverse('scheduling:policy')}?institution={net.village.pk}"
    township_dept = net.department(net.township)
    client.post(reverse("scheduling:policy_free_rule"),
                {"institution": net.township.pk, "kind": "department", "department": township_dept.pk})
    client.post(reverse("scheduling:policy_limits"), {"institution": net.township.pk, "max_daily_bookings": "3",
                                                      "registration_valid_days": "5"})
    rule = FreeRegistrationRule.objects.get()
    assert (rule.institution_id, rule.department_id) == (net.township.pk, township_dept.pk)
    client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk]), {"institution": net.township.pk})
    rule.refresh_from_db()
    assert not rule.active
    assert list(FeePolicy.objects.values_list("institution_id", "amount")) == [(net.village.pk, 3)]
    assert OutpatientPolicy.objects.get().institution_id == net.township.pk
    rows = AuditEvent.objects.filter(object_type=POLICY_OBJECT).order_by("pk")
    assert [r.object_id for r in rows] == [str(net.village.pk)] + [str(net.township.pk)] * 3
    assert {r.membership_id for r in rows} == {manager.pk}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_others_are_refused_and_nothing_is_written(client_as, net, registrar, foreign_manager, lang):
    rule = do_add_free_rule(f.actor(registrar), "contracted")
    township_registrar = f.make_membership(net.township, Role.REGISTRAR)
    county = net.county.pk
    posts = [
        (reverse("scheduling:policy_fee"), {"institution": county, "tier": "ordinary", "amount": "1"}),
        (reverse("scheduling:policy_limits"), {"institution": county, "max_daily_bookings": "9",
                                               "registration_valid_days": "9"}),
        (reverse("scheduling:policy_free_rule"), {"institution": county, "kind": "age", "min_age": "60"}),
    ]
    for membership, english in ((township_registrar, "your own institution only"),
                                (foreign_manager, "member of your consortium")):
        client = client_as(membership, **LANGUAGES[lang])
        assert client.get(reverse("scheduling:policy"), {"institution": county}).status_code == 404
        before = policy_rows()
        for url, data in posts:
            resp = client.post(url, data)
            assert resp.status_code == 400, url
            errors = form_errors(resp)
            assert list(errors) == ["institution"], url
            assert marked_invalid(resp, "institution")
            assert resp.context["institution"].pk == membership.institution_id  # their own page, not the county's
            if lang == "en":
                assert english in errors["institution"][0] and is_english(errors["institution"][0])
        resp = client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk]), {"institution": county})
        assert resp.status_code == 400
        assert contains(resp, 'data-testid="rule-error"')
        assert policy_rows() == before


def test_a_doctor_and_others_without_the_capability_get_403(client_as, net, owner, nurse, auditor):
    rule = FreeRegistrationRule.objects.create(institution=net.county, kind="contracted")
    for membership in (owner, nurse, auditor):
        client = client_as(membership)
        before = policy_rows()
        assert client.get(reverse("scheduling:policy")).status_code == 403
        assert client.post(reverse("scheduling:policy_fee"), {"tier": "ordinary", "amount": "1"}).status_code == 403
        assert client.post(reverse("scheduling:policy_limits"),
                           {"max_daily_bookings": "2", "registration_valid_days": "2"}).status_code == 403
        assert client.post(reverse("scheduling:policy_free_rule"), {"kind": "contracted"}).status_code == 403
        assert client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk])).status_code == 403
        assert policy_rows() == before


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("url", "data", "field", "english"), [
    ("scheduling:policy_fee", {"tier": "ordinary", "amount": "-1"}, "amount", "from 0 to 9999.99"),
    ("scheduling:policy_fee", {"tier": "ordinary", "amount": ""}, "amount", "required"),
    ("scheduling:policy_fee", {"tier": "vip", "amount": "5"}, "tier", "valid choice"),
    ("scheduling:policy_limits", {"max_daily_bookings": "0", "registration_valid_days": "3"}, "max_daily_bookings",
     "1 to 20"),
    ("scheduling:policy_limits", {"max_daily_bookings": "1", "registration_valid_days": "99"},
     "registration_valid_days", "1 to 30"),
    ("scheduling:policy_limits", {"max_daily_bookings": "x", "registration_valid_days": "3"}, "max_daily_bookings",
     "whole number"),
    ("scheduling:policy_free_rule", {"kind": "age"}, "min_age", "Minimum age"),
    ("scheduling:policy_free_rule", {"kind": "department"}, "department", "choose a department"),
    ("scheduling:policy_free_rule", {"kind": "poor"}, "kind", "valid choice"),
    ("scheduling:policy_fee", {"institution": "abc", "tier": "ordinary", "amount": "5"}, "institution",
     "whole number"),
])
def test_bad_values_are_400_and_write_nothing(client_as, registrar, lang, url, data, field, english):
    client = client_as(registrar, **LANGUAGES[lang])
    before = policy_rows()
    resp = client.post(reverse(url), data)
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert list(errors) == [field]
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in errors[field][0] and is_english(errors[field][0])
    assert policy_rows() == before


def test_deactivating_a_rule_twice_or_elsewhere(client_as, net, registrar):
    rule = do_add_free_rule(f.actor(registrar), "age", min_age=70)
    other = FreeRegistrationRule.objects.create(institution=net.township, kind="contracted")
    client = client_as(registrar, language="en")
    assert client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk])).status_code == 302
    again = client.post(reverse("scheduling:policy_free_rule_off", args=[rule.pk]))
    assert again.status_code == 400
    assert contains(again, "no longer in force")
    elsewhere = client.post(reverse("scheduling:policy_free_rule_off", args=[other.pk]))
    assert elsewhere.status_code == 400
    assert contains(elsewhere, "no such rule")
    other.refresh_from_db()
    assert other.active
