"""Fixtures shared by every test: the small consortium of `yilian.testing.factories` and its people.

The access trio (STYLE.md): `owner` acts at the institution that cares for `patient`; `colleague` is a
doctor at another institution holding an active grant for the patient (`revoked_colleague` and
`expired_colleague` held one that no longer counts); `outsider` is a doctor with no relationship at all.
"""

import pytest
from django.conf import settings
from django.test import Client

from yilian.network.roles import Role
from yilian.testing import factories as f


def pytest_configure(config):
    from django.conf import settings

    # Hashing is not what these tests measure; the real hashers cost ~0.3 s per user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _postgresql_only(request):
    """A test marked `postgres` needs PostgreSQL (real parallel connections): on any other database it
    fails, never skips (`DATABASE_URL=postgres://… pytest -m postgres`)."""
    if request.node.get_closest_marker("postgres") is None:
        return
    request.getfixturevalue("db")
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.fail(f"this test needs PostgreSQL (DATABASE_URL=postgres://…), not {connection.vendor}")


@pytest.fixture
def net(db) -> f.Network:
    return f.make_network()


@pytest.fixture
def registrar(net):
    return f.make_membership(net.county, Role.REGISTRAR, username="registrar")


@pytest.fixture
def owner(net):
    return f.make_membership(net.county, Role.DOCTOR, department=net.department(net.county), username="owner")


@pytest.fixture
def patient(registrar, owner):
    """Registered at the county hospital and seen there once (by `owner`)."""
    return f.register_patient(registrar)


@pytest.fixture
def encounter(owner, patient):
    return f.open_encounter(owner, patient)


@pytest.fixture
def colleague(net, patient):
    """A township doctor; the township centre holds a referral grant for the patient."""
    membership = f.make_membership(net.township, Role.DOCTOR, username="colleague")
    membership.grant = f.grant(patient, to_institution=net.township)
    return membership


@pytest.fixture
def revoked_colleague(net, patient):
    membership = f.make_membership(net.village, Role.DOCTOR, username="revoked")
    membership.grant = f.revoke(f.grant(patient, to_staff=membership.staff))
    return membership


@pytest.fixture
def expired_colleague(net, patient):
    membership = f.make_membership(net.village, Role.DOCTOR, username="expired")
    membership.grant = f.expire_grant(f.grant(patient, to_staff=membership.staff))
    return membership


@pytest.fixture
def outsider(net):
    return f.make_membership(net.village, Role.DOCTOR, username="outsider")


@pytest.fixture
def nurse(net):
    return f.make_membership(net.county, Role.NURSE, username="nurse")


@pytest.fixture
def pharmacist(net):
    return f.make_membership(net.county, Role.PHARMACIST, username="pharmacist")


@pytest.fixture
def manager(net):
    return f.make_membership(net.county, Role.MANAGER, username="manager")


@pytest.fixture
def sysadmin(net):
    return f.make_membership(net.county, Role.SYSADMIN, username="sysadmin")


@pytest.fixture
def secadmin(net):
    return f.make_membership(net.county, Role.SECADMIN, username="secadmin")


@pytest.fixture
def auditor(net):
    return f.make_membership(net.county, Role.AUDITOR, username="auditor")


@pytest.fixture
def client_as(db):
    """`client_as(membership)`: a fresh test client logged in and acting as that membership."""

    def make(membership, language: str | None = None, **defaults) -> Client:
        """`language="en"` chooses English as a user does: the switch's cookie for pages, and the
        Accept-Language header for the API."""
        if language:
            defaults.setdefault("HTTP_ACCEPT_LANGUAGE", language)
        client = Client(**defaults)
        if language:
            client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return f.log_in(client, membership)

    return make
