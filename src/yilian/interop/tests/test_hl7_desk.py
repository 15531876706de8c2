"""The index desk's matching queue: a registrar of the lead institution sees the waiting result messages
with masked identifiers, stores them for a patient chosen by hand, or discards them; everyone else is
refused."""

import pytest

from yilian.access.models import AuditEvent
from yilian.errors import ActionError
from yilian.interop.actions import do_discard_unmatched, do_resolve_unmatched
from yilian.interop.ingest import ingest
from yilian.interop.models import Unmatched
from yilian.interop.tests import hl7_data as d
from yilian.network.roles import Role
from yilian.patients.identifiers import consortium_number
from yilian.patients.models import Identifier
from yilian.results.models import Report
from yilian.testing import factories as f


@pytest.fixture
def waiting(net, patient):
    """Two results of the patient under a record number the index does not know, one of someone else."""
    d.make_sender(net)
    for control_id, mrn in (("C1", "TW-1234567"), ("C2", "TW-1234567"), ("C3", "TW-7654321")):
        ingest(d.oru(control_id, d.person(mrn=mrn, resident_id=False)))
    return list(Unmatched.objects.order_by("pk"))


def test_the_desk_sees_the_queue_masked_and_audited(client_as, registrar, waiting):
    response = client_as(registrar).get("/interop/unmatched/")
    body = response.content.decode()
    assert response.status_code == 200 and "TW-1234567" not in body and "***4567" in body
    assert body.count('name="patient"') == 3
    assert AuditEvent.objects.filter(object_type="hl7-unmatched", action="read").count() == 3


@pytest.mark.parametrize("who", ["township_registrar", "owner", "manager"])
def test_others_are_refused(client_as, net, waiting, request, who):
    membership = (f.make_membership(net.township, Role.REGISTRAR) if who == "township_registrar"
                  else request.getfixturevalue(who))
    client = client_as(membership)
    assert client.get("/interop/unmatched/").status_code == 403
    assert client.post(f"/interop/unmatched/{waiting[0].pk}/discard/", {"reason": "x"}).status_code == 403
    if who == "township_registrar":
        with pytest.raises(ActionError):
            do_discard_unmatched(f.actor(membership), waiting[0].pk, "x")
    assert not Unmatched.objects.exclude(status="pending").exists()


def test_resolving_stores_links_and_releases_the_same_record_number(client_as, registrar, patient, waiting):
    number = consortium_number(patient.pk)
    response = client_as(registrar).post(f"/interop/unmatched/{waiting[0].pk}/resolve/", {"patient": number})
    assert response.status_code == 302
    assert Identifier.objects.get(type="mrn", value="TW-1234567").patient_id == patient.pk
    assert list(Report.objects.values_list("patient_id", flat=True)) == [patient.pk, patient.pk]  # C1, then C2
    assert [u.status for u in Unmatched.objects.order_by("pk")] == ["matched", "matched", "pending"]
    resolved = AuditEvent.objects.filter(object_type="hl7-unmatched", action="update")
    assert {a.membership_id for a in resolved} == {registrar.pk, None}  # by hand, then released by the index
    again = client_as(registrar, language="en").post(f"/interop/unmatched/{waiting[0].pk}/resolve/", {"patient": number},
                                      follow=True)
    assert "not waiting" in again.content.decode() and Report.objects.count() == 2


def test_resolving_needs_a_record_of_the_consortium(registrar, waiting):
    for reference in ("", "0", "99999999", "12345678901", "abc"):
        with pytest.raises(ActionError) as exc:
            do_resolve_unmatched(f.actor(registrar), waiting[0].pk, reference)
        assert "patient" in exc.value.errors
    with pytest.raises(ActionError):
        do_resolve_unmatched(f.actor(registrar), 10**20, "1")
    assert Report.objects.count() == 0


def test_discarding_needs_a_reason_and_is_audited(client_as, registrar, waiting):
    with pytest.raises(ActionError):
        do_discard_unmatched(f.actor(registrar), waiting[2].pk, " ")
    response = client_as(registrar).post(f"/interop/unmatched/{waiting[2].pk}/discard/", {"reason": "测试患者"})
    assert response.status_code == 302 and Unmatched.objects.get(pk=waiting[2].pk).status == "discarded"
    assert AuditEvent.objects.get(object_type="hl7-unmatched", action="delete").reason == "discarded: 测试患者"
    with pytest.raises(ActionError):
        do_discard_unmatched(f.actor(registrar), waiting[2].pk, "again")
