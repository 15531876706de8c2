"""Roles and capabilities, deny by default: every page and endpoint against every role.

A role reaches a page exactly when `CAPABILITIES` gives it the capability the page names; otherwise 403
with nothing of any patient in the body and no audit row (no patient data was reached). The pharmacist
role exists but has been granted nothing: it sees nothing anywhere.
"""

import json

import pytest
from django.urls import reverse

from yilian.access.models import AuditEvent
from yilian.network.roles import CAPABILITIES, Cap, Role, has_cap
from yilian.patients.identifiers import do_link_identifier
from yilian.patients.merging import do_merge
from yilian.testing import factories as f
from yilian.testing.checks import contains

# (name, method, url(ids), capability needed, api?)
PAGES = [
    ("patient list", "get", lambda i: reverse("patients:list"), Cap.CLINICAL),
    ("patient", "get", lambda i: reverse("patients:detail", args=[i["patient"]]), Cap.CLINICAL),
    ("unmask", "post", lambda i: reverse("patients:unmask", args=[i["patient"]]), Cap.UNMASK),
    ("register", "get", lambda i: reverse("patients:register"), Cap.REGISTER),
    ("check in", "post", lambda i: reverse("patients:check_in"), Cap.REGISTER),
    ("break glass", "get", lambda i: reverse("patients:break_glass"), Cap.BREAK_GLASS),
    ("dashboard", "get", lambda i: reverse("analytics:dashboard"), Cap.DASHBOARD),
    ("audit", "get", lambda i: reverse("access:audit"), Cap.AUDIT),
    ("audit export", "get", lambda i: reverse("access:audit_export"), Cap.AUDIT),
    ("break-glass review", "get", lambda i: reverse("access:review"), Cap.REVIEW_ACCESS),
    ("review one", "post", lambda i: reverse("access:review_one", args=[i["glass"]]), Cap.REVIEW_ACCESS),
    ("qr card", "get", lambda i: reverse("patients:card", args=[i["patient"]]), Cap.CLINICAL),
    ("qr check-in", "get", lambda i: reverse("patients:qr_check_in"), Cap.REGISTER),
    ("rotate qr", "post", lambda i: reverse("patients:rotate_qr", args=[i["patient"]]), Cap.REGISTER),
    ("link identifier", "post", lambda i: reverse("patients:link_identifier", args=[i["patient"]]), Cap.REGISTER),
    ("unlink identifier", "post",
     lambda i: reverse("patients:unlink_identifier", args=[i["patient"], i["identifier"]]), Cap.REGISTER),
    ("link queue", "get", lambda i: reverse("patients:links"), Cap.LINK_REVIEW),
    ("link review", "get", lambda i: reverse("patients:link_review", args=[i["candidate"]]), Cap.LINK_REVIEW),
    ("merges", "get", lambda i: reverse("patients:merges"), Cap.MERGE),
    ("unmerge", "post", lambda i: reverse("patients:unmerge", args=[i["merge"]]), Cap.MERGE),
    # Outpatient queue and calling (issue 4): the desk checks in, doctors call.
    ("queue desk", "get", lambda i: reverse("scheduling:desk"), Cap.REGISTER),
    ("queue check-in", "post", lambda i: reverse("scheduling:desk"), Cap.REGISTER),
    ("calling page", "get", lambda i: reverse("scheduling:doctor"), Cap.CLINICAL),
    ("call next", "post", lambda i: reverse("scheduling:call_next"), Cap.CLINICAL),
    ("queue move", "post", lambda i: reverse("scheduling:move", args=[1, "recall"]), Cap.CLINICAL),
    # Outpatient staff pages (issue 4): the booking window, schedules and stop-clinic, policy rows. The policy
    # page is for a registrar (their own institution) and for the consortium manager (any member).
    ("booking window", "get", lambda i: reverse("scheduling:book"), Cap.REGISTER),
    ("find patient to book", "post", lambda i: reverse("scheduling:book"), Cap.REGISTER),
    ("patient's bookings", "get", lambda i: reverse("scheduling:book_patient", args=[i["patient"]]), Cap.REGISTER),
    ("book", "post", lambda i: reverse("scheduling:book_patient", args=[i["patient"]]), Cap.REGISTER),
    ("free slots part", "get", lambda i: reverse("scheduling:book_slots", args=[i["patient"]]), Cap.REGISTER),
    ("cancel booking", "post", lambda i: reverse("scheduling:booking_cancel", args=[1]), Cap.REGISTER),
    ("reschedule booking", "post", lambda i: reverse("scheduling:booking_reschedule", args=[1]), Cap.REGISTER),
    ("booking slip", "get", lambda i: reverse("scheduling:booking_slip", args=[1]), Cap.REGISTER),
    ("schedules", "get", lambda i: reverse("scheduling:schedules"), Cap.SCHEDULE),
    ("new schedule", "post", lambda i: reverse("scheduling:schedule_new"), Cap.SCHEDULE),
    ("schedule", "get", lambda i: reverse("scheduling:schedule", args=[1]), Cap.SCHEDULE),
    ("generate slots", "post", lambda i: reverse("scheduling:schedule_generate", args=[1]), Cap.SCHEDULE),
    ("stop clinic", "post", lambda i: reverse("scheduling:schedule_stop", args=[1]), Cap.SCHEDULE),
    ("holidays", "post", lambda i: reverse("scheduling:holidays"), Cap.SCHEDULE),
    ("remove holiday", "post", lambda i: reverse("scheduling:holiday_remove", args=[1]), Cap.SCHEDULE),
    ("policy", "get", lambda i: reverse("scheduling:policy"), (Cap.SCHEDULE, Cap.POLICY)),
    ("set fee", "post", lambda i: reverse("scheduling:policy_fee"), (Cap.SCHEDULE, Cap.POLICY)),
    ("set limits", "post", lambda i: reverse("scheduling:policy_limits"), (Cap.SCHEDULE, Cap.POLICY)),
    ("add free rule", "post", lambda i: reverse("scheduling:policy_free_rule"), (Cap.SCHEDULE, Cap.POLICY)),
    ("stop free rule", "post", lambda i: reverse("scheduling:policy_free_rule_off", args=[1]),
     (Cap.SCHEDULE, Cap.POLICY)),
]

