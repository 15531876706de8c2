"""The green-channel stage on the small demo: 120 calls and cases written through the emergency actions,
with historic times, improving over the period, some nodes missing, some corrected, some bypasses."""

import re
from datetime import datetime, time

import pytest
from django.db.models import Count

from yilian.access.models import Grant, GrantKind
from yilian.analytics.registry import Scope
from yilian.demo.days import TZ
from yilian.demo.green import OPTIONAL
from yilian.demo.tests.conftest import SMALL
from yilian.emergency.indicators import report
from yilian.emergency.models import (
    CallEvent,
    Case,
    CaseEvent,
    EmsCall,
    NodeTime,
    PrearrivalNotice,
    PrehospitalRecord,
)
from yilian.emergency.report import monthly
from yilian.patients.models import Patient

pytestmark = pytest.mark.django_db
IDENTIFIER = re.compile(r"\d{17}[\dX]|(?<!\d)1[3-9]\d{9}(?!\d)")
START = datetime.combine(SMALL.today, time(0), tzinfo=TZ)


def scope(demo) -> Scope:
    return Scope(start=datetime.fromisoformat(demo["summary"]["start"]).date(), end=SMALL.today)


def test_counts_and_every_centre(demo):
    counts = demo["summary"]
    assert counts["green.cases"] == Case.objects.count() >= 10
    for centre in ("chest_pain", "stroke", "trauma", "maternal", "neonatal"):
        assert counts[f"green.{centre}"] == Case.objects.filter(centre=centre).count() >= 1
    assert counts["green.calls"] == EmsCall.objects.count() > Case.objects.filter(arrival_mode="ems").count()
    assert set(Case.objects.values_list("arrival_mode", flat=True)) == {"ems", "self", "transfer"}
    assert not Case.objects.filter(closed_at__isnull=True).exists()  # every case closed with its disposition
    assert not Case.objects.filter(disposition="").exists()


def test_times_are_historic(demo):
    assert not Case.objects.filter(opened_at__gte=START).exists()
    assert not Case.objects.filter(closed_at__gte=START).exists()
    assert not NodeTime.objects.filter(at__gte=START).exists()
    assert not PrearrivalNotice.objects.filter(sent_at__gte=START).exists()
    assert not CaseEvent.objects.filter(kind__in=("opened", "notice", "bypass", "closed"), at__gte=START).exists()
    # a notice opens its case: the case was opened when the notice was sent
    for notice in PrearrivalNotice.objects.select_related("case"):
        assert notice.sent_at >= notice.case.opened_at


def test_the_120_side(demo):
    steps = CallEvent.objects.values("call").annotate(n=Count("pk"))
    assert max(row["n"] for row in steps) == 5
    assert PrehospitalRecord.objects.exclude(be_fast={}).exists()  # stroke: BE-FAST
    assert PrehospitalRecord.objects.filter(ecg_at__isnull=False, gcs_eye__isnull=True).exists()  # chest pain: ECG
    assert PrehospitalRecord.objects.filter(gcs_eye__isnull=False).exists()
    linked = EmsCall.objects.filter(case__isnull=False)
    assert linked.count() == Case.objects.filter(arrival_mode="ems").count()
    # the run's times reached the cases through the actions' mirroring
    assert NodeTime.objects.filter(source="120", node="door").count() == linked.count()


def test_notices_open_channels_and_grant_access(demo):
    assert PrearrivalNotice.objects.count() >= Case.objects.filter(arrival_mode="transfer").count() > 0
    transfers = Case.objects.filter(arrival_mode="transfer", patient__isnull=False)
    grants = Grant.objects.filter(kind=GrantKind.GREEN_CHANNEL, source_type="green-channel")
    assert grants.count() == transfers.count()
    for grant in grants:
        assert grant.valid_from < START and (grant.valid_to - grant.valid_from).total_seconds() == 72 * 3600


def test_indicators_have_values(demo):
    for code in ("stroke.dnt", "stroke.door_to_ct", "chest_pain.d2b", "chest_pain.d2b_min", "chest_pain.fmc_to_ecg",
                 "chest_pain.ecg_to_diagnosis", "ems.prearrival_notice_rate"):
        assert report(code, scope(demo)).value is not None, code


def test_monthly_dnt_falls(demo):
    months = monthly("stroke", scope(demo).start, SMALL.today, None)
    values = [m.values["stroke.dnt"] for m in months]
    assert len(values) == 2 and None not in values
    assert values[0] > values[-1]


def test_corrected_nodes_keep_the_original(demo):
    corrections = NodeTime.objects.filter(supersedes__isnull=False).select_related("supersedes")
    assert demo["summary"]["green.corrected"] == corrections.count() >= 1
    for row in corrections:
        assert len(row.reason) >= 2 and row.supersedes.at != row.at and row.supersedes.node == row.node


def test_some_nodes_are_missing(demo):
    assert demo["summary"]["green.missing_nodes"] >= 1
    recorded: dict[int, set[str]] = {}
    for case_id, code in NodeTime.objects.values_list("case_id", "node"):
        recorded.setdefault(case_id, set()).add(code)
    expected = {"stroke": {"labs_back", "ct_read"}, "trauma": {"team_activation", "disposition"},
                "maternal": {"team_activation", "disposition"}, "neonatal": {"team_activation", "disposition"},
                "chest_pain": {"symptom_onset"}}
    follows = {"wire_crossing": {"dapt_loading", "cath_lab_ready", "puncture"}, "groin_puncture": {"recanalisation"}}
    gaps = []
    for case in Case.objects.filter(in_hospital_onset=False):
        nodes = recorded.get(case.pk, set())
        wanted = set(expected[case.centre])
        for present, more in follows.items():
            if present in nodes:
                wanted |= more
        if (wanted & OPTIONAL) - nodes:
            gaps.append(case.pk)
    assert gaps


def test_bypass_before_the_door(demo):
    bypasses = CaseEvent.objects.filter(kind="bypass")
    assert demo["summary"]["green.bypass"] == bypasses.count() >= 1
    for event in bypasses:
        door = NodeTime.objects.get(case_id=event.case_id, node="door", corrected_by__isnull=True)
        assert event.at <= door.at


def test_unidentified_then_identified(demo):
    identified = CaseEvent.objects.filter(kind="identified")
    assert identified.count() == demo["summary"]["green.identified_later"] >= 1
    assert not Case.objects.filter(pk__in=identified.values("case_id"), patient__isnull=True).exists()


def test_progress_line_carries_counts_only(demo):
    lines = [line for line in demo["progress"] if "] green: " in line]
    assert len(lines) == 1
    assert not IDENTIFIER.search(lines[0])
    assert not any(name in lines[0] for name in Patient.objects.values_list("name", flat=True) if len(name) > 1)
