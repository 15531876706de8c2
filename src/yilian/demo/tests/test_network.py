"""The network stage on the small demo: referrals, consultations and remote diagnoses whose indicators look
like a county's, with the rejected, escalated, amended and critical-value cases, and progress lines that
carry counts only."""

import re

import pytest

from yilian.consults.models import Consultation, GuidedOperation, PartnerInstitution
from yilian.demo.network import indicators
from yilian.demo.tests.conftest import SMALL
from yilian.diagnostics.models import Centre, CriticalValue, Report, Study
from yilian.patients.models import Patient
from yilian.referrals.models import Referral, ReferralEvent, Status

pytestmark = pytest.mark.django_db
IDENTIFIER = re.compile(r"\d{17}[\dX]|(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.fixture
def values(demo):
    summary = demo["summary"]
    from datetime import date

    return indicators(date.fromisoformat(summary["start"]), SMALL.today)


def test_referral_indicators_are_believable(values):
    assert values["referral.up"] >= 15 and values["referral.down"] >= 5
    assert values["referral.down"] == values["referral.down_outpatient"] + values["referral.down_inpatient"]
    assert 5 <= values["referral.acceptance_minutes"] <= 24 * 60  # minutes to hours
    assert 0 < values["referral.escalated_pct"] <= 25


def test_consultation_and_diagnostics_indicators_are_believable(values):
    assert values["consult.remote_consultations"] >= 5 and values["consult.guided_operations"] >= 1
    assert 50 <= values["consult.confirmed_pct"] <= 100 and values["consult.signed_minutes"] > 0
    assert values["diagnostics.remote_diagnoses"] >= 30
    assert 0 < values["diagnostics.turnaround_median_minutes"] < 24 * 60
    assert 0 < values["diagnostics.critical_ack_15min_pct"] < 100  # most in time, some late
    assert values["diagnostics.critical_ack_minutes"] > 0


def test_the_hard_cases_exist(demo):
    assert Referral.objects.filter(status=Status.REJECTED).exists()
    assert ReferralEvent.objects.filter(kind="rejected").exclude(data__reason="").exists()
    assert Referral.objects.filter(escalated_at__isnull=False, accepted_at__gt=models_f("escalated_at")).exists()
    assert Referral.objects.filter(status=Status.CANCELLED).exists()
    assert Referral.objects.filter(direction="down", follow_up__assignee__isnull=False).exists()
    assert Report.objects.filter(amends__isnull=False, status="signed").exists()
    assert CriticalValue.objects.filter(acknowledged_at__isnull=False).exists()
    assert CriticalValue.objects.filter(escalated_at__isnull=False).exists()
    assert Consultation.objects.filter(mdt=True, signed_at__isnull=False).exists()
    assert Consultation.objects.filter(expert_institution__in=PartnerInstitution.objects.values("institution")).exists()
    assert GuidedOperation.objects.exists()
    assert set(Centre.objects.values_list("kind", flat=True)) == {"imaging", "ecg", "pathology", "lab"}
    assert set(Study.objects.values_list("kind", flat=True)) >= {"imaging", "lab"}


def test_everything_happened_before_today(demo):
    from datetime import datetime, time

    from django.utils import timezone

    end = timezone.make_aware(datetime.combine(SMALL.today, time.min))
    assert not Referral.objects.filter(created_at__gte=end).exists()
    assert not ReferralEvent.objects.filter(at__gte=end).exists()
    assert not Study.objects.filter(signed_at__gte=end).exists()
    assert not Consultation.objects.filter(signed_at__gte=end).exists()


def test_network_lines_carry_counts_only(demo):
    lines = [line for line in demo["progress"] if "] network: " in line]
    assert len(lines) == 2
    text = "\n".join(lines)
    assert not IDENTIFIER.search(text)
    names = Patient.objects.values_list("name", flat=True)
    assert not any(name in text for name in names if len(name) > 1)
    for key in ("referrals.up", "referrals.down", "consults.requested", "studies", "studies.critical"):
        assert demo["summary"][key] > 0


def models_f(name):
    from django.db.models import F

    return F(name)
