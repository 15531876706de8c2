"""A site's own rules (`results.rules`, and the system administrator's pages that call it): checked, applied
to the next check, refused to clinical roles; a quality-control pass recorded through
`results.actions.do_record_quality_passes` makes the reports of its period recognisable."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.results import recognition, rules
from yilian.results.actions import NewQualityPass
from yilian.results.actions import do_record_quality_passes as record_quality_passes
from yilian.results.models import Item, QualityPass, Rule
from yilian.results.tests.ordering import make_world, report
from yilian.testing import factories as f


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def offered(world, code="CBC") -> int:
    item = Item.objects.select_related("rule").get(code=code)
    return recognition.check(world.patient.pk, item, timezone.now(), consortium_id=world.net.consortium.pk).offered


def test_a_changed_rule_applies_to_the_next_check(world):
    report(world.patient, world.net.township, days_ago=3)
    assert offered(world) == 1
    rule = Rule.objects.get(item__code="CBC")
    rule.validity_days, rule.exclusions = 0, ["acute_change"]
    rule.min_grade = "2C"
    with pytest.raises(ActionError) as exc:
        rules.do_save_rule(SYSTEM, rule)
    assert set(exc.value.errors) == {"validity_days", "exclusions", "min_grade"}
    rule.validity_days, rule.exclusions, rule.min_grade = 2, ["pregnancy", "emergency", "pregnancy"], ""
    rules.do_save_rule(SYSTEM, rule)
    assert Rule.objects.get(item__code="CBC").exclusions == ["emergency", "pregnancy"]
    assert offered(world) == 0  # three days ago is outside two days
    doctor = f.actor(world.county_doctor)
    with pytest.raises(ActionError) as exc:
        rules.do_save_rule(doctor, rule)
    assert set(exc.value.errors) == {"role"}


def test_a_recorded_pass_makes_the_reports_of_its_period_recognisable(world):
    QualityPass.objects.all().delete()
    report(world.patient, world.net.township, days_ago=3)
    assert offered(world) == 0
    today = timezone.localdate()
    record_quality_passes(SYSTEM, [NewQualityPass(world.net.township.pk, "CBC", today - timedelta(days=1),
                                                  today + timedelta(days=300), "省临检中心室间质评")])
    assert offered(world) == 0  # the report is dated before the pass
    record_quality_passes(SYSTEM, [NewQualityPass(world.net.township.pk, "", today - timedelta(days=30),
                                                  today - timedelta(days=2), "省临检中心室间质评")])
    assert offered(world) == 1  # a pass for all items covering the report's date


def test_the_administrators_pages(client_as, world):
    sysadmin = client_as(f.make_membership(world.net.county, Role.SYSADMIN), language="en")
    rule = Rule.objects.get(item__code="CBC")
    url = reverse("admin:results_rule_change", args=[rule.pk])
    assert sysadmin.get(url).status_code == 200
    form = {"recognisable": "on", "validity_days": "5", "min_grade": "2B", "requires_quality": "on",
            "exclusions": ["emergency"], "note": "本院规则"}
    bad = sysadmin.post(url, {**form, "validity_days": "0"})
    assert bad.status_code == 200 and "validity_days" in bad.context["adminform"].form.errors
    assert sysadmin.post(url, form).status_code == 302
    rule.refresh_from_db()
    assert (rule.validity_days, rule.min_grade, rule.exclusions) == (5, "2B", ["emergency"])
    doctor = client_as(world.county_doctor)
    assert doctor.get(url).status_code == 302  # to the admin log-in: no admin for clinical roles
