"""The recognition check on its own (`results.recognition.check`): status, validity window, source grade,
quality-control pass on the report date, exclusions, recognisability, consortium, patient and item."""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone, translation

from yilian.network.models import Consortium, Grade, Institution, InstitutionKind
from yilian.results import recognition
from yilian.results.models import Item, QualityPass, Rule
from yilian.results.tests.ordering import make_world, quality_pass, report
from yilian.testing import factories as f


@pytest.fixture
def world(db):
    return make_world()


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def check(world, code="CBC", at=None, circumstances=(), patient=None):
    item = Item.objects.get(code=code)
    return recognition.check((patient or world.patient).pk, item, at or timezone.now(), circumstances,
                             consortium_id=world.net.consortium.pk)


def test_a_final_or_amended_report_within_the_window_is_offered_newest_first(world):
    net, patient = world.net, world.patient
    older = report(patient, net.township, days_ago=5)
    newer = report(patient, net.county, days_ago=1, status="amended")
    report(patient, net.township, days_ago=2, status="preliminary")
    report(patient, net.township, days_ago=3, status="cancelled")
    found = check(world)
    assert [r.pk for r in found.reports] == [newer.pk, older.pk]
    assert found.offered == 2 and found.why_none == "" and found.rule.validity_days == 7
    assert found.reports[0].institution.short_name == net.county.short_name


def test_the_window_counts_local_calendar_days_before_the_order(world):
    net, patient = world.net, world.patient
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(10, 0)))
    first = timezone.make_aware(datetime.combine(timezone.localdate() - timedelta(days=7), time(0, 0)))
    in_time = report(patient, net.township, collected_at=first)  # the first moment of day D-7 (CBC: 7 days)
    report(patient, net.township, collected_at=first - timedelta(seconds=1))  # the last moment of day D-8
    report(patient, net.township, collected_at=at + timedelta(minutes=1))  # after the order
    assert [r.pk for r in check(world, at=at - timedelta(seconds=0)).reports] == [in_time.pk]
    assert recognition.window_start(at, 7) == first


def test_the_source_grade_must_reach_the_rules_minimum(world):
    net, patient = world.net, world.patient
    assert Rule.objects.get(item__code="MR-HEAD").min_grade == "2B"
    report(patient, net.township, "MR-HEAD", days_ago=10)  # grade 1
    county = report(patient, net.county, "MR-HEAD", days_ago=20)  # grade 2A
    assert [r.pk for r in check(world, "MR-HEAD").reports] == [county.pk]
    assert recognition.grades_at_least("2B") == ["3A", "3B", "2A", "2B"]
    assert recognition.grades_at_least("") == [g for g, _label in Grade.choices]


def test_quality_control_must_be_valid_on_the_report_date(world):
    net, patient = world.net, world.patient
    QualityPass.objects.filter(institution=net.township).delete()
    plain = report(patient, net.township, days_ago=2)
    assert check(world).reports == []
    other = quality_pass(net.township, Item.objects.get(code="LIPID"))
    assert check(world).reports == []  # a pass for another item does not count
    other.delete()
    day = timezone.localdate(plain.reported_at)
    quality_pass(net.township, Item.objects.get(code="CBC"), valid_from=day - timedelta(days=30),
                 valid_to=day - timedelta(days=1))
    assert check(world).reports == []  # expired the day before the report
    quality_pass(net.township, Item.objects.get(code="CBC"), valid_from=day, valid_to=day)
    assert [r.pk for r in check(world).reports] == [plain.pk]  # both ends of a pass count
    QualityPass.objects.filter(institution=net.township).delete()
    quality_pass(net.township)  # all items
    assert [r.pk for r in check(world).reports] == [plain.pk]


def test_an_item_without_the_quality_requirement_needs_no_pass(world):
    net, patient = world.net, world.patient
    QualityPass.objects.all().delete()
    ecg = report(patient, net.village, "ECG-12", days_ago=1)  # ECG-12: no QC required, any grade
    assert [r.pk for r in check(world, "ECG-12").reports] == [ecg.pk]


def test_an_excluded_circumstance_offers_nothing_and_says_why(world):
    net, patient = world.net, world.patient
    report(patient, net.township, days_ago=1)
    report(patient, net.township, "LIPID", days_ago=1)
    found = check(world, circumstances=["emergency"])
    assert found.reports == [] and found.excluded == ("emergency",)
    assert "Emergency" in found.why_none
    assert check(world, "LIPID", circumstances=["emergency", "pregnancy"]).offered == 1  # LIPID excludes none


def test_an_item_not_recognisable_offers_nothing(world):
    net, patient = world.net, world.patient
    report(patient, net.county, "CARD", days_ago=0.1)
    found = check(world, "CARD")
    assert found.reports == [] and "not recognised" in found.why_none
    found = check(world, "DR-CHEST")
    assert found.reports == [] and "within 30 days" in found.why_none


def test_only_members_of_the_consortium_this_patient_and_this_item(world):
    net, patient = world.net, world.patient
    other = Consortium.objects.create(name="邻县医共体", short_name="邻县", division_code=f.COUNTY_DIVISION)
    elsewhere = Institution.objects.create(consortium=other, code="X-H01", name="邻县医院", short_name="邻县医院",
                                           kind=InstitutionKind.GENERAL_SECONDARY, grade=Grade.G3A,
                                           division_code=f.COUNTY_DIVISION)
    quality_pass(elsewhere)
    report(patient, elsewhere, days_ago=1)
    report(patient, net.township, "LFT", days_ago=1)
    someone = f.register_patient(f.make_membership(net.county, "registrar"))
    report(someone, net.township, days_ago=1)
    assert check(world).reports == []
    assert check(world, patient=someone).offered == 1


def test_at_most_max_offered(world, monkeypatch):
    monkeypatch.setattr(recognition, "MAX_OFFERED", 2)
    for days in (1, 2, 3):
        report(world.patient, world.net.township, days_ago=days)
    assert check(world).offered == 2
