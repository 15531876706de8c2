"""Actions given an explicit time (`at`): a record entered afterwards, or the demo's history. Omitted, the
time is the server's (the other tests); given, it must carry a time zone, not lie in the future, and not
come before the call or the case it belongs to."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from yilian.access.models import CareRelation, Grant
from yilian.emergency.actions import NewCase, do_direct_bypass, do_identify_patient, do_open_case
from yilian.emergency.dispatch import (
    NewCall,
    Notice,
    Prehospital,
    do_record_prehospital,
    do_send_notice,
    do_take_call,
)
from yilian.emergency.models import Case, CaseEvent, PrearrivalNotice, PrehospitalRecord
from yilian.emergency.tests.conftest import ago
from yilian.errors import ActionError
from yilian.patients.actions import do_check_in_many
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db


def bad_times():
    return [datetime(2026, 1, 1, 8, 0), timezone.now() + timedelta(hours=1),
            datetime(1999, 12, 31, tzinfo=timezone.get_current_timezone())]


def test_open_a_case_in_the_past(owner, patient):
    at = ago(3 * 24 * 60)
    case = do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk), at=at)
    assert case.opened_at == at
    assert CaseEvent.objects.get(case=case, kind="opened").at == at
    assert CareRelation.objects.get(source_type="green_channel", source_id=case.pk).since == at


@pytest.mark.parametrize("index", range(3))
def test_open_refuses_a_bad_time(owner, patient, index):
    with pytest.raises(ActionError) as exc:
        do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk),
                     at=bad_times()[index])
    assert set(exc.value.errors) == {"at"}
    assert not Case.objects.exists()


def test_open_without_a_time_is_now(owner, patient):
    before = timezone.now()
    case = do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="self", patient_id=patient.pk))
    assert before <= case.opened_at <= timezone.now()


@pytest.fixture
def old_call(crew):
    return do_take_call(f.actor(crew), NewCall(received_at=ago(600), address="东山村3组", complaint="胸痛",
                                               suspected="chest_pain"))


def test_a_notice_entered_afterwards(sender, net):
    # a township centre sends an unidentified patient up: the case opens at the notice's time
    at = ago(2 * 24 * 60)
    notice = do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="stroke"), at=at)
    assert notice.sent_at == at and notice.case.opened_at == at and notice.case.arrival_mode == "transfer"
    assert CaseEvent.objects.get(case=notice.case, kind="notice").at == at


def test_a_notice_from_the_crew_in_the_past_links_the_call(crew, old_call, net):
    at = ago(590)
    notice = do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, centre="chest_pain",
                                                  call_id=old_call.pk), at=at)
    assert (notice.sent_at, notice.case.opened_at, notice.case.arrival_mode) == (at, at, "ems")
    old_call.refresh_from_db()
    assert old_call.case_id == notice.case_id


def test_a_notice_cannot_precede_its_call_or_lie_ahead(crew, old_call, net):
    for at in (ago(601), timezone.now() + timedelta(hours=1)):
        with pytest.raises(ActionError) as exc:
            do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, centre="chest_pain",
                                                 call_id=old_call.pk), at=at)
        assert "at" in exc.value.errors
    assert not PrearrivalNotice.objects.exists() and not Case.objects.exists()


def test_the_grant_of_a_notice_sent_in_the_past(sender, net):
    registrar = f.make_membership(net.township, "registrar", username="town-desk")
    patient = f.register_patient(f.make_membership(net.county, "registrar", username="county-desk"))
    do_check_in_many(f.actor(registrar), [patient.resident_id])
    at = ago(24 * 60)
    notice = do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="trauma",
                                                    patient_id=patient.pk), at=at)
    grant = Grant.objects.get(pk=notice.grant_id)
    assert (grant.valid_from, grant.valid_to) == (at, at + timedelta(hours=72))


def test_a_record_entered_afterwards(crew, old_call):
    at = ago(580)
    record = do_record_prehospital(f.actor(crew), old_call.pk, Prehospital(heart_rate=88), at=at)
    assert record.recorded_at == at
    with pytest.raises(ActionError) as exc:
        do_record_prehospital(f.actor(crew), old_call.pk, Prehospital(heart_rate=88), at=ago(601))
    assert set(exc.value.errors) == {"at"}
    assert PrehospitalRecord.objects.count() == 1


def test_bypass_and_identification_in_the_past(owner, patient):
    opened = ago(120)
    case = do_open_case(f.actor(owner), NewCase(centre="chest_pain", arrival_mode="ems", provisional_sex="1",
                                                provisional_age=60), at=opened)
    with pytest.raises(ActionError) as exc:
        do_direct_bypass(f.actor(owner), case.pk, "cath_lab", at=ago(121))
    assert set(exc.value.errors) == {"at"}
    at = ago(100)
    assert do_direct_bypass(f.actor(owner), case.pk, "cath_lab", at=at).at == at
    with pytest.raises(ActionError):
        do_identify_patient(f.actor(owner), case.pk, patient.pk, at=timezone.now() + timedelta(hours=1))
    when = ago(90)
    do_identify_patient(f.actor(owner), case.pk, patient.pk, at=when)
    assert CaseEvent.objects.get(case=case, kind="identified").at == when
    assert CareRelation.objects.get(source_type="green_channel", source_id=case.pk).since == when