API = [
    ("list patients", "get", lambda i: "/api/v1/patients", Cap.CLINICAL),
    ("register", "post", lambda i: "/api/v1/patients", Cap.REGISTER),
    ("check in", "post", lambda i: "/api/v1/patients/check-in", Cap.REGISTER),
    ("patient", "get", lambda i: f"/api/v1/patients/{i['patient']}", Cap.CLINICAL),
    ("unmask", "post", lambda i: f"/api/v1/patients/{i['patient']}/unmask", Cap.UNMASK),
    ("open encounter", "post", lambda i: "/api/v1/encounters", Cap.RECORD_VISIT),
    ("encounter", "get", lambda i: f"/api/v1/encounters/{i['encounter']}", Cap.CLINICAL),
    ("charge", "post", lambda i: f"/api/v1/encounters/{i['encounter']}/charges", Cap.RECORD_VISIT),
    ("close", "post", lambda i: f"/api/v1/encounters/{i['encounter']}/close", Cap.RECORD_VISIT),
    ("encounters of patient", "get", lambda i: f"/api/v1/encounters/of-patient/{i['patient']}", Cap.CLINICAL),
    ("search", "post", lambda i: "/api/v1/patients/search", Cap.REGISTER),
    ("claim by identifier", "post", lambda i: "/api/v1/patients/claim", Cap.REGISTER),
    ("claim", "post", lambda i: f"/api/v1/patients/{i['patient']}/claim", Cap.REGISTER),
    ("identifiers", "get", lambda i: f"/api/v1/patients/{i['patient']}/identifiers", Cap.CLINICAL),
    ("link identifier", "post", lambda i: f"/api/v1/patients/{i['patient']}/identifiers", Cap.REGISTER),
    ("qr token", "get", lambda i: f"/api/v1/patients/{i['patient']}/qr", Cap.CLINICAL),
    ("rotate qr", "post", lambda i: f"/api/v1/patients/{i['patient']}/qr/rotate", Cap.REGISTER),
    ("qr check-in", "post", lambda i: "/api/v1/patients/qr/check-in", Cap.REGISTER),
    ("merge", "post", lambda i: "/api/v1/patients/merges", Cap.MERGE),
    ("unmerge", "post", lambda i: f"/api/v1/patients/merges/{i['merge']}/unmerge", Cap.MERGE),
    ("indicators", "get", lambda i: "/api/v1/indicators", Cap.DASHBOARD),
    ("indicator", "get", lambda i: "/api/v1/indicators/outpatient.visits", Cap.DASHBOARD),
    # Outpatient scheduling (issue 4): the booking and registration desk.
    ("free slots", "get", lambda i: "/api/v1/scheduling/slots", Cap.REGISTER),
    ("book", "post", lambda i: "/api/v1/scheduling/bookings", Cap.REGISTER),
    ("cancel booking", "post", lambda i: "/api/v1/scheduling/bookings/1/cancel", Cap.REGISTER),
    ("reschedule booking", "post", lambda i: "/api/v1/scheduling/bookings/1/reschedule", Cap.REGISTER),
    ("no-show", "post", lambda i: "/api/v1/scheduling/bookings/1/no-show", Cap.REGISTER),
    ("register visit", "post", lambda i: "/api/v1/scheduling/registrations", Cap.REGISTER),
]

