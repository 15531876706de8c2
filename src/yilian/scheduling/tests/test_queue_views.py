"""Queue pages: the desk's form (good and bad input, both languages), the doctor's buttons through htmx,
and the waiting-room display, which never shows a full name, a resident ID or a phone."""

from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.network.roles import Role
from yilian.scheduling.models import QueueEntry
from yilian.scheduling.queue import CheckIn, do_call_next, do_queue_check_in
from yilian.testing import factories as f
from yilian.testing.checks import LANGUAGES, contains, form_errors, is_english, marked_invalid, row_counts

pytestmark = pytest.mark.usefixtures("fees")
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def internal(net):
    return net.department(net.county)


def queued(registrar, patient, department) -> QueueEntry:
    return do_queue_check_in(f.actor(registrar), CheckIn(code=patient.resident_id, department_id=department.pk))


def test_desk_checks_in_and_shows_the_number(client_as, registrar, patient, internal):
    client = client_as(registrar)
    page = client.get(reverse("scheduling:desk"))
    assert page.status_code == 200
    assert contains(page, 'name="code"')
    resp = client.post(reverse("scheduling:desk"), {"code": patient.resident_id, "department": internal.pk,
                                                    "disabled": "on"}, **HTMX)
    assert resp.status_code == 200
    entry = QueueEntry.objects.get()
    assert entry.priority == 3
    assert contains(resp, 'data-testid="ticket-number">1<')
    assert "<html" not in resp.content.decode()  # htmx gets the part it swaps
    assert f.leaked(resp.content, patient) == []


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize(("data", "field", "english"), [
    ({"code": ""}, "code", "required"),
    ({"code": "1" * 65}, "code", "at most 64"),
    ({"code": "not-a-token!"}, "code", "QR code is not valid"),
    ({"code": "20990101-1-1"}, "code", "No booking with this number"),
    ({"code": "RESIDENT"}, "department", "choose a department"),
    ({"code": "x", "department": "999999"}, "department", "valid choice"),
])
def test_desk_bad_input(client_as, registrar, patient, lang, data, field, english):
    if data["code"] == "RESIDENT":
        data = {"code": patient.resident_id}
    client = client_as(registrar, **LANGUAGES[lang])
    before = row_counts("scheduling.QueueEntry", "scheduling.Registration")
    resp = client.post(reverse("scheduling:desk"), data)
    assert resp.status_code == 400
    errors = form_errors(resp)
    assert field in errors
    assert marked_invalid(resp, field)
    if lang == "en":
        assert english in " ".join(errors[field])
        assert all(is_english(e) for e in errors[field])
    assert row_counts("scheduling.QueueEntry", "scheduling.Registration") == before


def test_desk_is_for_the_register_capability(client_as, owner):
    assert client_as(owner).get(reverse("scheduling:desk")).status_code == 403


def test_doctor_calls_through_htmx(client_as, registrar, owner, patient, internal):
    entry = queued(registrar, patient, internal)
    client = client_as(owner)
    page = client.get(reverse("scheduling:doctor"))  # the doctor's own department
    assert page.status_code == 200
    assert contains(page, 'data-testid="call-next"')
    assert f.leaked(page.content, patient) == []
    resp = client.post(reverse("scheduling:call_next"), {"department": internal.pk}, **HTMX)
    assert resp.status_code == 200
    assert contains(resp, f'data-testid="current-{entry.number}"')
    entry.refresh_from_db()
    assert entry.status == "called"
    for move, status in (("recall", "called"), ("start", "in_room"), ("end", "done")):
        resp = client.post(reverse("scheduling:move", args=[entry.pk, move]), **HTMX)
        assert resp.status_code == 200
        entry.refresh_from_db()
        assert entry.status == status
    resp = client.post(reverse("scheduling:move", args=[entry.pk, "start"]), **HTMX)
    assert resp.status_code == 400
    assert contains(resp, 'data-testid="queue-error"')
    empty = client.post(reverse("scheduling:call_next"), {"department": internal.pk}, **HTMX)
    assert empty.status_code == 400


