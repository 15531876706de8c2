"""`yilian demo` reuses an existing consortium and prints counts and log-ins, never patient data."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from yilian.demo.logins import DEMO_LOGINS, DEMO_PASSWORD
from yilian.patients.models import Patient

pytestmark = pytest.mark.django_db
IDENTIFIER = re.compile(r"\d{17}[\dX]|(?<!\d)1[3-9]\d{9}(?!\d)")  # a resident ID or a mobile number


def test_reuses_existing_consortium_and_prints_logins(demo):
    before = Patient.objects.count()
    out = StringIO()
    call_command("demo", stdout=out)
    text = out.getvalue()
    assert "reusing" in text
    assert Patient.objects.count() == before
    assert DEMO_PASSWORD in text
    for login in DEMO_LOGINS:
        assert login.username in text
    assert not IDENTIFIER.search(text)


def test_progress_lines_carry_counts_only(demo):
    lines = demo["progress"]
    assert [line.split(": ")[0].split("] ")[1] for line in lines] == [
        "start", "institutions", "staff", "plan", "residents", "duplicates", "check-in", "emergencies", "clinics",
        "bookings", "registrations", "mpi", "outpatient", "network", "network", "green", "results", "done"]
    patients = list(Patient.objects.values_list("name", "resident_id", "phone"))
    text = "\n".join(lines)
    assert not IDENTIFIER.search(text)
    assert not any(name in text for name, _rid, _phone in patients if len(name) > 1)


def test_rejects_bad_sizes(demo):
    with pytest.raises(CommandError):
        call_command("demo", "--residents", "0", stdout=StringIO())
    with pytest.raises(CommandError):
        call_command("demo", "--today", "2999-01-01", stdout=StringIO())
