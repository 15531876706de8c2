"""What only PostgreSQL can show: the database itself refusing to rewrite the audit trail, and real
parallel connections racing each other.

Run with DATABASE_URL=postgres://… and `-m postgres`. On any other database these tests fail (never skip):
the SQLite lane deselects them with `-m "not postgres"`.
"""

import threading
from collections.abc import Callable

import pytest
from django.db import DatabaseError, connection, connections, transaction

from yilian.access.actions import do_review_break_glass
from yilian.access.gate import access_patient
from yilian.access.models import AuditEvent, BreakGlass, CareRelation
from yilian.care.actions import do_close_encounter
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients.actions import do_check_in, do_register_patient
from yilian.patients.models import Patient
from yilian.testing import factories as f

pytestmark = pytest.mark.postgres


@pytest.fixture(autouse=True)
def _postgresql_only(db):
    if connection.vendor != "postgresql":
        pytest.fail(f"this test needs PostgreSQL (DATABASE_URL=postgres://…), not {connection.vendor}")


# --- the audit table is append-only in the database ----------------------------------------------------


@pytest.fixture
def audit_row(owner, patient):
    access_patient(f.actor(owner), patient.pk)
    return AuditEvent.objects.latest("pk")


@pytest.mark.parametrize("sql", [
    "UPDATE access_auditevent SET reason = 'rewritten' WHERE id = %s",
    "UPDATE access_auditevent SET outcome = 'success', at = now() WHERE id = %s",
    "DELETE FROM access_auditevent WHERE id = %s",
])
def test_database_refuses_to_rewrite_audit_rows(audit_row, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [audit_row.pk])
    assert AuditEvent.objects.get(pk=audit_row.pk).reason == audit_row.reason


def test_database_refuses_bulk_rewrites_through_the_orm(audit_row):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.all().update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(pk=audit_row.pk).delete()
    assert AuditEvent.objects.filter(pk=audit_row.pk, reason=audit_row.reason).exists()


def test_appending_still_works(audit_row, owner, patient):
    before = AuditEvent.objects.count()
    access_patient(f.actor(owner), patient.pk)
    assert AuditEvent.objects.count() == before + 1


# --- real parallel connections ------------------------------------------------------------------------


def in_parallel(n: int, work: Callable[[int], object]) -> list[tuple[str, object]]:
    """Run `work(i)` in n threads released together; each thread uses and then closes its own connection.
    Returns ("ok", result) or ("error", exception) per thread."""
    barrier = threading.Barrier(n)
    results: list[tuple[str, object]] = [("error", None)] * n

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = ("ok", work(i))
        except Exception as exc:  # collected and asserted on by the caller
            results[i] = ("error", exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    return results


def errors_of(results) -> list[object]:
    return [r for kind, r in results if kind == "error"]


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_one_resident_id(registrar):
    n = 8
    data = f.new_patient()
    results = in_parallel(n, lambda i: do_register_patient(f.actor(registrar), data).pk)
    created = [r for kind, r in results if kind == "ok"]
    errors = errors_of(results)
    assert len(created) == 1
    assert len(errors) == n - 1
    assert all(isinstance(e, ActionError) and set(e.errors) == {"resident_id"} for e in errors), [
        type(e).__name__ for e in errors]
    assert Patient.objects.count() == 1
    assert CareRelation.objects.count() == 1
    assert AuditEvent.objects.filter(action="create", object_type="patient").count() == 1


@pytest.mark.django_db(transaction=True)
def test_parallel_registrations_of_different_people(registrar):
    n = 8
    people = [f.new_patient() for _ in range(n)]
    results = in_parallel(n, lambda i: do_register_patient(f.actor(registrar), people[i]).pk)
    assert errors_of(results) == []
    assert Patient.objects.count() == n


@pytest.mark.django_db(transaction=True)
def test_parallel_reviews_of_one_break_glass(net, outsider, patient):
    admins = [f.make_membership(net.county, Role.SECADMIN) for _ in range(4)]
    for round_ in range(3):
        glass = f.break_glass(outsider, patient)
        results = in_parallel(len(admins), lambda i, g=glass: do_review_break_glass(
            f.actor(admins[i]), g.pk, f"note {i}").reviewed_by_id)
        winners = [r for kind, r in results if kind == "ok"]
        errors = errors_of(results)
        assert len(winners) == 1, round_
        assert all(isinstance(e, ActionError) and set(e.errors) == {"id"} for e in errors)
        glass.refresh_from_db()
        assert glass.reviewed_by_id == winners[0]
        assert glass.review_note == f"note {[a.staff_id for a in admins].index(winners[0])}"
    assert not BreakGlass.objects.filter(reviewed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
def test_parallel_audited_reads_leave_one_row_each(owner, outsider, patient):
    n = 16
    before = AuditEvent.objects.count()

    def read(i):
        who = owner if i % 2 == 0 else outsider
        try:
            return access_patient(f.actor(who), patient.pk).pk
        except Exception as exc:
            return type(exc).__name__

    results = in_parallel(n, read)
    assert errors_of(results) == []
    assert sorted(str(r) for _, r in results) == sorted([str(patient.pk)] * (n // 2) + ["Http404"] * (n // 2))
    rows = AuditEvent.objects.filter(pk__gt=0).order_by("pk")[before:]
    assert len(rows) == n
    assert sorted(r.outcome for r in rows) == ["denied"] * (n // 2) + ["success"] * (n // 2)
    assert {r.patient_id for r in rows} == {patient.pk}


@pytest.mark.django_db(transaction=True)
def test_parallel_check_ins_make_one_care_relationship(net, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    n = 8
    results = in_parallel(n, lambda i: do_check_in(f.actor(desk), patient.resident_id).pk)
    assert errors_of(results) == []
    assert CareRelation.objects.filter(patient=patient, institution=net.township).count() == 1
    assert AuditEvent.objects.filter(reason="check-in").count() == n


@pytest.mark.django_db(transaction=True)
def test_parallel_closes_of_one_encounter(owner, encounter):
    n = 6
    results = in_parallel(n, lambda i: do_close_encounter(f.actor(owner), encounter).pk)
    assert len([r for kind, r in results if kind == "ok"]) == 1
    assert all(isinstance(e, ActionError) and set(e.errors) == {"end"} for e in errors_of(results))
    assert encounter.events.filter(kind="closed").count() == 1
    assert AuditEvent.objects.filter(object_type="encounter", action="update").count() == 1
