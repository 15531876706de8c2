"""Concurrent deliveries on PostgreSQL, with real parallel connections: a duplicate sent at once on many
connections is stored once and everyone gets the same AA; messages carrying one report at once make it and
its versions, all AA; two registrations of one new person make one record."""

from datetime import date

import pytest

from yilian.interop import compose
from yilian.interop.ingest import ingest
from yilian.interop.models import Message, Rejection
from yilian.interop.tests import hl7_data as d
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.models import Identifier, Patient
from yilian.results.models import Observation, Report
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(db):
    net = f.make_network()
    d.make_sender(net)
    return f.register_patient(f.make_membership(net.township, Role.REGISTRAR))


def test_concurrent_duplicates_are_stored_once(setup):
    text = d.oru("P1", d.person(setup), [d.electrolytes("F1"), d.chest_ct("F2")])
    results = in_parallel(8, lambda i: ingest(text))
    assert all(kind == "ok" for kind, _r in results), results
    acks = {r.ack for _k, r in results}
    assert len(acks) == 1 and d.msa(acks.pop())[0] == "AA"
    assert sum(not r.duplicate for _k, r in results) == 1
    assert Message.objects.count() == 1 and Report.objects.count() == 2 and Observation.objects.count() == 3
    assert not Report.objects.exclude(version=1).exists() and not Rejection.objects.exists()


def test_concurrent_messages_of_one_report_store_it_and_its_versions_all_acknowledged(setup):
    results = in_parallel(8, lambda i: ingest(d.oru(f"V{i}", d.person(setup), [d.electrolytes("F1")])))
    assert all(kind == "ok" for kind, _r in results), results
    assert [r.code for _k, r in results] == ["AA"] * 8  # the identifier taken meanwhile: a version, not an AE
    report = Report.objects.get()
    assert report.version == 8 and Message.objects.count() == 8 and not Rejection.objects.exists()
    assert Observation.objects.filter(report=report, superseded=False).count() == 3
    assert Observation.objects.filter(report=report, superseded=True).count() == 3 * 7


def test_concurrent_registrations_of_one_new_person_make_one_record(setup):
    rid = residentid.make("330782", date(1966, 6, 6), 41)
    who = compose.Person([("NNCHN", rid, ""), ("MR", "TW-5555", "")], name="欧阳璟", sex="M",
                         birth_date=date(1966, 6, 6))
    results = in_parallel(6, lambda i: ingest(d.adt(f"A{i}", who)))
    codes = [r.code for _k, r in results]
    assert set(codes) <= {"AA", "AE"} and "AA" in codes
    assert Patient.objects.filter(resident_id=rid).count() == 1
    assert Identifier.objects.filter(type="mrn", value="TW-5555").count() == 1
    assert Message.objects.count() == codes.count("AA") and Rejection.objects.count() == codes.count("AE")
    retried = [ingest(d.adt(f"A{i}", who)).code for i, code in enumerate(codes) if code == "AE"]
    assert set(retried) <= {"AA"}  # sent again, the refused ones link to the one record
