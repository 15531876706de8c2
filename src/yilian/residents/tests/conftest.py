"""A county clinic with a week of slots, two patients sharing one mobile number (a mother and her son) and
a stranger with another number; log-in codes shown on the page as on the demo site."""

from datetime import date

import pytest

from yilian.scheduling.actions import do_set_fee
from yilian.scheduling.tests.clinics import make_clinic
from yilian.testing import factories as f

PHONE = "13800138000"
OTHER_PHONE = "13700137000"


@pytest.fixture(autouse=True)
def show_codes(settings):
    settings.YILIAN_SMS_SHOW_CODES = True


@pytest.fixture
def clinic(net, registrar, owner):
    do_set_fee(f.actor(registrar), "ordinary", "10")
    return make_clinic(registrar, net.department(net.county), doctor_id=owner.staff_id, referral_reserved=0)


@pytest.fixture
def family(registrar):
    mother = f.register_patient(registrar, phone=PHONE, born=date(1960, 3, 1))
    son = f.register_patient(registrar, phone=PHONE, born=date(1990, 7, 15))
    return mother, son


@pytest.fixture
def stranger(registrar):
    return f.register_patient(registrar, phone=OTHER_PHONE)
