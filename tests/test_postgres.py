"""What only PostgreSQL can show: the database itself refusing to rewrite the audit trail, and real
parallel connections racing each other.

Run with DATABASE_URL=postgres://… and `-m postgres`. On any other database these tests fail (never skip):
the SQLite lane deselects them with `-m "not postgres"`.
"""


import pytest
from django.db import DatabaseError, connection, transaction

from yilian.access.actions import do_review_break_glass
from yilian.access.gate import access_patient
from yilian.access.models import AuditEvent, BreakGlass, CareRelation
from yilian.care.actions import do_close_encounter
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients.actions import do_check_in, do_register_patient
from yilian.patients.models import Patient
from yilian.testing import factories as f
from yilian.testing.parallel import in_parallel

pytestmark = pytest.mark.postgres



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


# --- the master patient index ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_desks_registering_one_person_at_once_make_one_record(net, registrar):
    """Search before create cannot stop two desks that search at the same moment: the database does. One
    record, one resident-ID identifier, one consortium number; the other desk is told the ID is taken."""
    from yilian.patients.models import Identifier, QrToken

    desks = [registrar, f.make_membership(net.township, Role.REGISTRAR),
             f.make_membership(net.village, Role.REGISTRAR), f.make_membership(net.county, Role.REGISTRAR)]
    for round_ in range(3):
        data = f.new_patient(insurance=f"A{round_:08d}")
        results = in_parallel(len(desks), lambda i, d=data: do_register_patient(f.actor(desks[i]), d).pk)
        created = [r for kind, r in results if kind == "ok"]
        assert len(created) == 1, round_
        assert all(isinstance(e, ActionError) and set(e.errors) <= {"resident_id", "insurance"}
                   for e in errors_of(results))
        assert Patient.objects.filter(resident_id=data.resident_id).count() == 1
        assert Identifier.objects.filter(type="resident_id", value=data.resident_id).count() == 1
        assert Identifier.objects.filter(patient_id=created[0], type="consortium").count() == 1
        assert Identifier.objects.filter(type="insurance", value=data.insurance).count() == 1
        assert QrToken.objects.filter(patient_id=created[0]).count() == 1
    assert Identifier.objects.filter(type="consortium").count() == Patient.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_merges_of_one_record_at_once_one_wins(net, registrar, patient):
    from yilian.patients.merging import do_merge
    from yilian.patients.models import Merge

    desks = [registrar] + [f.make_membership(net.county, Role.REGISTRAR) for _ in range(3)]
    for round_ in range(3):
        target = f.second_record(registrar, patient, phone=f"1390000000{round_}")
        keepers = [patient] + [f.second_record(registrar, patient, phone="") for _ in range(3)]
        # Four desks merge the same record into four different survivors at the same moment.
        results = in_parallel(4, lambda i, t=target, k=keepers: do_merge(f.actor(desks[i]), k[i].pk, t.pk).pk)
        winners = [r for kind, r in results if kind == "ok"]
        assert len(winners) == 1, round_
        assert all(isinstance(e, ActionError) and set(e.errors) == {"merged_id"} for e in errors_of(results)), [
            type(e).__name__ for e in errors_of(results)]
        target.refresh_from_db()
        merge = Merge.objects.get(pk=winners[0])
        assert target.merged_into_id == merge.survivor_id
        assert Merge.objects.filter(merged=target).count() == 1
        assert CareRelation.objects.filter(patient=target).count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_records_merged_into_each_other_at_once(registrar, patient):
    from yilian.patients.merging import do_merge
    from yilian.patients.models import Merge

    a, b = f.second_record(registrar, patient, phone=""), f.second_record(registrar, patient, phone="")
    pairs = [(a, b), (b, a)] * 2
    results = in_parallel(4, lambda i: do_merge(f.actor(registrar), pairs[i][0].pk, pairs[i][1].pk).pk)
    assert len([r for kind, r in results if kind == "ok"]) == 1
    assert Merge.objects.count() == 1
    assert Patient.objects.filter(pk__in=[a.pk, b.pk], merged_into__isnull=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_deciding_one_pair_at_once(net, registrar, patient):
    from yilian.patients.models import LinkStatus, Merge
    from yilian.patients.review import do_decide_link

    desks = [registrar] + [f.make_membership(net.county, Role.REGISTRAR) for _ in range(3)]
    second = f.second_record(registrar, patient)
    pair = f.link_candidate(patient, second)
    results = in_parallel(4, lambda i: do_decide_link(f.actor(desks[i]), pair.pk, same=i % 2 == 0).status)
    decided = [r for kind, r in results if kind == "ok"]
    assert len(decided) == 1
    assert all(isinstance(e, ActionError) and set(e.errors) <= {"candidate", "merged_id"}
               for e in errors_of(results))
    pair.refresh_from_db()
    assert pair.status == decided[0]
    assert Merge.objects.count() == (1 if decided[0] == LinkStatus.SAME else 0)


@pytest.mark.django_db(transaction=True)
def test_parallel_rotations_leave_one_live_card(registrar, patient):
    from yilian.patients import qr
    from yilian.patients.models import QrToken

    results = in_parallel(6, lambda i: qr.do_rotate_qr(f.actor(registrar), patient.pk).token)
    assert errors_of(results) == []
    assert QrToken.objects.filter(patient=patient, revoked_at__isnull=True).count() == 1
    assert QrToken.objects.filter(patient=patient).count() == 7
