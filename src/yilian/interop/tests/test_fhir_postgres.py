"""Real parallel connections on PostgreSQL: eight members' requests posting one report identifier at once —
with If-None-Exist exactly one creates and seven are answered the match, without it one creates and the
others become its versions, one at a time; never a 5xx (run with DATABASE_URL=postgres://… and
`-m postgres`; on any other database these tests fail, never skip)."""

import pytest

from yilian.access.models import AuditEvent
from yilian.interop.tests.fhir_data import REPORTS, electrolytes, glucose, make_world, post
from yilian.results.models import Observation, Report
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
N = 8


def _statuses(results) -> list[int]:
    assert all(kind == "ok" for kind, _r in results), results
    return sorted(r for _kind, r in results)


def test_eight_conditional_creates_of_one_identifier_create_once():
    world = make_world()
    report = electrolytes(world.patient)
    condition = f"identifier={REPORTS}|R0001"
    results = in_parallel(N, lambda i: post("DiagnosticReport", report, HTTP_IF_NONE_EXIST=condition).status_code)
    assert _statuses(results) == [200] * (N - 1) + [201]
    stored = Report.objects.get()
    assert stored.version == 1 and Observation.objects.filter(report=stored).count() == 3
    assert AuditEvent.objects.filter(object_type="result_report", action="create").count() == 1
    assert not AuditEvent.objects.filter(object_type="result_report", action="update").exists()


def test_eight_conditional_observations_in_bundles_create_once():
    world = make_world()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:1", "resource": glucose(world.patient),
         "request": {"method": "POST", "url": "Observation", "ifNoneExist": "identifier=G0001"}}]}
    results = in_parallel(N, lambda i: post("", bundle).json()["entry"][0]["response"]["status"])
    assert sorted(r for _k, r in results) == ["200 OK"] * (N - 1) + ["201 Created"]
    assert Report.objects.get().version == 1


def test_eight_plain_creates_of_one_identifier_make_one_report_and_its_versions():
    world = make_world()
    report = electrolytes(world.patient)
    results = in_parallel(N, lambda i: post("DiagnosticReport", report).status_code)
    assert _statuses(results) == [200] * (N - 1) + [201]
    stored = Report.objects.get()
    assert stored.version == N
    assert Observation.objects.filter(report=stored, superseded=False).count() == 3
    assert Observation.objects.filter(report=stored, superseded=True).count() == 3 * (N - 1)
