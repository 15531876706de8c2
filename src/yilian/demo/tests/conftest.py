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
    return h.hexdigest()


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
