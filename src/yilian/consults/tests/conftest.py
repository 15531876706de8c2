"""A township doctor who asks for consultations, the county hospital (the consortium's lead institution,
so its consultation centre) with its desk and two experts, a partner hospital outside the county with
one expert, and a patient the township cares for."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from yilian.consults.actions import NewConsultation
from yilian.consults.operations import do_register_partner
from yilian.network.models import Department, Grade, Institution, InstitutionKind
from yilian.network.roles import Role
from yilian.testing import factories as f


@pytest.fixture
def township_doctor(net):
    return f.make_membership(net.township, Role.DOCTOR, department=net.department(net.township),
                             username="township_doctor")


@pytest.fixture
def township_desk(net):
    return f.make_membership(net.township, Role.REGISTRAR, username="township_desk")


@pytest.fixture
def villager(township_desk):
    return f.register_patient(township_desk)


@pytest.fixture
def centre_desk(registrar):
    """The consultation centre's desk: a registrar at the lead institution."""
    return registrar


@pytest.fixture
def expert(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="expert")


@pytest.fixture
def expert2(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="expert2")


@pytest.fixture
def partner(net):
    hospital = Institution.objects.create(
        consortium=net.consortium, code="T-P01", name="省城协作医院", short_name="协作医院",
        kind=InstitutionKind.GENERAL_TERTIARY, grade=Grade.G3A, division_code="110105", parent=net.county)
    Department.objects.create(institution=hospital, subject_code="03", name="心血管内科")
    do_register_partner(f.actor(f.make_membership(net.county, Role.SYSADMIN)), hospital.pk,
                        date(2025, 1, 1), "远程会诊协作协议")
    return hospital


@pytest.fixture
def partner_expert(partner):
    return f.make_membership(partner, Role.DOCTOR, department=partner.departments.get(), username="partner_expert")


def ask(patient, **overrides) -> NewConsultation:
    data = {"patient_id": patient.pk, "target": "centre", "mode": "async", "urgency": "urgent",
            "question": "胸痛伴心电图ST段改变，是否需要急诊PCI？", "summary": "男，62岁，胸痛3小时，高血压史10年",
            "consent": True}
    data.update(overrides)
    return NewConsultation(**data)


def video(**overrides) -> dict:
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0)
    return {"mode": "sync", "session_start": start, "session_minutes": 30, **overrides}
