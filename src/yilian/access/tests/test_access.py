"""The gate: who may see which patient (care, grant, break-glass, in that order), the same answer from
`decide`, `decide_many` and `visible`, and one audit row per access."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.gate import access_object, access_patient, decide, decide_many, visible
from yilian.access.models import AuditEvent, Basis, Grant
from yilian.care.models import Encounter
from yilian.network.roles import Role
from yilian.patients.models import Patient
from yilian.testing import factories as f


def basis(membership, patient, scope="all"):
    decision = decide(f.actor(membership), patient.pk, scope)
    return decision.basis if decision else None


def test_care_comes_first(owner, patient, net):
    f.grant(patient, to_institution=net.county)
    f.break_glass(owner, patient)
    assert basis(owner, patient) == Basis.CARE


def test_grant_before_break_glass(colleague, patient):
    f.break_glass(colleague, patient)
    decision = decide(f.actor(colleague), patient.pk)
    assert (decision.basis, decision.grant_id) == (Basis.GRANT, colleague.grant.pk)


def test_no_relationship(outsider, revoked_colleague, expired_colleague, patient):
    for membership in (outsider, revoked_colleague, expired_colleague):
        assert basis(membership, patient) is None


def test_grant_not_yet_valid(net, patient, outsider):
    now = timezone.now()
    Grant.objects.create(patient=patient, kind="referral", to_institution=net.village,
                         valid_from=now + timedelta(hours=1), valid_to=now + timedelta(days=1))
    assert basis(outsider, patient) is None


def test_grant_to_a_staff_member_follows_them_but_not_into_an_admin_role(net, patient):
    doctor = f.make_membership(net.village, Role.DOCTOR)
    f.grant(patient, to_staff=doctor.staff)
    elsewhere = f.make_membership(net.township, Role.NURSE, staff=doctor.staff)
    auditing = f.make_membership(net.township, Role.AUDITOR, staff=doctor.staff)
    assert basis(doctor, patient) == Basis.GRANT
    assert basis(elsewhere, patient) == Basis.GRANT
    assert basis(auditing, patient) is None


def test_roles_without_clinical_see_nothing_even_with_care(net, patient):
    for role in (Role.MANAGER, Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR, Role.PHARMACIST):
        membership = f.make_membership(net.county, role)
        assert basis(membership, patient) is None
        assert not visible(f.actor(membership), Patient.objects.all()).exists()


def test_scoped_grant_covers_its_objects_only(net, owner, patient, encounter):
    doctor = f.make_membership(net.village, Role.DOCTOR)
    f.grant(patient, to_institution=net.village, scope="encounter", kind="consultation")
    actor = f.actor(doctor)
    assert basis(doctor, patient, "encounter") == Basis.GRANT
    assert basis(doctor, patient) is None
    assert access_object(actor, Encounter.objects.all(), encounter.pk, object_type="encounter") == encounter
    with pytest.raises(Http404):
        access_patient(actor, patient.pk)
    assert not visible(actor, Patient.objects.all()).exists()


def test_break_glass_expires(outsider, patient):
    glass = f.break_glass(outsider, patient)
    assert basis(outsider, patient) == Basis.BREAK_GLASS
    f.expire_break_glass(glass)
    assert basis(outsider, patient) is None


def test_break_glass_is_for_the_membership_that_broke_it(net, outsider, patient):
    f.break_glass(outsider, patient)
    same_person_elsewhere = f.make_membership(net.township, Role.DOCTOR, staff=outsider.staff)
    assert basis(same_person_elsewhere, patient) is None


@pytest.fixture
def mixed(net, registrar, owner, outsider, patient):
    """Patients the outsider sees on every basis, and some they do not."""
    village_desk = f.make_membership(net.village, Role.REGISTRAR)
    cared = f.register_patient(village_desk)
    granted = f.register_patient(registrar)
    f.grant(granted, to_institution=net.village)
    glassed = f.register_patient(registrar)
    f.break_glass(outsider, glassed)
    expired = f.register_patient(registrar)
    f.expire_break_glass(f.break_glass(outsider, expired))
    revoked = f.register_patient(registrar)
    f.revoke(f.grant(revoked, to_staff=outsider.staff))
    return {"cared": cared, "granted": granted, "glassed": glassed, "expired": expired, "revoked": revoked,
            "unrelated": patient}


def test_visible_decide_and_decide_many_agree(outsider, mixed):
    actor = f.actor(outsider)
    ids = [p.pk for p in mixed.values()]
    one_by_one = {pid: decide(actor, pid) for pid in ids}
    assert decide_many(actor, ids) == {pid: d for pid, d in one_by_one.items() if d is not None}
    assert set(visible(actor, Patient.objects.all()).values_list("pk", flat=True)) == {
        pid for pid, d in one_by_one.items() if d is not None}
    assert {k: (one_by_one[p.pk].basis if one_by_one[p.pk] else None) for k, p in mixed.items()} == {
        "cared": Basis.CARE, "granted": Basis.GRANT, "glassed": Basis.BREAK_GLASS, "expired": None,
        "revoked": None, "unrelated": None}


def test_access_patient_writes_one_row_either_way(owner, outsider, patient):
    before = AuditEvent.objects.count()
    assert access_patient(f.actor(owner), patient.pk) == patient
    with pytest.raises(Http404):
        access_patient(f.actor(outsider), patient.pk)
    for bad in ("abc", None, -1, 0, 2**64):
        with pytest.raises(Http404):
            access_patient(f.actor(owner), bad)
    rows = list(AuditEvent.objects.order_by("pk")[before:])
    assert [r.outcome for r in rows] == ["success", "denied"] + ["denied"] * 5
    assert [r.patient_id for r in rows[:2]] == [patient.pk, patient.pk]
    assert all(r.patient_id is None for r in rows[2:])


def test_access_object_with_a_missing_or_bad_id(owner):
    before = AuditEvent.objects.count()
    for bad in (999999, "x", None, 2**64):
        with pytest.raises(Http404):
            access_object(f.actor(owner), Encounter.objects.all(), bad, object_type="encounter")
    assert AuditEvent.objects.count() == before + 4


def test_audit_rows_are_append_only_in_the_application(owner, patient):
    access_patient(f.actor(owner), patient.pk)
    row = AuditEvent.objects.latest("pk")
    row.reason = "changed"
    with pytest.raises(ValueError):
        row.save()
    with pytest.raises(ValueError):
        row.delete()
    assert AuditEvent.objects.get(pk=row.pk).reason == ""


def test_audit_time_is_aware_utc(owner, patient):
    access_patient(f.actor(owner), patient.pk)
    row = AuditEvent.objects.latest("pk")
    assert timezone.is_aware(row.at)
    assert abs(timezone.now() - row.at) < timedelta(seconds=10)


def test_an_ended_care_relationship_no_longer_opens_the_record(owner, patient):
    from yilian.access.models import CareRelation

    assert basis(owner, patient) == Basis.CARE
    CareRelation.objects.filter(patient=patient).update(until=timezone.now() - timedelta(seconds=1))
    assert basis(owner, patient) is None
    assert decide_many(f.actor(owner), [patient.pk]) == {}
    assert not visible(f.actor(owner), Patient.objects.filter(pk=patient.pk)).exists()
    CareRelation.objects.filter(patient=patient).update(until=timezone.now() + timedelta(days=1))
    assert basis(owner, patient) == Basis.CARE