ROLES = list(Role.values)


def holds(role, cap) -> bool:
    """A page names one capability, or a tuple of which any one lets the role in."""
    return any(has_cap(role, c) for c in cap) if isinstance(cap, tuple) else has_cap(role, cap)


@pytest.fixture
def world(net, registrar, owner, patient, encounter, outsider):
    glass = f.break_glass(outsider, patient)
    second, third = f.second_record(registrar, patient), f.second_record(registrar, patient, phone="")
    candidate = f.link_candidate(patient, second)
    merge = do_merge(f.actor(registrar), patient.pk, third.pk)
    identifier = do_link_identifier(f.actor(registrar), patient.pk, "insurance", "A12345678")
    return {"patient": patient.pk, "encounter": encounter.pk, "glass": glass.pk, "candidate": candidate.pk,
            "merge": merge.pk, "identifier": identifier.pk}


def _as(role, net, client_as):
    return client_as(f.make_membership(net.county, role))


def _call(client, method, url, api):
    if method == "get":
        return client.get(url)
    if api:
        return client.post(url, data=json.dumps({}), content_type="application/json")
    return client.post(url, {})


@pytest.mark.parametrize("role", ROLES)
def test_pages_follow_capabilities(role, net, world, patient, client_as):
    client = _as(role, net, client_as)
    for name, method, url, cap in PAGES:
        before = AuditEvent.objects.count()
        resp = _call(client, method, url(world), api=False)
        assert resp.status_code < 500, name
        if holds(role, cap):
            assert resp.status_code != 403, name
        else:
            assert resp.status_code == 403, name
            assert f.leaked(resp.content, patient) == [], name
            assert AuditEvent.objects.count() == before, name


@pytest.mark.parametrize("role", ROLES)
def test_api_follows_capabilities(role, net, world, patient, client_as):
    client = _as(role, net, client_as)
    for name, method, url, cap in API:
        before = AuditEvent.objects.count()
        resp = _call(client, method, url(world), api=True)
        assert resp.status_code < 500, name
        if has_cap(role, cap):
            assert resp.status_code != 403, name
        else:
            assert resp.status_code == 403, name
            assert resp.json()["errors"][0]["field"] == ""
            assert f.leaked(resp.content, patient) == [], name
            assert AuditEvent.objects.count() == before, name


