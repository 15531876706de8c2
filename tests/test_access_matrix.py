"""The access matrix: every page and endpoint that shows or changes one patient's data, against the
owner / colleague / outsider trio, break-glass, and a missing id.

Each endpoint is one line of `ENDPOINTS` (or `LISTINGS` for the pages that list patients); every test
below runs for each line. What is checked, each time: the status, that the body shows the patient only
to who may see them (and nothing identifying to anyone else), and that the request left exactly one
audit row with the right user, membership, institution, patient, action, outcome and basis.
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from django.urls import reverse

from yilian.access.models import Action, AuditEvent, Basis, Outcome
from yilian.care.models import Encounter
from yilian.network.roles import Role
from yilian.patients.models import Identifier, Patient, QrToken
from yilian.scheduling.actions import do_book
from yilian.scheduling.models import Booking
from yilian.scheduling.tests.clinics import make_clinic, slots_on
from yilian.testing import factories as f


@dataclass(frozen=True)
class Ids:
    patient: int
    encounter: int


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    url: Callable[[Ids], str]
    api: bool
    target: str  # which id the url carries: "patient" or "encounter"
    object_type: str  # of the audit row
    action: str
    ok: int = 200
    body: dict | None = None
    # A write on an encounter is for the institution that holds it: anyone else who may see the encounter
    # is refused with 422 (the field "encounter"), and the refusal is audited as denied.
    write: bool = False
    # The success row of a write is the action's (e.g. one "charge" row per charge item created).
    ok_row: tuple[str, str] | None = None
    shows: Callable = field(default=lambda resp, patient, enc: False)


def _html_name(resp, patient, enc) -> bool:
    return patient.name in resp.content.decode()


def _html_full_id(resp, patient, enc) -> bool:
    return patient.resident_id in resp.content.decode()


def _json_patient(resp, patient, enc) -> bool:
    return resp.json()["id"] == patient.pk and resp.json()["name"] == patient.name


def _json_identifiers(resp, patient, enc) -> bool:
    return resp.json() == {"resident_id": patient.resident_id, "phone": patient.phone}


def _json_identifier_list(resp, patient, enc) -> bool:
    return {i["type"] for i in resp.json()} == {"resident_id", "consortium"}


def _json_qr(resp, patient, enc) -> bool:
    return resp.json()["token"] == QrToken.objects.get(patient=patient, revoked_at__isnull=True).token


def _html_qr_card(resp, patient, enc) -> bool:
    return patient.name in resp.content.decode() and "<svg" in resp.content.decode()


def _json_encounter(resp, patient, enc) -> bool:
    return resp.json()["id"] == enc.pk and resp.json()["patient_id"] == patient.pk


def _json_encounter_list(resp, patient, enc) -> bool:
    return [e["id"] for e in resp.json()] == [enc.pk]


ONE_CHARGE = {"charges": [{"category": "lab", "amount": "12.50", "description": "血常规"}]}

ENDPOINTS = [
    Endpoint("page patient", "get", lambda i: reverse("patients:detail", args=[i.patient]), False, "patient",
             "patient", Action.READ, shows=_html_name),
    Endpoint("page unmask", "post", lambda i: reverse("patients:unmask", args=[i.patient]), False, "patient",
             "patient", Action.UNMASK, shows=_html_full_id),
    Endpoint("api patient", "get", lambda i: f"/api/v1/patients/{i.patient}", True, "patient", "patient",
             Action.READ, shows=_json_patient),
    Endpoint("api unmask", "post", lambda i: f"/api/v1/patients/{i.patient}/unmask", True, "patient",
             "patient", Action.UNMASK, shows=_json_identifiers),
    Endpoint("api encounter", "get", lambda i: f"/api/v1/encounters/{i.encounter}", True, "encounter",
             "encounter", Action.READ, shows=_json_encounter),
    Endpoint("api encounters of patient", "get", lambda i: f"/api/v1/encounters/of-patient/{i.patient}", True,
             "patient", "encounter-list", Action.READ, shows=_json_encounter_list),
    Endpoint("api charge encounter", "post", lambda i: f"/api/v1/encounters/{i.encounter}/charges", True,
             "encounter", "encounter", Action.UPDATE, ok=201, body=ONE_CHARGE, write=True,
             ok_row=("charge", Action.CREATE), shows=_json_encounter),
    Endpoint("api close encounter", "post", lambda i: f"/api/v1/encounters/{i.encounter}/close", True,
             "encounter", "encounter", Action.UPDATE, body={}, write=True, shows=_json_encounter),
    # The master patient index (issue 3).
    Endpoint("page qr card", "get", lambda i: reverse("patients:card", args=[i.patient]), False, "patient",
             "qr-card", Action.READ, shows=_html_qr_card),
    Endpoint("api identifiers", "get", lambda i: f"/api/v1/patients/{i.patient}/identifiers", True, "patient",
             "identifier", Action.READ, shows=_json_identifier_list),
    Endpoint("api qr token", "get", lambda i: f"/api/v1/patients/{i.patient}/qr", True, "patient", "qr",
             Action.READ, shows=_json_qr),
    # Results from every member (issue 6).
    Endpoint("page result timeline", "get", lambda i: reverse("results:timeline", args=[i.patient]), False,
             "patient", "result_timeline", Action.READ, shows=_html_name),
    Endpoint("page result trend", "get", lambda i: reverse("results:trend", args=[i.patient, "HBA1C"]), False,
             "patient", "result_trend", Action.READ, shows=_html_name),
]


@dataclass(frozen=True)
class Listing:
    name: str
    url: str
    api: bool

    def shows(self, resp, patient) -> bool:
        if self.api:
            return [p["id"] for p in resp.json()] == [patient.pk]
        return patient.name in resp.content.decode()


LISTINGS = [
    Listing("page patient list", "/patients/", api=False),
    Listing("api patient list", "/api/v1/patients", api=True),
]

endpoints = pytest.mark.parametrize("ep", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
listings = pytest.mark.parametrize("ls", LISTINGS, ids=[x.name for x in LISTINGS])


# --- helpers -----------------------------------------------------------------------------------------


def last_audit_id() -> int:
    return AuditEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def rows_since(mark: int) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(pk__gt=mark).order_by("pk"))


def call(client, ep: Endpoint, ids: Ids):
    url = ep.url(ids)
    if ep.method == "get":
        return client.get(url)
    if ep.api:
        return client.post(url, data=json.dumps(ep.body or {}), content_type="application/json")
    return client.post(url, ep.body or {})


def assert_row(row: AuditEvent, membership, *, patient_id, object_type, action, outcome, basis,
               grant_id=None, reason=None) -> None:
    assert row.user_id == membership.staff.user_id
    assert row.username == membership.staff.user.username
    assert row.membership_id == membership.pk
    assert row.institution_id == membership.institution_id
    assert row.role == membership.role
    assert row.patient_id == patient_id
    assert row.object_type == object_type
    assert row.action == action
    assert row.outcome == outcome
    assert row.basis == basis
    assert row.grant_id == grant_id
    if reason is not None:
        assert row.reason == reason
    assert row.source == "127.0.0.1"


def assert_denied(resp, ep: Endpoint, patient, rows, membership, *, patient_id) -> None:
    assert resp.status_code == 404
    assert f.leaked(resp.content, patient) == []
    if ep.api:
        assert resp.json() == {"errors": [{"field": "", "message": resp.json()["errors"][0]["message"]}]}
    assert len(rows) == 1
    assert_row(rows[0], membership, patient_id=patient_id, object_type=ep.object_type, action=ep.action,
               outcome=Outcome.DENIED, basis=Basis.NONE)


def assert_success(resp, ep: Endpoint, patient, encounter, rows, membership, *, basis, grant_id=None,
                   reason=None) -> None:
    assert resp.status_code == ep.ok
    assert ep.shows(resp, patient, encounter)
    assert len(rows) == 1
    object_type, action = ep.ok_row or (ep.object_type, ep.action)
    assert_row(rows[0], membership, patient_id=patient.pk, object_type=object_type, action=action,
               outcome=Outcome.SUCCESS, basis=basis, grant_id=grant_id, reason=reason)


def assert_write_refused(resp, patient, rows, membership) -> None:
    """Someone who may see the encounter but works elsewhere: 422 naming the encounter, one denied row."""
    assert resp.status_code == 422
    assert [e["field"] for e in resp.json()["errors"]] == ["encounter"]
    assert len(rows) == 1
    assert_row(rows[0], membership, patient_id=patient.pk, object_type="encounter", action=Action.UPDATE,
               outcome=Outcome.DENIED, basis=Basis.NONE)


def normalised(resp, ids_in_url: list[str]) -> str:
    """A 404 page without what legitimately differs between two requests: CSRF tokens and the URL itself
    (echoed in the language and acting forms)."""
    text = resp.content.decode()
    for url in ids_in_url:
        text = text.replace(url, "URL")
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "CSRF", text)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "CSRF", text)


@pytest.fixture
def ids(patient, encounter) -> Ids:
    return Ids(patient=patient.pk, encounter=encounter.pk)


# --- one patient or encounter --------------------------------------------------------------------------


@endpoints
def test_owner_sees_it(ep, client_as, owner, patient, encounter, ids):
    client = client_as(owner)
    mark = last_audit_id()
    resp = call(client, ep, ids)
    assert_success(resp, ep, patient, encounter, rows_since(mark), owner, basis=Basis.CARE)


@endpoints
def test_colleague_with_grant_sees_it(ep, client_as, colleague, patient, encounter, ids):
    client = client_as(colleague)
    mark = last_audit_id()
    resp = call(client, ep, ids)
    if ep.write:
        assert_write_refused(resp, patient, rows_since(mark), colleague)
        return
    assert_success(resp, ep, patient, encounter, rows_since(mark), colleague, basis=Basis.GRANT,
                   grant_id=colleague.grant.pk)


@endpoints
@pytest.mark.parametrize("who", ["outsider", "revoked_colleague", "expired_colleague"])
def test_no_relationship_gets_404(ep, who, request_fixture, client_as, patient, encounter, ids):
    membership = request_fixture(who)
    client = client_as(membership)
    mark = last_audit_id()
    resp = call(client, ep, ids)
    assert_denied(resp, ep, patient, rows_since(mark), membership, patient_id=patient.pk)
    assert Encounter.objects.get(pk=encounter.pk).end is None
    assert not encounter.charges.exists()


@endpoints
def test_missing_id_is_the_same_404(ep, client_as, outsider, owner, patient, encounter, ids):
    missing = Ids(patient=Patient.objects.order_by("-pk").first().pk + 1000,
                  encounter=Encounter.objects.order_by("-pk").first().pk + 1000)
    client = client_as(outsider)
    forbidden = call(client, ep, ids)
    mark = last_audit_id()
    resp = call(client, ep, missing)
    assert resp.status_code == forbidden.status_code == 404
    assert normalised(resp, [ep.url(missing)]) == normalised(forbidden, [ep.url(ids)])
    rows = rows_since(mark)
    assert len(rows) == 1
    assert_row(rows[0], outsider, patient_id=missing.patient if ep.target == "patient" else None,
               object_type=ep.object_type, action=ep.action, outcome=Outcome.DENIED, basis=Basis.NONE)
    # The owner gets the very same answer for a missing id.
    owner_resp = call(client_as(owner), ep, missing)
    assert owner_resp.status_code == 404


@endpoints
def test_break_glass_opens_then_expires(ep, client_as, outsider, patient, encounter, ids):
    glass = f.break_glass(outsider, patient, reason="夜间急诊，患者昏迷")
    client = client_as(outsider)
    mark = last_audit_id()
    resp = call(client, ep, ids)
    if ep.write:
        assert_write_refused(resp, patient, rows_since(mark), outsider)
    else:
        assert_success(resp, ep, patient, encounter, rows_since(mark), outsider, basis=Basis.BREAK_GLASS,
                       reason="夜间急诊，患者昏迷")

    f.expire_break_glass(glass)
    mark = last_audit_id()
    resp = call(client, ep, ids)
    assert_denied(resp, ep, patient, rows_since(mark), outsider, patient_id=patient.pk)


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.write], ids=[e.name for e in ENDPOINTS if e.write])
def test_writes_change_nothing_when_refused(ep, client_as, colleague, outsider, patient, encounter, ids):
    for membership in (colleague, outsider):
        call(client_as(membership), ep, ids)
    encounter.refresh_from_db()
    assert encounter.end is None
    assert not encounter.charges.exists()
    assert list(encounter.events.values_list("kind", flat=True)) == ["opened"]


# --- lists of patients ---------------------------------------------------------------------------------


def list_rows_ok(rows, membership, patient, **expected) -> None:
    assert len(rows) == 1
    assert_row(rows[0], membership, patient_id=patient.pk, object_type="patient", action=Action.READ,
               outcome=Outcome.SUCCESS, **expected)


@listings
def test_owner_lists_patient(ls, client_as, owner, patient, encounter):
    mark = last_audit_id()
    resp = client_as(owner).get(ls.url)
    assert resp.status_code == 200
    assert ls.shows(resp, patient)
    list_rows_ok(rows_since(mark), owner, patient, basis=Basis.CARE)


@listings
def test_colleague_lists_patient(ls, client_as, colleague, patient, encounter):
    mark = last_audit_id()
    resp = client_as(colleague).get(ls.url)
    assert resp.status_code == 200
    assert ls.shows(resp, patient)
    list_rows_ok(rows_since(mark), colleague, patient, basis=Basis.GRANT, grant_id=colleague.grant.pk)


@listings
@pytest.mark.parametrize("who", ["outsider", "revoked_colleague", "expired_colleague"])
def test_no_relationship_lists_nothing(ls, who, request_fixture, client_as, patient, encounter):
    membership = request_fixture(who)
    mark = last_audit_id()
    resp = client_as(membership).get(ls.url)
    assert resp.status_code == 200
    assert f.leaked(resp.content, patient) == []
    if ls.api:
        assert resp.json() == []
    assert rows_since(mark) == []


@listings
def test_break_glass_lists_then_expires(ls, client_as, outsider, patient, encounter):
    glass = f.break_glass(outsider, patient, reason="夜间急诊，患者昏迷")
    client = client_as(outsider)
    mark = last_audit_id()
    resp = client.get(ls.url)
    assert ls.shows(resp, patient)
    list_rows_ok(rows_since(mark), outsider, patient, basis=Basis.BREAK_GLASS, reason="夜间急诊，患者昏迷")

    f.expire_break_glass(glass)
    mark = last_audit_id()
    resp = client.get(ls.url)
    assert f.leaked(resp.content, patient) == []
    assert rows_since(mark) == []


@pytest.fixture
def request_fixture(request):
    """Look a fixture up by name (for parametrising over the trio)."""
    return request.getfixturevalue


# --- registration desks: the writes of the master patient index ---------------------------------------------
#
# The same matrix for the endpoints only a registrar may use: the desk of the institution that registered the
# patient (care), a township desk whose centre holds a referral grant, and a village desk with neither. Each
# write is one audit row (the action's); a refusal is one denied row and a 404 with nothing of the patient.


@dataclass(frozen=True)
class DeskWrite:
    name: str
    url: Callable[[int], str]
    api: bool
    object_type: str
    action: str
    ok: int
    body: dict
    done: Callable  # (patient, membership) -> bool: the write happened


def _claimed(patient, membership) -> bool:
    return patient.care_relations.filter(institution_id=membership.institution_id).exists()


def _card_linked(patient, membership) -> bool:
    return Identifier.objects.filter(patient=patient, type="insurance", value="A12345678").exists()


def _rotated(patient, membership) -> bool:
    return QrToken.objects.filter(patient=patient).count() == 2


INSURANCE = {"type": "insurance", "value": "A12345678", "system": ""}
DESK_WRITES = [
    DeskWrite("api claim", lambda p: f"/api/v1/patients/{p}/claim", True, "patient", Action.UPDATE, 200, {},
              _claimed),
    DeskWrite("api link identifier", lambda p: f"/api/v1/patients/{p}/identifiers", True, "identifier",
              Action.CREATE, 201, INSURANCE, _card_linked),
    DeskWrite("page link identifier", lambda p: reverse("patients:link_identifier", args=[p]), False,
              "identifier", Action.CREATE, 302, INSURANCE, _card_linked),
    DeskWrite("api rotate qr", lambda p: f"/api/v1/patients/{p}/qr/rotate", True, "qr", Action.UPDATE, 200, {},
              _rotated),
    DeskWrite("page rotate qr", lambda p: reverse("patients:rotate_qr", args=[p]), False, "qr", Action.UPDATE,
              302, {}, _rotated),
]
desk_writes = pytest.mark.parametrize("dw", DESK_WRITES, ids=[d.name for d in DESK_WRITES])


def desk_call(client, dw: DeskWrite, patient_id: int):
    if dw.api:
        return client.post(dw.url(patient_id), data=json.dumps(dw.body), content_type="application/json")
    return client.post(dw.url(patient_id), dw.body)


@pytest.fixture
def desks(net, registrar, colleague):
    """(own desk, township desk under the colleague's grant, village desk with nothing)."""
    return (registrar, f.make_membership(net.township, Role.REGISTRAR, username="township-desk"),
            f.make_membership(net.village, Role.REGISTRAR, username="village-desk"))


@desk_writes
def test_desks_that_may_see_the_patient_write(dw, client_as, desks, colleague, patient):
    own, township, _village = desks
    for membership, basis, grant_id in ((own, Basis.CARE, None), (township, Basis.GRANT, colleague.grant.pk)):
        QrToken.objects.filter(patient=patient).exclude(
            pk=QrToken.objects.filter(patient=patient).order_by("pk").first().pk).delete()
        Identifier.objects.filter(patient=patient, type="insurance").delete()
        mark = last_audit_id()
        resp = desk_call(client_as(membership), dw, patient.pk)
        assert resp.status_code == dw.ok, membership.institution.code
        assert dw.done(patient, membership)
        rows = rows_since(mark)
        assert len(rows) == 1
        assert_row(rows[0], membership, patient_id=patient.pk, object_type=dw.object_type, action=dw.action,
                   outcome=Outcome.SUCCESS, basis=basis, grant_id=grant_id)


@desk_writes
def test_a_desk_without_relationship_gets_404_and_writes_nothing(dw, client_as, desks, patient):
    village = desks[2]
    client = client_as(village)
    mark = last_audit_id()
    resp = desk_call(client, dw, patient.pk)
    assert resp.status_code == 404
    assert f.leaked(resp.content, patient) == []
    assert not dw.done(patient, village)
    rows = rows_since(mark)
    assert len(rows) == 1
    assert_row(rows[0], village, patient_id=patient.pk, object_type=dw.object_type, action=dw.action,
               outcome=Outcome.DENIED, basis=Basis.NONE)
    missing = Patient.objects.order_by("-pk").first().pk + 1000
    mark = last_audit_id()
    other = desk_call(client, dw, missing)
    assert other.status_code == 404
    if dw.api:
        assert other.json() == resp.json()
    else:
        assert normalised(other, [dw.url(missing)]) == normalised(resp, [dw.url(patient.pk)])
    assert [r.patient_id for r in rows_since(mark)] == [missing]


# --- the booking window (issue 4) ---------------------------------------------------------------------------------
#
# The same three desks for the booking window's pages: the county desk (care), the township desk (its centre holds
# a referral grant) and the village desk (neither). A page that shows the patient is one read row; a booking,
# cancel or slip is the booking's own row (a reschedule two: the old booking's update, the new one's create). The
# village desk gets 404, one denied row, nothing of the patient and nothing written; a missing id the same 404.


@dataclass(frozen=True)
class BookingPage:
    name: str
    method: str
    url: Callable[[dict], str]
    body: Callable[[dict], dict]
    target: str  # which id the url carries: "patient" or "booking"
    denied: tuple[str, str]  # (object type, action) of the denied row
    rows: tuple[tuple[str, str], ...]  # the success rows
    ok: int
    done: Callable[[dict], bool]  # the write happened (or, for a read, True)


def _booked_free(i) -> bool:
    return Booking.objects.filter(patient_id=i["patient"], slot_id=i["free"], status="booked").exists()


def _cancelled(i) -> bool:
    return Booking.objects.get(pk=i["booking"]).status == "cancelled"


BOOKING_PAGES = [
    BookingPage("page patient's bookings", "get", lambda i: reverse("scheduling:book_patient", args=[i["patient"]]),
                lambda i: {}, "patient", ("patient", Action.READ), (("patient", Action.READ),), 200, lambda i: True),
    BookingPage("page book", "post", lambda i: reverse("scheduling:book_patient", args=[i["patient"]]),
                lambda i: {"slot_id": i["free"], "channel": "phone"}, "patient", ("booking", Action.CREATE),
                (("booking", Action.CREATE),), 302, _booked_free),
    BookingPage("page cancel booking", "post", lambda i: reverse("scheduling:booking_cancel", args=[i["booking"]]),
                lambda i: {"reason": "改期"}, "booking", ("booking", Action.UPDATE), (("booking", Action.UPDATE),),
                302, _cancelled),
    BookingPage("page reschedule booking", "post",
                lambda i: reverse("scheduling:booking_reschedule", args=[i["booking"]]),
                lambda i: {"slot_id": i["free"]}, "booking", ("booking", Action.UPDATE),
                (("booking", Action.UPDATE), ("booking", Action.CREATE)), 302,
                lambda i: _cancelled(i) and _booked_free(i)),
    BookingPage("page booking slip", "get", lambda i: reverse("scheduling:booking_slip", args=[i["booking"]]),
                lambda i: {}, "booking", ("booking", Action.READ), (("booking", Action.READ),), 200, lambda i: True),
]
booking_pages = pytest.mark.parametrize("bp", BOOKING_PAGES, ids=[b.name for b in BOOKING_PAGES])


@pytest.fixture
def clinic(net, registrar):
    return make_clinic(registrar, net.department(net.county))


def booking_ids(registrar, clinic, patient, days_ahead: int) -> dict:
    """A booking of the patient (made by the county desk) and a free slot on the next day."""
    booking = do_book(f.actor(registrar), patient.pk, slots_on(clinic, days_ahead)[0].pk)
    return {"patient": patient.pk, "booking": booking.pk, "free": slots_on(clinic, days_ahead + 1)[0].pk}


def booking_call(client, bp: BookingPage, ids: dict):
    if bp.method == "get":
        return client.get(bp.url(ids))
    return client.post(bp.url(ids), bp.body(ids))


@booking_pages
def test_desks_that_may_see_the_patient_use_the_booking_window(bp, client_as, desks, colleague, patient, clinic):
    own, township, _village = desks
    for k, (membership, basis, grant_id) in enumerate(((own, Basis.CARE, None),
                                                       (township, Basis.GRANT, colleague.grant.pk))):
        ids = booking_ids(own, clinic, patient, 2 + 2 * k)
        mark = last_audit_id()
        resp = booking_call(client_as(membership), bp, ids)
        assert resp.status_code == bp.ok, membership.institution.code
        assert bp.done(ids)
        rows = rows_since(mark)
        assert [(r.object_type, r.action) for r in rows] == list(bp.rows)
        for row in rows:
            assert_row(row, membership, patient_id=patient.pk, object_type=row.object_type, action=row.action,
                       outcome=Outcome.SUCCESS, basis=basis, grant_id=grant_id)


@booking_pages
def test_a_desk_without_relationship_gets_404_from_the_booking_window(bp, client_as, desks, patient, clinic):
    own, _township, village = desks
    ids = booking_ids(own, clinic, patient, 2)
    client = client_as(village)
    before = list(Booking.objects.order_by("pk").values_list("pk", "status"))
    mark = last_audit_id()
    resp = booking_call(client, bp, ids)
    assert resp.status_code == 404
    assert f.leaked(resp.content, patient) == []
    assert list(Booking.objects.order_by("pk").values_list("pk", "status")) == before
    rows = rows_since(mark)
    assert len(rows) == 1
    assert_row(rows[0], village, patient_id=patient.pk, object_type=bp.denied[0], action=bp.denied[1],
               outcome=Outcome.DENIED, basis=Basis.NONE)
    missing = dict(ids, patient=Patient.objects.order_by("-pk").first().pk + 1000,
                   booking=Booking.objects.order_by("-pk").first().pk + 1000)
    other = booking_call(client, bp, missing)
    assert other.status_code == 404
    assert normalised(other, [bp.url(missing)]) == normalised(resp, [bp.url(ids)])
