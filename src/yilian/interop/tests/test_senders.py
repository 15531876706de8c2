"""Registering a sending system: only the system administrator (or the system), every bad field named at
once, the FHIR token shown once and kept only as its digest."""

import pytest

from yilian.errors import ActionError
from yilian.interop.models import Sender
from yilian.interop.senders import NewSender, digest, do_new_token, do_register_sender
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.testing.factories import actor, make_membership, make_network


@pytest.fixture
def network(db):
    return make_network()


def test_the_sysadmin_registers_a_sender_with_a_token(network):
    admin = actor(make_membership(network.county, Role.SYSADMIN))
    sender, token = do_register_sender(admin, NewSender("XL-LIS", "县医院检验系统", network.county.pk,
                                                        hl7_application="LIS", hl7_facility="XLRMYY", fhir=True))
    assert len(token) > 30 and sender.token_digest == digest(token) and token not in sender.token_digest
    again = do_new_token(SYSTEM, "XL-LIS")
    assert again != token and Sender.objects.get().token_digest == digest(again)


def test_bad_fields_are_named_and_nothing_is_stored(network):
    do_register_sender(SYSTEM, NewSender("XL-LIS", "县医院检验系统", network.county.pk, hl7_application="LIS"))
    with pytest.raises(ActionError) as exc:
        do_register_sender(SYSTEM, NewSender("XL-LIS", "", 0, hl7_application="L|S", hl7_facility="X"))
    assert {"code", "name", "institution", "hl7_application"} <= set(exc.value.errors)
    with pytest.raises(ActionError) as exc:
        do_register_sender(SYSTEM, NewSender("XL-LIS2", "另一个", network.county.pk, hl7_application="LIS"))
    assert "hl7_application" in exc.value.errors  # the same MSH-3/MSH-4 pair
    assert Sender.objects.count() == 1


def test_a_doctor_may_not_register_a_sender(network):
    doctor = actor(make_membership(network.county, Role.DOCTOR))
    with pytest.raises(ActionError) as exc:
        do_register_sender(doctor, NewSender("XL-LIS", "县医院检验系统", network.county.pk))
    assert "role" in exc.value.errors


def test_the_admin_page_registers_a_sender_and_shows_the_token_once(client_as, net, sysadmin):
    admin = client_as(sysadmin)
    assert admin.get("/admin/interop/sender/").status_code == 200
    data = {"code": "XL-PACS", "name": "县医院影像系统", "institution": net.county.pk, "hl7_application": "",
            "hl7_facility": "", "mrn_authority": "", "active": "on"}
    bad = admin.post("/admin/interop/sender/add/", {**data, "code": "bad code!"})
    assert bad.status_code == 200 and "code" in bad.context["adminform"].form.errors
    resp = admin.post("/admin/interop/sender/add/", data, follow=True)
    sender = Sender.objects.get(code="XL-PACS")
    shown = [str(m) for m in resp.context["messages"]]
    assert len(shown) == 2 and digest(shown[0].rsplit(": ", 1)[1]) == sender.token_digest  # + "added"
    assert admin.get(f"/admin/interop/sender/{sender.pk}/change/").status_code == 200
    assert client_as(make_membership(net.county, Role.DOCTOR)).get("/admin/interop/sender/").status_code == 302
