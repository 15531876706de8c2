"""The batch actions the demo writes through: the network set-up and the bulk patient registration and
check-in run the same checks as their single forms and write the same rows."""

from datetime import date

import pytest

from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor, actor_for_membership
from yilian.network.actions import (
    NewConsortium,
    NewDepartment,
    NewInstitution,
    NewMembership,
    NewStaff,
    do_create_consortium,
    do_create_department,
    do_create_institution,
    do_create_institutions,
    do_create_staff,
    do_create_staff_many,
    do_grant_membership,
    do_grant_memberships,
)
from yilian.network.models import Institution, Membership
from yilian.patients import residentid
from yilian.patients.actions import NewPatient, do_check_in, do_check_in_many, do_register_patients
from yilian.patients.models import Patient

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    consortium = do_create_consortium(SYSTEM, NewConsortium("测试县医共体X", "测试", "130599"))
    lead = do_create_institution(SYSTEM, consortium, NewInstitution(
        code="T-01", name="测试县人民医院X", short_name="县医院", kind="general_2", division_code="130599", grade="2A"))
    centre = do_create_institution(SYSTEM, consortium, NewInstitution(
        code="T-02", name="测试县某镇卫生院X", short_name="某镇卫生院", kind="township", division_code="130599",
        parent_code="T-01"))
    dept = do_create_department(SYSTEM, NewDepartment(centre.pk, "02", "全科医疗科"))
    clerk = do_create_staff(SYSTEM, NewStaff(username="t.clerk", name="测试员", title="administrator"))
    m = do_grant_membership(SYSTEM, NewMembership(clerk.pk, centre.pk, "registrar"))
    lead_clerk = do_grant_membership(SYSTEM, NewMembership(clerk.pk, lead.pk, "registrar"))
    load = Membership.objects.select_related("staff__user")
    return {"consortium": consortium, "lead": lead, "centre": centre, "dept": dept,
            "actor": actor_for_membership(load.get(pk=m.pk)), "lead_actor": actor_for_membership(load.get(pk=lead_clerk.pk))}


def test_only_a_system_administrator_configures():
    nobody = Actor(user_id=None, username="someone", membership=None)
    with pytest.raises(ActionError) as exc:
        do_create_consortium(nobody, NewConsortium("某医共体", "某", "130599"))
    assert "role" in exc.value.errors


def test_institution_checks(site):
    with pytest.raises(ActionError) as exc:
        do_create_institutions(SYSTEM, site["consortium"], [
            NewInstitution(code="T-03", name="甲村卫生室X", short_name="甲", kind="village", division_code="130599",
                           parent_code="T-02"),
            NewInstitution(code="T-04", name="乙村卫生室X", short_name="乙", kind="village", division_code="13059",
                           parent_code="NOPE"),
        ])
    assert set(exc.value.errors) == {"items.1.division_code", "items.1.parent_code"}
    assert not Institution.objects.filter(code="T-03").exists()  # all or nothing
    with pytest.raises(ActionError) as exc:
        do_create_institution(SYSTEM, site["consortium"], NewInstitution(
            code="T-01", name="另一个", short_name="另", kind="village", division_code="130599"))
    assert "code" in exc.value.errors


def test_staff_passwords_and_admin_separation(site):
    with pytest.raises(ActionError) as exc:
        do_create_staff(SYSTEM, NewStaff(username="t.weak", name="弱口令", title="resident", password="password"))
    assert "password" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_create_staff_many(SYSTEM, [NewStaff("t.a", "甲", "resident"), NewStaff("t.a", "乙", "resident")])
    assert "items.1.username" in exc.value.errors
    (admin,) = do_create_staff_many(SYSTEM, [NewStaff("t.admin", "管理员", "administrator")])
    assert not admin.user.has_usable_password()
    do_grant_membership(SYSTEM, NewMembership(admin.pk, site["lead"].pk, "sysadmin"))
    with pytest.raises(ActionError) as exc:
        do_grant_memberships(SYSTEM, [NewMembership(admin.pk, site["lead"].pk, "auditor")])
    assert "items.0.role" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_grant_membership(SYSTEM, NewMembership(admin.pk, site["lead"].pk, "doctor", department_id=site["dept"].pk))
    assert "department_id" in exc.value.errors


def _new(i: int, **kw) -> NewPatient:
    rid = residentid.make("130599", date(1960, 1, 1 + i), 11 + 2 * i)
    return NewPatient(**{"name": "测试人", "resident_id": rid, "phone": "13800000000", **kw})


def test_register_patients_checks_each_and_writes_care_and_audit(site):
    actor = site["actor"]
    with pytest.raises(ActionError) as exc:
        do_register_patients(actor, [_new(0), _new(1, name="<bad>")])
    assert list(exc.value.errors) == ["patients.1.name"]
    with pytest.raises(ActionError) as exc:
        do_register_patients(actor, [_new(0), _new(0)])
    assert "patients.1.resident_id" in exc.value.errors
    assert not Patient.objects.filter(resident_id=_new(0).resident_id).exists()
    patients = do_register_patients(actor, [_new(0), _new(1), NewPatient(name="无证人", sex="2",
                                                                         birth_date=date(1970, 5, 6))])
    for p in patients:
        assert CareRelation.objects.filter(patient=p, institution=site["centre"], source_type="registration").exists()
        row = AuditEvent.objects.get(patient_id=p.pk, object_type="patient")
        assert (row.action, row.basis, row.membership_id) == ("create", "care", actor.membership.pk)
    with pytest.raises(ActionError) as exc:
        do_register_patients(actor, [_new(1)])
    assert "patients.0.resident_id" in exc.value.errors


def test_check_in_many_matches_the_single_form(site):
    a, b = do_register_patients(site["actor"], [_new(2), _new(3)])
    lead = site["lead_actor"]
    with pytest.raises(ActionError) as exc:
        do_check_in_many(lead, [a.resident_id, residentid.make("130599", date(1961, 2, 3), 5)])
    assert "resident_ids.1.resident_id" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_check_in_many(lead, ["123"])
    assert "resident_ids.0.resident_id" in exc.value.errors
    do_check_in(lead, a.resident_id)
    assert [p.pk for p in do_check_in_many(lead, [a.resident_id, b.resident_id])] == [a.pk, b.pk]
    assert CareRelation.objects.filter(source_type="check_in", institution=site["lead"], patient=a).count() == 1
    rows = AuditEvent.objects.filter(patient_id=a.pk, reason="check-in", action="update")
    assert rows.count() == 2 and {r.basis for r in rows} == {"care"}


def test_batches_refuse_a_role_without_registration(site):
    doctor = Actor(user_id=None, username="nobody", membership=None)
    with pytest.raises(ActionError) as exc:
        do_register_patients(doctor, [])
    assert "role" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_check_in_many(doctor, [])
    assert "role" in exc.value.errors
