"""One small demo, built once for the demo tests (twice, in fact: the second build checks determinism) and
flushed when they are done, so that no other app's tests ever see it."""

import hashlib
from datetime import date

import pytest
from django.core.management import call_command
from django.test import override_settings

from yilian.demo.build import Options, build

SMALL = Options(seed=7, residents=300, months=1, today=date(2025, 3, 17))
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def fingerprint() -> str:
    """A digest of everything the generator decides (never printed: it covers names and identifiers)."""
    from yilian.care.models import ChargeItem, Encounter
    from yilian.network.models import Institution, Membership
    from yilian.patients.models import Patient

    h = hashlib.sha256()
    for row in Institution.objects.order_by("code").values_list("code", "name", "parent__code"):
        h.update(repr(row).encode())
    for row in Membership.objects.order_by("staff__user__username", "institution__code", "role") \
            .values_list("staff__user__username", "staff__name", "staff__title", "staff__licence_no",
                         "institution__code", "department__name", "role"):
        h.update(repr(row).encode())
    for row in Patient.objects.order_by("resident_id", "name", "birth_date", "phone") \
            .values_list("resident_id", "name", "sex", "birth_date", "phone", "address", "registered_at__code"):
        h.update(repr(row).encode())
    for row in Encounter.objects.order_by("start", "patient__resident_id", "patient__name") \
            .values_list("start", "institution__code", "department__name", "klass", "practitioner__user__username",
                         "patient__resident_id", "patient__name", "end"):
        h.update(repr(row).encode())
    for row in ChargeItem.objects.order_by("charged_at", "encounter__patient__name", "category", "amount") \
            .values_list("charged_at", "category", "amount", "description"):
        h.update(repr(row).encode())
    for query in outpatient_rows():
        for row in query:
            h.update(repr(row).encode())
    return h.hexdigest()


def outpatient_rows():
    """The outpatient stage's rows in a stable order, by natural keys (never primary keys)."""
    from yilian.access.models import Grant
    from yilian.scheduling.models import (
        Booking,
        BookingEvent,
        FeePolicy,
        FreeRegistrationRule,
        Holiday,
        OutpatientPolicy,
        QueueEntry,
        Registration,
        Schedule,
        Slot,
    )

    schedule = ("institution__code", "department__name", "doctor__user__username", "session", "start_time",
                "weekdays", "valid_from")
    slot = ("start",) + tuple(f"schedule__{f}" for f in schedule[:4])
    booking = tuple(f"slot__{f}" for f in slot) + ("serial",)
    yield FeePolicy.objects.order_by("institution__code", "tier").values_list("institution__code", "tier", "amount")
    yield OutpatientPolicy.objects.order_by("institution__code").values_list(
        "institution__code", "max_daily_bookings", "registration_valid_days")
    yield FreeRegistrationRule.objects.order_by("institution__code", "kind").values_list(
        "institution__code", "kind", "min_age", "department__name", "active")
    yield Holiday.objects.order_by("institution__code", "date").values_list("institution__code", "date", "name")
    yield Grant.objects.order_by("patient__resident_id", "valid_from").values_list(
        "patient__resident_id", "kind", "to_institution__code", "to_staff__user__username", "valid_from", "valid_to")
    yield Schedule.objects.order_by(*schedule).values_list(
        *schedule, "end_time", "slot_minutes", "capacity", "referral_reserved", "release_hours", "tier", "valid_to")
    yield Slot.objects.order_by(*slot).values_list(*slot, "end", "capacity", "reserved", "booked", "referral_booked",
                                                   "issued", "status")
    yield Booking.objects.order_by(*booking).values_list(*booking, "channel", "status", "reason", "created_at",
                                                         "patient__resident_id", "patient__name")
    yield BookingEvent.objects.order_by("at", *(f"booking__{f}" for f in booking), "kind").values_list(
        "at", "kind", *(f"booking__{f}" for f in booking))
    yield Registration.objects.order_by("registered_at", "institution__code", "department__name", "patient__name") \
        .values_list("registered_at", "institution__code", "department__name", "patient__resident_id",
                     "patient__name", "tier", "fee", "valid_until", "reused_from__registered_at",
                     "booking__serial", "encounter__start", "waiver__amount", "waiver__rule__kind")
    yield QueueEntry.objects.order_by("arrived_at", "institution__code", "department__name", "number").values_list(
        "arrived_at", "institution__code", "department__name", "number", "date", "priority", "status", "calls",
        "doctor__user__username", "booked_at", "checked_in_at", "called_at", "started_at", "ended_at",
        "patient__name")


@pytest.fixture(scope="package")
def demo(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=FAST_HASHER):
        first = build(SMALL)
        first_print = fingerprint()
        call_command("flush", interactive=False, verbosity=0)
        lines: list[str] = []
        second = build(SMALL, progress=lines.append)
        second_print = fingerprint()
        yield {"summary": second, "first": first, "fingerprints": (first_print, second_print), "progress": lines}
        call_command("flush", interactive=False, verbosity=0)