def test_pharmacist_is_granted_nothing(pharmacist, world, patient, client_as):
    assert Role.PHARMACIST not in CAPABILITIES
    assert not any(has_cap(Role.PHARMACIST, cap) for cap in Cap.values)
    client = client_as(pharmacist)
    home = client.get("/")
    assert home.status_code == 200
    assert contains(home, 'data-testid="acting"')
    assert contains(home, 'class="main-nav"')
    assert home.context["nav"] == [{"label": home.context["nav"][0]["label"], "url": "/", "active": True}]
    assert f.leaked(home.content, patient) == []
    for name, method, url, _cap in PAGES:
        assert _call(client, method, url(world), api=False).status_code == 403, name
    for name, method, url, _cap in API:
        assert _call(client, method, url(world), api=True).status_code == 403, name
    assert client.get("/admin/").status_code == 302


def test_unknown_role_is_denied_everything():
    assert not has_cap("radiologist", Cap.CLINICAL)
    assert not has_cap(None, Cap.CLINICAL)
    assert not has_cap("", Cap.AUDIT)


def test_administrator_roles_are_kept_apart():
    """三员分立: no administrator role reads clinical data, and none holds another's capability."""
    admin_caps = {Role.SYSADMIN: Cap.CONFIGURE, Role.SECADMIN: Cap.REVIEW_ACCESS, Role.AUDITOR: Cap.AUDIT}
    for role, cap in admin_caps.items():
        assert CAPABILITIES[role] == frozenset({cap})
    clinical_roles = {r for r, caps in CAPABILITIES.items() if Cap.CLINICAL in caps}
    assert clinical_roles.isdisjoint(admin_caps)


def test_auditor_reaches_the_audit_trail_but_no_patient(auditor, world, client_as):
    client = client_as(auditor)
    assert client.get(reverse("access:audit")).status_code == 200
    assert client.get(reverse("access:audit_export")).status_code == 200
    assert client.get(reverse("patients:detail", args=[world["patient"]])).status_code == 403
    assert client.get(reverse("patients:list")).status_code == 403
    assert client.get(f"/api/v1/patients/{world['patient']}").status_code == 403
    assert client.get("/admin/").status_code == 302


def test_sysadmin_reaches_admin_but_no_patient(sysadmin, world, client_as):
    client = client_as(sysadmin)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/network/institution/").status_code == 200
    assert client.get("/admin/patients/patient/").status_code == 404  # patients are not in the admin at all
    assert client.get(reverse("patients:detail", args=[world["patient"]])).status_code == 403
    assert client.get(reverse("access:audit")).status_code == 403
    assert client.get(f"/api/v1/patients/{world['patient']}").status_code == 403


@pytest.mark.parametrize("role", [r for r in ROLES if r != Role.SYSADMIN])
def test_admin_site_refuses_everyone_else(role, net, client_as):
    membership = f.make_membership(net.county, role)
    client = client_as(membership)
    for url in ("/admin/", "/admin/network/institution/", "/admin/network/membership/"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert resp["Location"].startswith("/admin/login/")
    # Nor does the admin's own log-in form let them in.
    username = membership.staff.user.username
    client.post("/admin/login/?next=/admin/", {"username": username, "password": f.PASSWORD})
    assert client.get("/admin/").status_code == 302


def test_admin_site_refuses_sysadmin_acting_as_another_role(net, client_as):
    staff = f.make_staff()
    f.make_membership(net.county, Role.SYSADMIN, staff=staff)
    doctor = f.make_membership(net.county, Role.DOCTOR, staff=staff)
    client = client_as(doctor)
    assert client.get("/admin/").status_code == 302


def test_secadmin_reviews_break_glass_only(secadmin, world, client_as):
    client = client_as(secadmin)
    assert client.get(reverse("access:review")).status_code == 200
    assert client.get(reverse("patients:detail", args=[world["patient"]])).status_code == 403
    assert client.get(reverse("access:audit")).status_code == 403
    assert client.get("/admin/").status_code == 302
