"""Two-way referral: send up with a reserved slot and a grant, accept, arrive, close; reject, redirect,
cancel; a referral down with its follow-up plan; escalation past the deadline; every refusal names its
field and leaves nothing behind."""

from datetime import timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, Grant
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.referrals import actions as a
from yilian.referrals.models import FollowUp, Referral, ReferralEvent, Status
from yilian.referrals.tests.conftest import up
from yilian.scheduling.models import Booking, BookingStatus, Channel, Message, Slot
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

COUNTED = ("referrals.Referral", "referrals.ReferralEvent", "access.Grant", "scheduling.Booking",
           "scheduling.Message")


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*COUNTED)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*COUNTED) == before
    return exc.value.errors


def test_send_up_with_a_reserved_slot_then_accept_arrive_close(net, township_doctor, county_doctor, villager,
                                                               clinic):
    county = f.actor(county_doctor)
    assert decide(county, villager.pk) is None  # the county has no relationship with the patient yet
    slot = slots_on(clinic, 3)[0]
    assert slot.reserved == 1
    referral = a.do_refer(f.actor(township_doctor), up(net, villager, slot_id=slot.pk))
    assert referral.number.startswith("ZZ") and referral.status == Status.SENT
    assert referral.diagnosis_name == "脑梗死"
    assert referral.deadline_at == referral.created_at + timedelta(hours=4)
    booking = Booking.objects.get(pk=referral.booking_id)
    assert (booking.channel, booking.slot_id, booking.patient_id) == (Channel.REFERRAL, slot.pk, villager.pk)
    assert Slot.objects.get(pk=slot.pk).referral_booked == 1
    assert decide(county, villager.pk) is not None  # the grant (and the booking's care relation)
    assert referral.number in Message.objects.get(patient=villager).text

    referral = a.do_accept(county, referral.pk)
    assert referral.status == Status.ACCEPTED and referral.accepted_at
    referral = a.do_arrive(county, referral.pk)
    assert referral.status == Status.ARRIVED
    referral = a.do_close(county, referral.pk)
    grant = Grant.objects.get(pk=referral.grant_id)
    assert grant.revoked_at is None
    assert abs(grant.valid_to - (referral.closed_at + timedelta(days=a.GRANT_DAYS))) < timedelta(seconds=1)
    kinds = list(ReferralEvent.objects.filter(referral=referral).values_list("kind", flat=True))
    assert kinds == ["sent", "accepted", "arrived", "closed"]
    rows = AuditEvent.objects.filter(object_type="referral", object_id=str(referral.pk))
    assert rows.count() == 4 and {r.patient_id for r in rows} == {villager.pk}


def test_reject_releases_the_place_and_ends_access_at_once(net, township_doctor, county_doctor, villager,
                                                           clinic):
    slot = slots_on(clinic, 3)[0]
    referral = a.do_refer(f.actor(township_doctor), up(net, villager, slot_id=slot.pk, to_department_id=None))
    county = f.actor(county_doctor)
    assert set(refused(a.do_reject, county, referral.pk, "  ")) == {"reason"}
    referral = a.do_reject(county, referral.pk, "本院神经内科床位已满")
    assert referral.status == Status.REJECTED
    assert Booking.objects.get(pk=referral.booking_id).status == BookingStatus.CANCELLED
    assert Slot.objects.get(pk=slot.pk).booked == 0
    assert Grant.objects.get(pk=referral.grant_id).revoked_at is not None
    # The cancelled booking's care relation and the grant are both gone: the county no longer sees them.
    assert decide(county, villager.pk) is None
    with pytest.raises(Http404):
        a.do_accept(county, referral.pk)


def test_two_steps_at_once_leave_one(net, township_doctor, county_doctor, villager):
    referral = a.do_refer(f.actor(township_doctor), up(net, villager))
    county = f.actor(county_doctor)
    a.do_accept(county, referral.pk)
    assert "status" in refused(a.do_reject, county, referral.pk, "迟到的拒绝")
    assert "status" in refused(a.do_accept, county, referral.pk)


def test_redirect_moves_the_grant_and_resets_the_deadline(net, township_doctor, county_doctor, villager):
    from yilian.network.models import Institution, InstitutionKind

    tcm = Institution.objects.create(consortium=net.consortium, code="TCM-1", name="测试县中医医院",
                                     short_name="县中医院", kind=InstitutionKind.TCM,
                                     division_code=net.county.division_code, parent=net.county)
    referral = a.do_refer(f.actor(township_doctor), up(net, villager))
    old_grant = referral.grant_id
    county = f.actor(county_doctor)
    errors = refused(a.do_redirect, county, referral.pk, net.village.pk, "不对")
    assert set(errors) == {"to_institution_id"}  # a village clinic is not up from a township centre
    referral = a.do_redirect(county, referral.pk, tcm.pk, "中医骨伤科更合适")
    assert referral.status == Status.SENT and referral.to_institution_id == tcm.pk
    assert Grant.objects.get(pk=old_grant).revoked_at is not None
    assert Grant.objects.get(pk=referral.grant_id).to_institution_id == tcm.pk
    with pytest.raises(Http404):  # no longer the county's
        a.do_accept(county, referral.pk)


