"""The results stage on the small demo: reports from the township centres and the hospitals through the real
HL7 listener and FHIR endpoint, the hospitals' orders answered by recognition or overridden, and the
showcases (sent twice, corrected, cancelled, unknown patient matched by an ADT message)."""

from datetime import datetime

import pytest
from django.db.models import Count

from yilian.analytics.registry import Scope
from yilian.demo.tests.conftest import SMALL
from yilian.interop.models import Message, Rejection, Unmatched
from yilian.network.models import Institution
from yilian.results import indicators
from yilian.results.models import Order, OrderStatus, Report, ReportStatus

pytestmark = pytest.mark.django_db


def scope(demo) -> Scope:
    return Scope(start=datetime.fromisoformat(demo["summary"]["start"]).date(), end=SMALL.today)


def test_results_come_from_every_kind_of_member_through_both_paths(demo):
    kinds = set(Report.objects.values_list("institution__kind", flat=True))
    assert {"township", "general_2", "mch"} <= kinds
    channels = dict(Report.objects.values_list("channel").annotate(n=Count("pk")))
    assert channels["hl7"] > 20 and channels["fhir"] >= 3
    assert Report.objects.filter(kind="exam").exists() and Report.objects.filter(kind="panel").exists()
    assert Rejection.objects.count() == 0  # nothing the demo sends is refused


def test_messages_sent_twice_are_stored_once(demo):
    counts = demo["summary"]
    assert counts["results.duplicates_resent"] == 5
    assert Message.objects.count() == counts["results.hl7_sent"] - counts["results.duplicates_resent"]
    oru = Message.objects.filter(message_type__startswith="ORU").count()
    assert Report.objects.filter(channel="hl7").count() == oru - 2  # a correction and a cancellation update


def test_a_corrected_and_a_cancelled_report(demo):
    amended = Report.objects.get(status=ReportStatus.AMENDED)
    assert amended.version == 2 and amended.observations.filter(superseded=True).exists()
    assert Report.objects.filter(status=ReportStatus.CANCELLED, version=2).count() == 1


def test_the_unknown_patient_waits_then_is_matched_by_the_adt_message(demo):
    queued = Unmatched.objects.get()
    assert queued.status == "matched" and queued.patient_id is not None
    assert Report.objects.filter(message_id=queued.message_id, patient_id=queued.patient_id).exists()


def test_orders_on_arrival_are_recognised_or_overridden_and_save_money(demo):
    counts = demo["summary"]
    recognised = Order.objects.filter(status=OrderStatus.RECOGNISED)
    assert recognised.count() == counts["results.recognised_orders"] > 0
    assert all(o.saving > 0 and o.answered_by.institution_id != o.institution_id for o in recognised)
    assert not Order.objects.filter(status=OrderStatus.OVERRIDDEN, override_reason="").exists()
    s = scope(demo)
    assert indicators.recognised(s) > 0 and indicators.saved_amount(s) > 0
    hospitals = frozenset(Institution.objects.filter(parent__isnull=True).values_list("pk", flat=True)) | frozenset(
        Institution.objects.filter(kind__in=("tcm", "mch")).values_list("pk", flat=True))
    assert 2 <= indicators.exam_wait(Scope(s.start, s.end, hospitals)) <= 20  # order → exam start, 2–20 min
