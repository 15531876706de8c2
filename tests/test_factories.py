"""The shared factories themselves: a well-formed consortium, valid synthetic people, and a leak check
that sees through JSON escapes."""

import json

from django.utils import timezone

from yilian.access.models import CareRelation, GrantKind
from yilian.network.models import InstitutionKind
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.testing import factories as f


def test_network_shape(net):
    assert net.county.kind == InstitutionKind.GENERAL_SECONDARY and net.county.parent is None
    assert net.township.parent == net.county and net.township.is_grassroots
    assert net.village.parent == net.township and net.village.is_grassroots
    assert {d.institution_id for d in net.departments.values()} == {net.county.pk, net.township.pk, net.village.pk}


def test_new_people_are_valid_and_distinct():
    people = [f.new_patient() for _ in range(50)]
    assert len({p.resident_id for p in people}) == len({p.name for p in people}) == 50
    for p in people:
        parsed = residentid.parse(p.resident_id)
        assert parsed.birth_date == p.birth_date
        assert f.PASSWORD not in p.name


def test_trio(owner, colleague, revoked_colleague, expired_colleague, outsider, patient, encounter):
    assert CareRelation.objects.filter(patient=patient, institution_id=owner.institution_id).count() == 2
    assert colleague.institution_id != owner.institution_id
    assert colleague.grant.kind == GrantKind.REFERRAL and colleague.grant.revoked_at is None
    assert revoked_colleague.grant.revoked_at is not None
    assert expired_colleague.grant.valid_to < timezone.now()
    assert outsider.institution_id not in {owner.institution_id, colleague.institution_id}


def test_leaked_sees_through_json_escapes(patient):
    body = json.dumps({"name": patient.name, "phone": patient.masked_phone}).encode()
    assert patient.name not in body.decode()  # escaped as \\uXXXX
    assert f.leaked(body, patient) == ["name", "phone_masked"]
    assert f.leaked(b"<p>nothing</p>", patient) == []


def test_log_in_acts_as_the_membership(client_as, net, owner):
    f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    resp = client_as(owner).get("/")
    assert resp.context["acting"] == owner