def test_refer_down_hands_the_follow_up_plan_to_the_family_doctor(net, county_doctor, township_doctor, villager):
    f.grant(villager, to_institution=net.county)  # the county cares for the patient
    plan = "每两周测血压，一月后复查肾功能"
    data = up(net, villager, direction="down", setting="inpatient", urgency="routine",
              to_institution_id=net.township.pk, to_department_id=None, diagnosis_code="I10",
              follow_up_plan=plan, follow_up_staff_id=township_doctor.staff_id)
    referral = a.do_refer(f.actor(county_doctor), data)
    referral = a.do_arrive(f.actor(township_doctor), referral.pk)
    follow_up = FollowUp.objects.get(referral=referral)
    assert (follow_up.assignee_id, follow_up.plan, follow_up.institution_id) == (
        township_doctor.staff_id, plan, net.township.pk)


def test_bad_referrals_name_every_field_and_save_nothing(net, township_doctor, villager, clinic, registrar):
    doctor = f.actor(township_doctor)
    other_clinic_slot = slots_on(clinic, 3)[0]
    errors = refused(a.do_refer, doctor, up(
        net, villager, direction="sideways", setting="ward", urgency="now", diagnosis_code="X99",
        reason="", summary="x" * 4001, shared=[{"type": "encounter", "id": 999999}]))
    assert set(errors) >= {"direction", "setting", "urgency", "diagnosis_code", "reason", "summary", "shared"}
    errors = refused(a.do_refer, doctor, up(net, villager, to_institution_id=net.village.pk, to_department_id=None))
    assert set(errors) == {"to_institution_id"}
    errors = refused(a.do_refer, doctor, up(net, villager, to_department_id=net.department(net.township).pk))
    assert set(errors) == {"to_department_id"}
    errors = refused(a.do_refer, doctor, up(net, villager, direction="down", to_institution_id=net.county.pk))
    assert set(errors) == {"to_institution_id", "follow_up_plan"}
    errors = refused(a.do_refer, doctor, up(net, villager, setting="inpatient", slot_id=other_clinic_slot.pk))
    assert set(errors) == {"slot_id"}
    errors = refused(a.do_refer, doctor, up(net, villager, bed_requested=True))
    assert set(errors) == {"bed_requested"}
    errors = refused(a.do_refer, doctor, up(net, villager, slot_id=10**9))
    assert set(errors) == {"slot_id"}
    nurse = f.actor(f.make_membership(net.township, Role.NURSE))  # sees patients, does not refer them
    assert set(refused(a.do_refer, nurse, up(net, villager))) == {"role"}
    stranger = f.register_patient(registrar)  # registered at the county: the township may not see them
    with pytest.raises(Http404):
        a.do_refer(doctor, up(net, stranger))
    assert not Referral.objects.exists()


def test_cancel_by_the_sender_only(net, township_doctor, county_doctor, villager, clinic):
    referral = a.do_refer(f.actor(township_doctor), up(net, villager, slot_id=slots_on(clinic, 3)[0].pk))
    with pytest.raises(Http404):
        a.do_cancel(f.actor(f.make_membership(net.county, Role.REGISTRAR)), referral.pk, "不去了")
    referral = a.do_cancel(f.actor(township_doctor), referral.pk, "患者决定暂不转诊")
    assert referral.status == Status.CANCELLED
    assert Grant.objects.get(pk=referral.grant_id).revoked_at is not None


def test_escalation_past_the_deadline_once(net, township_doctor, villager):
    urgent = a.do_refer(f.actor(township_doctor), up(net, villager, urgency="emergency"))
    routine = a.do_refer(f.actor(township_doctor), up(net, villager, urgency="routine"))
    assert a.do_escalate_overdue(timezone.now() + timedelta(minutes=29)) == 0
    assert a.do_escalate_overdue(timezone.now() + timedelta(minutes=31)) == 1
    assert a.do_escalate_overdue(timezone.now() + timedelta(minutes=40)) == 0  # once
    urgent.refresh_from_db()
    routine.refresh_from_db()
    assert urgent.escalated_at and routine.escalated_at is None
    assert ReferralEvent.objects.filter(referral=urgent, kind="escalated").count() == 1
