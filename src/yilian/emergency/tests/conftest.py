"""The green-channel cast: the county hospital receives (`owner`, its doctor, cares for `patient`); the
township centre sends patients up (`sender`); the county hospital's 120 station has a `crew`; `outsider`
is a village doctor with no relationship at all."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.emergency.actions import NewCase, do_open_case
from yilian.network.roles import Role
from yilian.testing import factories as f


def ago(minutes: float):
    """A time `minutes` before now (aware, UTC)."""
    return timezone.now() - timedelta(minutes=minutes)


@pytest.fixture
def crew(net):
    return f.make_membership(net.county, Role.NURSE, username="crew")


@pytest.fixture
def sender(net):
    return f.make_membership(net.township, Role.DOCTOR, username="sender")


@pytest.fixture
def chest_case(owner, patient):
    """A chest-pain case of `patient`, opened at the county hospital by `owner` (walked in)."""
    return do_open_case(f.actor(owner), NewCase(centre="chest_pain", arrival_mode="self", patient_id=patient.pk))


@pytest.fixture
def stroke_case(owner, patient):
    return do_open_case(f.actor(owner), NewCase(centre="stroke", arrival_mode="ems", patient_id=patient.pk))
