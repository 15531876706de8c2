"""The batch forms (`referrals/batch.py`): past times, the single forms' checks per item, one transaction."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.access.models import AuditEvent, Grant
from yilian.errors import ActionError
from yilian.referrals.batch import PastReferral, Step, do_escalate_many, do_refer_many, do_steps_many
from yilian.referrals.models import FollowUp, Referral, ReferralEvent, Status
from yilian.referrals.tests.conftest import up
from yilian.scheduling.models import Message
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db


def test_refer_many_writes_at_the_past_time(net, township_doctor, villager):
    at = timezone.now() - timedelta(days=20)
    (referral,) = do_refer_many(f.actor(township_doctor), [PastReferral(up(net, villager), at)])
    assert referral.created_at == at and referral.deadline_at == at + timedelta(hours=4)
    assert referral.number == f"ZZ{timezone.localtime(at):%Y%m%d}{referral.pk:06d}"
    grant = Grant.objects.get(pk=referral.grant_id)
    assert grant.valid_from == at and grant.to_institution_id == net.county.pk
    assert ReferralEvent.objects.get(referral=referral).at == at
    assert Message.objects.get(patient=villager).created_at == at
    assert AuditEvent.objects.filter(object_type="referral", object_id=str(referral.pk)).count() == 1


def test_refer_many_refuses_bad_items_by_index_and_writes_nothing(net, township_doctor, villager):
    good = PastReferral(up(net, villager), timezone.now() - timedelta(days=1))
    with pytest.raises(ActionError) as exc:
        do_refer_many(f.actor(township_doctor), [good, PastReferral(up(net, villager), timezone.now() + timedelta(hours=1))])
    assert "referrals.1.at" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_refer_many(f.actor(township_doctor), [good, PastReferral(up(net, villager, to_institution_id=net.township.pk),
                                                                    timezone.now() - timedelta(days=1))])
    assert "referrals.1.to_institution_id" in exc.value.errors
    assert not Referral.objects.exists()


def test_steps_accept_arrive_close_and_reject_at_their_times(net, township_doctor, county_doctor, villager):
    t0 = timezone.now() - timedelta(days=10)
    first, second = do_refer_many(f.actor(township_doctor), [PastReferral(up(net, villager), t0),
                                                             PastReferral(up(net, villager), t0 + timedelta(days=1))])
    county = f.actor(county_doctor)
    do_steps_many(county, [Step(first.pk, "accept", t0 + timedelta(minutes=30)),
                           Step(first.pk, "arrive", t0 + timedelta(hours=5)),
                           Step(first.pk, "close", t0 + timedelta(hours=7)),
                           Step(second.pk, "reject", t0 + timedelta(days=1, hours=1), "本院床位已满")])
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.CLOSED and first.accepted_at == t0 + timedelta(minutes=30)
    assert Grant.objects.get(pk=first.grant_id).valid_to == t0 + timedelta(hours=7, days=30)
    assert second.status == Status.REJECTED and Grant.objects.get(pk=second.grant_id).revoked_at == second.rejected_at
    assert list(first.events.values_list("kind", flat=True)) == ["sent", "accepted", "arrived", "closed"]
    with pytest.raises(ActionError) as exc:  # closed: no step starts from there
        do_steps_many(county, [Step(first.pk, "accept", t0 + timedelta(days=2))])
    assert "steps.0.status" in exc.value.errors


def test_steps_refuse_a_time_before_the_last_step_and_a_reject_without_reason(net, township_doctor, county_doctor,
                                                                              villager):
    t0 = timezone.now() - timedelta(days=3)
    (referral,) = do_refer_many(f.actor(township_doctor), [PastReferral(up(net, villager), t0)])
    with pytest.raises(ActionError) as exc:
        do_steps_many(f.actor(county_doctor), [Step(referral.pk, "accept", t0 - timedelta(minutes=1))])
    assert "steps.0.at" in exc.value.errors
    with pytest.raises(ActionError) as exc:
        do_steps_many(f.actor(county_doctor), [Step(referral.pk, "reject", t0 + timedelta(minutes=5))])
    assert "steps.0.reason" in exc.value.errors
    with pytest.raises(ActionError):  # the sender's institution does not receive it
        do_steps_many(f.actor(township_doctor), [Step(referral.pk, "accept", t0 + timedelta(minutes=5))])
    assert Referral.objects.get(pk=referral.pk).status == Status.SENT


def test_a_down_referral_hands_its_plan_to_the_family_doctor(net, township_doctor, county_doctor, villager):
    f.grant(villager, to_institution=net.county)  # the county cares for the patient
    t0 = timezone.now() - timedelta(days=5)
    data = up(net, villager, direction="down", to_institution_id=net.township.pk,
              to_department_id=net.department(net.township).pk, follow_up_plan="每周测血压",
              follow_up_staff_id=township_doctor.staff_id, diagnosis_code="I10")
    (referral,) = do_refer_many(f.actor(county_doctor), [PastReferral(data, t0)])
    do_steps_many(f.actor(township_doctor), [Step(referral.pk, "arrive", t0 + timedelta(days=1))])
    follow_up = FollowUp.objects.get(referral=referral)
    assert follow_up.assignee_id == township_doctor.staff_id and follow_up.created_at == t0 + timedelta(days=1)


def test_escalate_many_only_past_the_deadline_once(net, township_doctor, villager):
    t0 = timezone.now() - timedelta(days=2)
    (referral,) = do_refer_many(f.actor(township_doctor), [PastReferral(up(net, villager), t0)])
    with pytest.raises(ActionError):
        do_escalate_many([(referral.pk, t0 + timedelta(hours=1))])  # the deadline is 4 h
    assert do_escalate_many([(referral.pk, t0 + timedelta(hours=4, minutes=2))]) == 1
    with pytest.raises(ActionError):
        do_escalate_many([(referral.pk, t0 + timedelta(hours=5))])
    assert ReferralEvent.objects.filter(referral=referral, kind="escalated").count() == 1
