"""Fuzz every operation of the OpenAPI schema through the WSGI application, logged in: no input, however
odd, may get a 5xx.

The requests go through the whole Django stack (middleware, CSRF, session log-in), not the test client.
A registrar's session is used for the operations only a registrar may use, a doctor's for the rest.
"""

import secrets
import string

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from yilian.care.actions import Charge
from yilian.testing import factories as f
from yilian.testing.logscan import MOBILE_SHAPE
from yilian.wsgi import application

EXAMPLES = 25  # per operation, positive and negative cases mixed
REGISTRAR_OPERATIONS = {
    ("POST", "/api/v1/patients"), ("POST", "/api/v1/patients/check-in"), ("POST", "/api/v1/patients/search"),
    ("POST", "/api/v1/patients/claim"), ("POST", "/api/v1/patients/{patient_id}/claim"),
    ("POST", "/api/v1/patients/{patient_id}/identifiers"),
    ("DELETE", "/api/v1/patients/{patient_id}/identifiers/{identifier_id}"),
    ("POST", "/api/v1/patients/{patient_id}/qr/rotate"), ("POST", "/api/v1/patients/qr/check-in"),
    ("POST", "/api/v1/patients/merges"), ("POST", "/api/v1/patients/merges/{merge_id}/unmerge"),
    ("GET", "/api/v1/scheduling/slots"), ("POST", "/api/v1/scheduling/bookings"),
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/cancel"),
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/reschedule"),
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/no-show"), ("POST", "/api/v1/scheduling/registrations"),
    ("POST", "/api/v1/scheduling/queue/check-ins"),
}


def _clinic(registrar, owner, patient) -> None:
    """A week of slots at the county hospital and a booking, for the scheduling ids to hit."""
    from yilian.scheduling.actions import do_book, do_set_fee
    from yilian.scheduling.models import Slot
    from yilian.scheduling.tests.clinics import make_clinic

    do_set_fee(f.actor(registrar), "ordinary", "10")
    clinic = make_clinic(registrar, owner.department, doctor_id=owner.staff_id)
    slot = Slot.objects.filter(schedule=clinic, date__gt=clinic.valid_from).order_by("start").first()
    do_book(f.actor(registrar), patient.pk, slot.pk, "window")


def _session_cookie(membership) -> str:
    return f.log_in(Client(), membership).cookies["sessionid"].value


@pytest.fixture
def wsgi_in_test_transaction(db):
    """Like Django's test client, keep the per-request connection clean-up from closing the connection that
    holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def sessions(wsgi_in_test_transaction, registrar, owner, colleague, patient):
    """Some data for the ids to hit, and a logged-in session for each acting identity."""
    encounter = f.open_encounter(owner, patient, charges=[Charge("lab", "10")])
    f.open_encounter(colleague, patient)
    f.break_glass(f.make_membership(registrar.institution, "nurse"), patient)
    assert encounter.pk
    _clinic(registrar, owner, patient)
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    return {"csrf": csrf, "registrar": _session_cookie(registrar), "doctor": _session_cookie(owner)}


@pytest.fixture
def api_schema(sessions):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


def _no_mobile_shaped_path(case) -> None:
    """Django logs the path of every 4xx; keep generated ids from looking like a phone number there (the
    log scan would rightly flag one)."""
    for name, value in (case.path_parameters or {}).items():
        if MOBILE_SHAPE.search(str(value)):
            case.path_parameters[name] = f"{value}0" if isinstance(value, str) else value * 10


def _fuzz(operation, sessions) -> None:
    who = "registrar" if (operation.method.upper(), operation.path) in REGISTRAR_OPERATIONS else "doctor"
    cases = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @given(case=cases)
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        _no_mobile_shaped_path(case)
        case.call_and_validate(
            checks=[not_a_server_error],
            cookies={"sessionid": sessions[who], "csrftoken": sessions["csrf"]},
            headers={"X-CSRFToken": sessions["csrf"]},
        )

    run()


def test_no_input_gets_a_server_error(api_schema, sessions):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 11
    failed = []
    for operation in operations:
        try:
            _fuzz(operation, sessions)
        except Exception as exc:  # collect every operation that fails, then report them all
            failed.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}")
    assert failed == []
