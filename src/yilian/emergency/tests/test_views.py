"""The pages: the live board (patients only where one may see them) and the tablet page (one tap per node,
conflicts and order errors shown, corrections with a reason)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from yilian.access.models import AuditEvent
from yilian.emergency.actions import NewCase, do_open_case, do_record_node
from yilian.emergency.models import Case, NodeTime
from yilian.emergency.tests.conftest import ago
from yilian.testing import factories as f

HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def page(client_as, owner):
    return client_as(owner, language="en")


def test_board_shows_clocks_and_hides_patients_from_others(page, client_as, outsider, owner, chest_case, patient):
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(95))
    stroke = do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="ems"))
    do_record_node(f.actor(owner), stroke.pk, "door", ago(50))
    resp = page.get(reverse("emergency:board"))
    body = resp.content.decode()
    assert resp.status_code == 200 and patient.masked_name in body
    assert f'data-testid="board-row-{chest_case.pk}" data-state="red"' in body  # 95 minutes > 90
    assert f'data-testid="board-row-{stroke.pk}" data-state="amber"' in body  # 50 minutes: past 45, not 60
    assert reverse("emergency:case", args=[chest_case.pk]) in body
    assert AuditEvent.objects.filter(object_type="green-channel-board", patient_id=patient.pk).count() == 1
    other = client_as(outsider).get(reverse("emergency:board"), **HX)
    assert other.status_code == 200 and f.leaked(other.content, patient) == []
    assert reverse("emergency:case", args=[chest_case.pk]) not in other.content.decode()
    assert f"board-row-{chest_case.pk}" in other.content.decode()  # de-identified line


def test_open_from_the_board_then_tap_nodes(page, owner):
    resp = page.post(reverse("emergency:open"), {"centre": "trauma", "arrival_mode": "ems"})
    case = Case.objects.get()
    assert resp.status_code == 302 and resp.url == reverse("emergency:case", args=[case.pk])
    tablet = page.get(resp.url)
    assert 'data-testid="tap-door"' in tablet.content.decode()
    resp = page.post(reverse("emergency:record", args=[case.pk]), {"node": "door"}, **HX)
    body = resp.content.decode()
    assert resp.status_code == 200 and 'data-testid="done-door"' in body and 'data-testid="tap-door"' not in body
    assert NodeTime.objects.get(case=case).source == "tablet"
    bad = page.post(reverse("emergency:open"), {"centre": "burns", "arrival_mode": "ems"})
    assert bad.status_code == 400 and "open-error" in bad.content.decode()


def test_a_second_tap_shows_the_conflict_and_an_order_error_names_both(page, owner, chest_case):
    do_record_node(f.actor(owner), chest_case.pk, "door", ago(20))
    resp = page.post(reverse("emergency:record", args=[chest_case.pk]), {"node": "door"}, **HX)
    assert resp.status_code == 400 and "already recorded" in resp.content.decode()
    earlier = timezone.localtime(ago(30)).strftime("%Y-%m-%dT%H:%M")
    resp = page.post(reverse("emergency:record", args=[chest_case.pk]), {"node": "wire_crossing", "at": earlier}, **HX)
    body = resp.content.decode()
    assert resp.status_code == 400 and "Wire crossing" in body and "Hospital door" in body
    resp = page.post(reverse("emergency:record", args=[chest_case.pk]), {"node": "first_ecg", "at": "yesterday"}, **HX)
    assert resp.status_code == 400
    assert NodeTime.objects.filter(case=chest_case).count() == 1


def test_correct_from_the_tablet(page, owner, chest_case):
    first = do_record_node(f.actor(owner), chest_case.pk, "door", ago(20))
    at = timezone.localtime(first.at - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    resp = page.post(reverse("emergency:correct", args=[chest_case.pk]),
                     {"node": "door", "at": at, "reason": "时钟错误", "supersedes_id": first.pk}, **HX)
    assert resp.status_code == 200 and "<s>" in resp.content.decode()
    assert NodeTime.objects.filter(case=chest_case).count() == 2
    resp = page.post(reverse("emergency:correct", args=[chest_case.pk]),
                     {"node": "door", "at": at, "reason": "", "supersedes_id": first.pk}, **HX)
    assert resp.status_code == 400


def test_bypass_buttons_for_the_receiving_team(page, chest_case):
    body = page.get(reverse("emergency:case", args=[chest_case.pk])).content.decode()
    assert 'data-testid="bypass-cath_lab"' in body
    resp = page.post(reverse("emergency:bypass", args=[chest_case.pk]), {"to": "cath_lab"}, **HX)
    assert resp.status_code == 200 and "Bypass direction recorded" in resp.content.decode()


def test_an_outsider_gets_404_on_the_tablet_page(client_as, outsider, chest_case, patient):
    client = client_as(outsider)
    for resp in (client.get(reverse("emergency:case", args=[chest_case.pk])),
                 client.post(reverse("emergency:record", args=[chest_case.pk]), {"node": "door"}),
                 client.get(reverse("emergency:case", args=[999999]))):
        assert resp.status_code == 404 and f.leaked(resp.content, patient) == []
    assert not NodeTime.objects.exists()


def test_a_manager_may_not_open_the_board(client_as, manager):
    assert client_as(manager).get(reverse("emergency:board")).status_code == 403


def test_the_receiving_team_sees_the_crews_record_live_in_chinese(client_as, crew, owner, net):
    from yilian.emergency.actions import do_close_case
    from yilian.emergency.dispatch import (
        NewCall,
        Notice,
        Prehospital,
        do_record_prehospital,
        do_send_notice,
        do_take_call,
    )

    call = do_take_call(f.actor(crew), NewCall(received_at=ago(30), address="东山村3组", complaint="胸痛"))
    notice = do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, centre="chest_pain",
                                                  call_id=call.pk, eta=timezone.now() + timedelta(minutes=10),
                                                  provisional_sex="1", provisional_age=60))
    do_record_prehospital(f.actor(crew), call.pk, Prehospital(systolic=90, diastolic=60, heart_rate=110,
                                                              working_diagnosis="急性前壁STEMI"))
    client = client_as(owner)
    body = client.get(reverse("emergency:case", args=[notice.case_id]), **HX).content.decode()
    assert "急性前壁STEMI" in body and "90/60" in body and 'data-state="waiting"' in body
    assert "到达医院大门" in body  # node names in Chinese by default
    do_close_case(f.actor(owner), notice.case_id, "icu")
    body = client.get(reverse("emergency:case", args=[notice.case_id])).content.decode()
    assert 'data-testid="next-nodes"' not in body
    assert f"board-row-{notice.case_id}" not in client.get(reverse("emergency:board")).content.decode()
