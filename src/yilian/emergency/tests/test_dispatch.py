"""120 calls, the ambulance's run, the crew's record, and the pre-arrival notice that opens the green
channel at the receiving hospital and grants it access to the patient."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, Grant
from yilian.emergency.actions import GRANT_HOURS, NewCase, do_identify_patient, do_open_case, do_record_node
from yilian.emergency.dispatch import (
    NewCall,
    Notice,
    Prehospital,
    Treatment,
    do_record_prehospital,
    do_record_run_step,
    do_send_notice,
    do_take_call,
)
from yilian.emergency.models import CallEvent, Case, CaseEvent, EmsCall, PrearrivalNotice, PrehospitalRecord
from yilian.emergency.queries import case_for
from yilian.emergency.tests.conftest import ago
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.testing import factories as f

PHONE = "13912345678"


@pytest.fixture
def call(crew):
    return do_take_call(f.actor(crew), NewCall(received_at=ago(40), address="东山村3组", complaint="胸痛2小时",
                                               caller_phone=PHONE, suspected="chest_pain"))


def test_take_a_call_keeps_the_phone_out_of_the_audit_trail(crew, call):
    assert (call.caller_phone, call.institution_id, call.case_id) == (PHONE, crew.institution_id, None)
    row = AuditEvent.objects.order_by("-pk").first()
    assert (row.object_type, row.action, row.patient_id) == ("ems-call", "create", None)
    assert PHONE not in f"{row.reason}{row.object_id}" and PHONE not in str(call)


def test_bad_call_fields_are_named_at_once(crew):
    with pytest.raises(ActionError) as exc:
        do_take_call(f.actor(crew), NewCall(received_at=timezone.now() + timedelta(hours=2), address=" ",
                                            complaint="胸\x00痛", caller_phone="12345", suspected="cold"))
    assert set(exc.value.errors) == {"received_at", "address", "complaint", "caller_phone", "suspected"}
    assert not EmsCall.objects.exists()


def test_the_run_in_order_once_each(crew, call):
    actor = f.actor(crew)
    do_record_run_step(actor, call.pk, "dispatched", ago(39), vehicle="浙G·120A1")
    do_record_run_step(actor, call.pk, "on_scene", ago(25))
    with pytest.raises(ActionError) as exc:  # departed after on scene
        do_record_run_step(actor, call.pk, "departed", ago(20))
    assert set(exc.value.errors) == {"at"}
    do_record_run_step(actor, call.pk, "departed", ago(37))
    with pytest.raises(ActionError) as exc:
        do_record_run_step(actor, call.pk, "dispatched", ago(38))
    assert set(exc.value.errors) == {"kind"}
    with pytest.raises(ActionError) as exc:
        do_record_run_step(actor, call.pk, "left_scene", ago(50))  # before the call itself
    assert set(exc.value.errors) == {"at"}
    assert list(CallEvent.objects.filter(call=call).values_list("kind", flat=True)) == [
        "dispatched", "departed", "on_scene"]


def test_another_stations_call_is_a_404(outsider, call):
    with pytest.raises(Http404):
        do_record_run_step(f.actor(outsider), call.pk, "dispatched", ago(1))
    with pytest.raises(Http404):
        do_record_prehospital(f.actor(outsider), call.pk, Prehospital(heart_rate=80))
    assert AuditEvent.objects.filter(membership_id=outsider.pk, outcome="denied").count() == 2


def test_prehospital_record_each_update_a_new_row(crew, call):
    actor = f.actor(crew)
    first = do_record_prehospital(actor, call.pk, Prehospital(systolic=150, diastolic=90, heart_rate=102, spo2=95,
                                                              gcs_eye=4, gcs_verbal=5, gcs_motor=6))
    second = do_record_prehospital(actor, call.pk, Prehospital(
        systolic=140, diastolic=85, heart_rate=96, temperature="36.8", glucose=7.2,
        be_fast={"face": True, "arm": True, "speech": False}, ecg_file="ECG-20260301-0042", ecg_at=ago(20),
        ecg_transmitted_at=ago(19), working_diagnosis="急性下壁STEMI",
        treatments=[Treatment("阿司匹林300mg嚼服", ago(18)), Treatment("吸氧")]))
    assert first.gcs == 15 and second.gcs is None
    assert str(second.temperature) == "36.8" and second.be_fast == {"face": True, "arm": True, "speech": False}
    assert second.treatments[1] == {"what": "吸氧", "at": None}
    assert PrehospitalRecord.objects.filter(call=call).count() == 2


def test_bad_prehospital_fields_are_named_at_once(crew, call):
    with pytest.raises(ActionError) as exc:
        do_record_prehospital(f.actor(crew), call.pk, Prehospital(
            systolic=400, spo2=101, temperature="50", gcs_eye=4, be_fast={"legs": True}, ecg_at=ago(10),
            ecg_transmitted_at=ago(12), treatments=[Treatment("")]))
    assert set(exc.value.errors) == {"systolic", "spo2", "temperature", "gcs_eye", "be_fast", "ecg_transmitted_at",
                                     "ecg_file", "treatments.0.what"}
    assert not PrehospitalRecord.objects.exists()


# --- the pre-arrival notice -------------------------------------------------------------------------------


def test_a_crews_notice_opens_the_channel_at_the_receiving_hospital(crew, call, owner, net, outsider):
    notice = do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, centre="chest_pain",
                                                  call_id=call.pk, eta=timezone.now() + timedelta(minutes=15),
                                                  summary="疑似STEMI，已传心电图"))
    case = notice.case
    assert (case.institution_id, case.arrival_mode, case.patient_id, case.centre) == (
        net.county.pk, "ems", None, "chest_pain")
    call.refresh_from_db()
    assert call.case_id == case.pk and notice.grant_id is None  # nobody to grant yet
    assert list(CaseEvent.objects.filter(case=case).values_list("kind", flat=True)) == ["opened", "notice"]
    case_for(f.actor(owner), case.pk)  # the receiving hospital sees it before arrival
    with pytest.raises(Http404):
        case_for(f.actor(outsider), case.pk)
    with pytest.raises(ActionError) as exc:  # the call has its channel
        do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, centre="chest_pain", call_id=call.pk))
    assert set(exc.value.errors) == {"call_id"}
    again = do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, case_id=case.pk, call_id=call.pk,
                                                 summary="10分钟到"))
    assert again.case_id == case.pk and PrearrivalNotice.objects.filter(case=case).count() == 2


def test_a_member_sending_a_patient_up_grants_the_receiving_hospital(net, sender, patient):
    township_patient = f.register_patient(f.make_membership(net.township, Role.REGISTRAR))
    county_doctor = f.make_membership(net.county, Role.DOCTOR, username="cardio")
    assert decide(f.actor(county_doctor), township_patient.pk) is None
    notice = do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="stroke",
                                                    patient_id=township_patient.pk, summary="左侧肢体无力1小时"))
    case = notice.case
    assert (case.arrival_mode, case.transferred_from_id, case.patient_id) == (
        "transfer", net.township.pk, township_patient.pk)
    grant = Grant.objects.get(pk=notice.grant_id)
    assert (grant.kind, grant.to_institution_id, grant.patient_id, grant.source_id) == (
        "green_channel", net.county.pk, township_patient.pk, case.pk)
    assert timedelta(hours=GRANT_HOURS - 1) < grant.valid_to - grant.valid_from <= timedelta(hours=GRANT_HOURS)
    decision = decide(f.actor(county_doctor), township_patient.pk)
    assert decision is not None and decision.grant_id == grant.pk
    do_record_node(f.actor(county_doctor), case.pk, "door", ago(1))


def test_a_notice_for_a_patient_the_sender_may_not_see_is_a_404(net, sender, patient):
    with pytest.raises(Http404):
        do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="stroke",
                                               patient_id=patient.pk))
    assert not Case.objects.exists() and not Grant.objects.filter(kind="green_channel").exists()


def test_bad_notices(net, sender, crew, call):
    with pytest.raises(ActionError) as exc:
        do_send_notice(f.actor(sender), Notice(to_institution_id=999999, centre="cold",
                                               eta=timezone.now() + timedelta(days=3)))
    assert set(exc.value.errors) == {"to_institution_id", "centre", "eta"}
    with pytest.raises(ActionError) as exc:  # sent up to oneself
        do_send_notice(f.actor(sender), Notice(to_institution_id=net.township.pk, centre="stroke"))
    assert set(exc.value.errors) == {"to_institution_id"}
    with pytest.raises(Http404):  # another station's call
        do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="stroke", call_id=call.pk))
    assert not Case.objects.exists()


def test_identified_by_the_sender_after_the_notice_grants_the_receiver(net, sender, crew):
    township_patient = f.register_patient(f.make_membership(net.township, Role.REGISTRAR))
    notice = do_send_notice(f.actor(sender), Notice(to_institution_id=net.county.pk, centre="neonatal"))
    assert notice.grant_id is None
    do_identify_patient(f.actor(sender), notice.case_id, township_patient.pk)
    grant = Grant.objects.get(kind="green_channel", patient=township_patient)
    assert (grant.to_institution_id, grant.source_id) == (net.county.pk, notice.case_id)


def test_the_hospitals_own_ambulance_notifies_itself_without_a_grant(crew, call, owner, patient, net):
    case = do_open_case(f.actor(owner), NewCase(centre="chest_pain", arrival_mode="ems", patient_id=patient.pk))
    notice = do_send_notice(f.actor(crew), Notice(to_institution_id=net.county.pk, case_id=case.pk, call_id=call.pk))
    assert notice.grant_id is None and notice.case_id == case.pk


def test_the_crews_times_become_the_cases_nodes_without_overwriting(crew, call, owner, net):
    from yilian.emergency.queries import current_nodes

    actor = f.actor(crew)
    do_record_run_step(actor, call.pk, "dispatched", ago(39))
    do_record_run_step(actor, call.pk, "on_scene", ago(30))
    notice = do_send_notice(actor, Notice(to_institution_id=net.county.pk, centre="chest_pain", call_id=call.pk))
    case_id = notice.case_id
    assert {k: v.at for k, v in current_nodes(case_id).items()} == {
        "first_medical_contact": CallEvent.objects.get(call=call, kind="on_scene").at}
    record = do_record_prehospital(actor, call.pk, Prehospital(ecg_file="ECG-7", ecg_at=ago(27),
                                                               ecg_transmitted_at=ago(26)))
    nodes = current_nodes(case_id)
    assert (nodes["first_ecg"].at, nodes["ecg_transmitted"].at) == (record.ecg_at, record.ecg_transmitted_at)
    assert nodes["ecg_transmitted"].source == "prehospital" and nodes["ecg_transmitted"].membership_id == crew.pk
    tablet_door = do_record_node(f.actor(owner), case_id, "door", ago(5))  # triage tapped it first
    do_record_run_step(actor, call.pk, "arrived", ago(4))
    assert current_nodes(case_id)["door"].pk == tablet_door.pk
    mirrored = CaseEvent.objects.filter(case_id=case_id, kind="mirrored").order_by("pk")
    assert [e.data["nodes"] for e in mirrored] == [
        {"first_medical_contact": "recorded"}, {"first_ecg": "recorded", "ecg_transmitted": "recorded"},
        {"door": "kept"}]
    do_record_prehospital(actor, call.pk, Prehospital(ecg_file="ECG-8", ecg_at=ago(50)))  # before the contact
    assert CaseEvent.objects.filter(case_id=case_id, kind="mirrored").last().data["nodes"] == {"first_ecg": "kept"}
