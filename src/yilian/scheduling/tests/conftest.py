"""A clinic at the county hospital's internal medicine: an attending doctor's morning, 08:00–10:00 in
30-minute slots of two places, one of them reserved for referral until 24 hours before; slots generated
for today and the next seven days. Fees: ordinary 10, expert 25, special 100 yuan."""

import pytest

from yilian.network.models import Title
from yilian.network.roles import Role
from yilian.scheduling.actions import do_set_fee
from yilian.scheduling.tests.clinics import make_clinic, slots_on
from yilian.testing import factories as f


@pytest.fixture
def fees(registrar):
    desk = f.actor(registrar)
    for tier, amount in (("ordinary", "10"), ("expert", "25"), ("special", "100")):
        do_set_fee(desk, tier, amount)


@pytest.fixture
def clinic(net, registrar, owner, fees):
    return make_clinic(registrar, net.department(net.county), doctor_id=owner.staff_id)


@pytest.fixture
def expert(net):
    staff = f.make_staff("expert", title=Title.CHIEF_PHYSICIAN)
    return f.make_membership(net.county, Role.DOCTOR, staff=staff, department=net.department(net.county))


@pytest.fixture
def township_desk(net):
    return f.make_membership(net.township, Role.REGISTRAR, username="township_desk")


@pytest.fixture
def slot(clinic):
    """The first slot three days ahead: its referral place is not released yet."""
    return slots_on(clinic, 3)[0]
