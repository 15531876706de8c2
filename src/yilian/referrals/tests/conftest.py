"""A township doctor who refers up to the county hospital (a clinic there with referral places), the
county's doctor who receives, and a patient the township cares for (registered there)."""

import pytest

from yilian.network.roles import Role
from yilian.referrals.actions import NewReferral
from yilian.scheduling.actions import do_set_fee
from yilian.scheduling.tests.clinics import make_clinic
from yilian.testing import factories as f


@pytest.fixture
def township_doctor(net):
    return f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township),
                             username="township_doctor")


@pytest.fixture
def township_desk(net):
    return f.make_membership(net.township, Role.REGISTRAR, username="township_desk")


@pytest.fixture
def county_doctor(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county),
                             username="county_doctor")


@pytest.fixture
def villager(township_desk):
    return f.register_patient(township_desk)


@pytest.fixture
def clinic(net, registrar, county_doctor):
    do_set_fee(f.actor(registrar), "ordinary", "10")
    return make_clinic(registrar, net.department(net.county), doctor_id=county_doctor.staff_id)


def up(net, patient, **overrides) -> NewReferral:
    data = {"patient_id": patient.pk, "direction": "up", "setting": "outpatient", "urgency": "urgent",
            "to_institution_id": net.county.pk, "to_department_id": net.department(net.county).pk,
            "diagnosis_code": "I63.9", "reason": "疑似脑梗死，需头颅CT及专科诊治", "summary": "右侧肢体无力2小时"}
    data.update(overrides)
    return NewReferral(**data)