def test_doctor_pages_answer_404_outside(client_as, registrar, patient, internal, outsider):
    entry = queued(registrar, patient, internal)
    client = client_as(outsider)
    assert client.post(reverse("scheduling:move", args=[entry.pk, "recall"])).status_code == 404
    assert client.post(reverse("scheduling:call_next"), {"department": internal.pk}).status_code == 404
    assert client.get(reverse("scheduling:display", args=[internal.pk])).status_code == 404
    assert client.get(reverse("scheduling:display_board", args=[internal.pk])).status_code == 404
    assert client.get(reverse("scheduling:doctor"), {"department": internal.pk}).status_code == 400


def test_display_masks_and_polls(client_as, net, registrar, owner, internal):
    people = [f.register_patient(registrar, name=name, born=date(1980, 1, 1))
              for name in ("张小伟", "李明", "欧阳小明", "阿依·买买提")]
    for person in people:
        queued(registrar, person, internal)
    do_call_next(f.actor(owner), internal.pk)
    screen = f.make_membership(net.county, Role.NURSE)
    client = client_as(screen)
    page = client.get(reverse("scheduling:display", args=[internal.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'hx-trigger="every 5s"' in html
    assert "张*伟" in html and "李*" in html and "欧**明" in html and "阿****提" in html
    board = client.get(reverse("scheduling:display_board", args=[internal.pk]))
    for body in (page.content, board.content):
        for person in people:
            assert f.leaked(body, person) == []
    assert "<html" not in board.content.decode()


def test_display_needs_a_login(client, internal):
    resp = client.get(reverse("scheduling:display", args=[internal.pk]))
    assert resp.status_code == 302
    assert "login" in resp["Location"]


def test_doctor_page_audits_each_patient_shown(client_as, registrar, owner, patient, internal):
    queued(registrar, patient, internal)
    mark = AuditEvent.objects.count()
    client_as(owner).get(reverse("scheduling:doctor"))
    rows = list(AuditEvent.objects.order_by("pk")[mark:].values_list("object_type", "patient_id", "action"))
    assert rows == [("queue", patient.pk, "read")]


def test_desk_records_an_earlier_arrival_and_the_doctor(client_as, registrar, owner, patient, internal):
    local = timezone.localtime()
    if local.hour == 0 and local.minute < 30:
        pytest.skip("the arrival would be yesterday")
    arrived = (local - timedelta(minutes=20)).replace(second=0, microsecond=0)
    resp = client_as(registrar).post(reverse("scheduling:desk"), {
        "code": patient.resident_id, "department": internal.pk, "doctor": owner.staff_id,
        "arrived": arrived.strftime("%H:%M")})
    assert resp.status_code == 200
    entry = QueueEntry.objects.get()
    assert entry.arrived_at == arrived
    assert entry.doctor_id == owner.staff_id
    assert entry.checked_in_at > entry.arrived_at


def test_desk_refuses_a_future_arrival(client_as, registrar, patient, internal):
    local = timezone.localtime()
    if local.hour == 23 and local.minute >= 30:
        pytest.skip("the arrival would be tomorrow")
    later = (local + timedelta(minutes=20)).strftime("%H:%M")
    resp = client_as(registrar).post(reverse("scheduling:desk"), {
        "code": patient.resident_id, "department": internal.pk, "arrived": later})
    assert resp.status_code == 400
    assert list(form_errors(resp)) == ["arrived"]
    assert not QueueEntry.objects.exists()


def test_buttons_work_without_javascript(client_as, registrar, owner, patient, internal):
    entry = queued(registrar, patient, internal)
    client = client_as(owner)
    resp = client.post(reverse("scheduling:call_next"), {"department": internal.pk})
    assert resp.status_code == 302
    assert resp["Location"] == f"{reverse('scheduling:doctor')}?department={internal.pk}"
    assert client.post(reverse("scheduling:move", args=[entry.pk, "skip"])).status_code == 302
    entry.refresh_from_db()
    assert entry.status == "skipped"
    page = client.get(resp["Location"])
    assert contains(page, reverse("scheduling:move", args=[entry.pk, "requeue"]))
