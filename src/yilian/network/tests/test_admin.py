"""The admin pages: open to the system administrator only, and every save goes through the actions, so
their checks (三员分立, password rules, leads in the same consortium) hold here too."""

import pytest

from yilian.network.models import Consortium, Department, Institution, Membership, Staff
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import contains

MODELS = ["consortium", "institution", "department", "staff", "membership"]


@pytest.fixture
def admin(client_as, sysadmin):
    return client_as(sysadmin)


@pytest.mark.parametrize("model", MODELS)
def test_sysadmin_sees_every_list_and_add_page(admin, model):
    assert admin.get(f"/admin/network/{model}/").status_code == 200
    assert admin.get(f"/admin/network/{model}/add/").status_code == 200


@pytest.mark.parametrize("role", [Role.SECADMIN, Role.AUDITOR, Role.DOCTOR, Role.MANAGER])
def test_other_roles_are_sent_to_log_in(client_as, net, role):
    client = client_as(f.make_membership(net.county, role))
    for model in MODELS:
        assert client.get(f"/admin/network/{model}/").status_code == 302


def test_add_staff_goes_through_the_action_and_its_password_rules(admin):
    before = Staff.objects.count()
    data = {"username": "new.doctor", "password": "password123", "name": "李医生", "title": "attending",
            "licence_no": "110"}
    resp = admin.post("/admin/network/staff/add/", data)
    assert resp.status_code == 200 and Staff.objects.count() == before
    assert "password" in resp.context["adminform"].form.errors
    data["password"] = "Yilian-new-2026"
    resp = admin.post("/admin/network/staff/add/", data)
    assert resp.status_code == 302
    staff = Staff.objects.get(user__username="new.doctor")
    assert staff.user.check_password("Yilian-new-2026")


def test_granting_a_second_administrator_role_is_refused(admin, net, secadmin):
    before = Membership.objects.count()
    resp = admin.post("/admin/network/membership/add/", {
        "staff": secadmin.staff_id, "institution": net.county.pk, "role": Role.AUDITOR, "active": "on"})
    assert resp.status_code == 200 and Membership.objects.count() == before
    assert "role" in resp.context["adminform"].form.errors


def test_granting_oneself_an_administrator_role_is_refused(admin, net, sysadmin):
    resp = admin.post("/admin/network/membership/add/", {
        "staff": sysadmin.staff_id, "institution": net.township.pk, "role": Role.SYSADMIN, "active": "on"})
    assert resp.status_code == 200
    assert "role" in resp.context["adminform"].form.errors


def test_grant_then_deactivate_a_membership(admin, net, owner):
    resp = admin.post("/admin/network/membership/add/", {
        "staff": owner.staff_id, "institution": net.village.pk, "role": Role.DOCTOR, "active": "on"})
    assert resp.status_code == 302
    granted = Membership.objects.get(staff=owner.staff, institution=net.village)
    resp = admin.post(f"/admin/network/membership/{granted.pk}/change/", {})  # the box unticked
    assert resp.status_code == 302
    granted.refresh_from_db()
    assert granted.active is False and granted.role == Role.DOCTOR


def test_reactivating_a_conflicting_administrator_role_is_refused(admin, net, secadmin):
    old = f.make_membership(net.township, Role.AUDITOR, staff=secadmin.staff, active=False)
    resp = admin.post(f"/admin/network/membership/{old.pk}/change/", {"active": "on"})
    assert resp.status_code == 200
    old.refresh_from_db()
    assert old.active is False


def test_a_lead_from_another_consortium_is_refused(admin, net):
    other = Consortium.objects.create(name="邻县医共体", short_name="邻县", division_code="330783")
    before = Institution.objects.count()
    resp = admin.post("/admin/network/institution/add/", {
        "consortium": net.consortium.pk, "code": "T-V09", "name": "西山村卫生室", "short_name": "西山村",
        "kind": "village", "grade": "none", "division_code": "330782",
        "parent": Institution.objects.create(consortium=other, code="X-1", name="邻县医院", short_name="邻县医院",
                                             kind="general_2", division_code="330783").pk})
    assert resp.status_code == 200
    assert "parent" in resp.context["adminform"].form.errors
    assert Institution.objects.count() == before + 1  # only the other county's hospital made above


def test_add_and_rename_an_institution_and_a_department(admin, net):
    resp = admin.post("/admin/network/institution/add/", {
        "consortium": net.consortium.pk, "code": "T-V09", "name": "西山村卫生室", "short_name": "西山村",
        "kind": "village", "grade": "none", "division_code": "330782", "parent": net.township.pk})
    assert resp.status_code == 302
    clinic = Institution.objects.get(code="T-V09")
    resp = admin.post("/admin/network/department/add/", {
        "institution": clinic.pk, "subject_code": "02", "name": "全科"})
    assert resp.status_code == 302 and Department.objects.filter(institution=clinic).count() == 1
    resp = admin.post(f"/admin/network/institution/{clinic.pk}/change/", {
        "consortium": net.consortium.pk, "code": "T-V09", "name": "西山村卫生室（新址）", "short_name": "西山村",
        "kind": "village", "grade": "none", "division_code": "330782", "parent": clinic.pk})
    assert resp.status_code == 200  # it cannot lead itself
    assert "parent" in resp.context["adminform"].form.errors
    resp = admin.post(f"/admin/network/institution/{clinic.pk}/change/", {
        "consortium": net.consortium.pk, "code": "T-V09", "name": "西山村卫生室（新址）", "short_name": "西山村",
        "kind": "village", "grade": "none", "division_code": "330782", "parent": net.township.pk})
    assert resp.status_code == 302
    clinic.refresh_from_db()
    assert clinic.name == "西山村卫生室（新址）"


def test_admin_pages_show_no_patient_data(admin, patient):
    for model in MODELS:
        assert not contains(admin.get(f"/admin/network/{model}/"), patient.name)


def _form_fields(html: str) -> dict[str, str]:
    import re

    fields = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="checkbox"' not in tag:
            fields[name.group(1)] = value.group(1) if value else ""
    return fields


def test_edit_a_staff_member_with_the_memberships_shown_read_only(admin, owner):
    url = f"/admin/network/staff/{owner.staff_id}/change/"
    page = admin.get(url)
    assert contains(page, owner.institution.name)
    data = _form_fields(page.content.decode())
    data.update({"name": "改名医生", "title": "chief_physician", "licence_no": "A-1"})
    resp = admin.post(url, data)
    assert resp.status_code == 302
    owner.staff.refresh_from_db()
    assert (owner.staff.name, owner.staff.title) == ("改名医生", "chief_physician")
