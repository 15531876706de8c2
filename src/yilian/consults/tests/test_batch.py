"""The batch forms (`consults/batch.py`): whole past consultations and guided operations at their times."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.access.models import AuditEvent, Grant
from yilian.consults.batch import PastConsultation, do_record_consultations, do_record_operations
from yilian.consults.models import ConsultationExpert, GuidedOperation, Opinion, Status
from yilian.consults.operations import NewGuidedOperation
from yilian.consults.tests.conftest import ask
from yilian.errors import ActionError
from yilian.testing import factories as f

pytestmark = pytest.mark.django_db


def answered(patient, expert, t0, **overrides) -> PastConsultation:
    item = PastConsultation(data=ask(patient), at=t0, expert=expert, taken_at=t0 + timedelta(minutes=20),
                            opinion="建议完善冠脉CTA", drafted_at=t0 + timedelta(hours=1),
                            signed_at=t0 + timedelta(hours=1, minutes=5), confirmed_at=t0 + timedelta(hours=3))
    for name, value in overrides.items():
        setattr(item, name, value)
    return item


def test_records_a_whole_consultation_at_its_times(township_doctor, villager, expert):
    t0 = timezone.now() - timedelta(days=12)
    amendment = (t0 + timedelta(hours=2), "建议完善冠脉CTA，1周后复诊", "补充复诊时间")
    (c,) = do_record_consultations(f.actor(township_doctor), [answered(villager, expert, t0, amendment=amendment)])
    assert (c.status, c.created_at, c.signed_at) == (Status.CONFIRMED, t0, t0 + timedelta(hours=1, minutes=5))
    assert c.number.startswith(f"HZ{timezone.localtime(t0):%Y%m%d}")
    lead = ConsultationExpert.objects.get(consultation=c)
    grant = Grant.objects.get(pk=lead.grant_id)
    assert grant.valid_from == t0 + timedelta(minutes=20) and grant.valid_to == t0 + timedelta(hours=3, days=30)
    assert list(Opinion.objects.filter(consultation=c).values_list("version", "amends__version")) == [(1, None), (2, 1)]
    assert list(c.events.values_list("kind", flat=True)) == ["requested", "claimed", "drafted", "signed", "amended",
                                                              "confirmed"]
    assert AuditEvent.objects.filter(object_type="consultation", object_id=str(c.pk)).count() == 6


def test_refuses_steps_out_of_order_an_mdt_without_contribution_and_a_wrong_claim(net, township_doctor, villager,
                                                                                  expert, expert2, partner_expert):
    t0 = timezone.now() - timedelta(days=2)
    actor = f.actor(township_doctor)
    with pytest.raises(ActionError) as exc:
        do_record_consultations(actor, [answered(villager, expert, t0, signed_at=t0 + timedelta(minutes=30))])
    assert "consultations.0.signed_at" in exc.value.errors
    mdt = answered(villager, expert, t0)
    mdt.data.mdt = True
    with pytest.raises(ActionError) as exc:
        do_record_consultations(actor, [mdt])
    assert "consultations.0.contributions" in exc.value.errors
    mdt.panel = [(expert2, t0 + timedelta(minutes=40), "同意")]
    (c,) = do_record_consultations(actor, [mdt])
    assert c.mdt and ConsultationExpert.objects.filter(consultation=c).count() == 2
    with pytest.raises(ActionError) as exc:  # a partner's expert cannot claim a request to the centre
        do_record_consultations(actor, [answered(villager, partner_expert, t0)])
    assert "consultations.0.expert" in exc.value.errors


def test_a_cancelled_request_and_the_future_are_refused_or_recorded(township_doctor, villager):
    t0 = timezone.now() - timedelta(days=1)
    item = PastConsultation(data=ask(villager), at=t0, cancelled_at=t0 + timedelta(minutes=10), cancel_reason="患者转院")
    (c,) = do_record_consultations(f.actor(township_doctor), [item])
    assert c.status == Status.CANCELLED and c.cancelled_at == t0 + timedelta(minutes=10)
    with pytest.raises(ActionError) as exc:
        do_record_consultations(f.actor(township_doctor), [PastConsultation(
            data=ask(villager), at=timezone.now() + timedelta(minutes=5))])
    assert "consultations.0.at" in exc.value.errors


def test_records_guided_operations_with_their_time(net, township_doctor, villager, expert):
    at = timezone.now() - timedelta(days=30)
    data = NewGuidedOperation(patient_id=villager.pk, procedure="清创缝合术", performed_on=timezone.localtime(at).date(),
                              mode="remote", expert_staff_id=expert.staff_id, expert_institution_id=net.county.pk,
                              operator_staff_id=township_doctor.staff_id, outcome="completed")
    (operation,) = do_record_operations(f.actor(township_doctor), [(data, at + timedelta(hours=2))])
    assert operation.recorded_at == at + timedelta(hours=2)
    late = NewGuidedOperation(**{**data.__dict__, "performed_on": timezone.localdate()})
    with pytest.raises(ActionError) as exc:  # recorded before it was performed
        do_record_operations(f.actor(township_doctor), [(late, at)])
    assert "operations.0.performed_on" in exc.value.errors
    assert GuidedOperation.objects.count() == 1
