"""Queue and calling: check-in by QR code, resident ID or booking number, the order with its priorities, the
doctor's calls and their time stamps, and the refusals (a cancelled booking or a stopped clinic is never
checked in)."""

from datetime import date, timedelta

import pytest
from django.http import Http404
from django.utils import timezone

from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import qr
from yilian.scheduling.actions import do_book, do_cancel, do_stop_clinic
from yilian.scheduling.models import Booking, Priority, QueueEntry, QueueStatus, Slot
from yilian.scheduling.queue import CheckIn, display_board, do_call_next, do_move, do_queue_check_in, waiting
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import row_counts
from yilian.testing.parallel import in_parallel

pytestmark = pytest.mark.usefixtures("fees")

COUNTED = ("scheduling.QueueEntry", "scheduling.Registration", "care.Encounter")


def today_booking(desk, patient, clinic, index: int = 0) -> Booking:
    """A booking of a slot three days ahead moved to today (a slot that has started cannot be booked)."""
    slot = slots_on(clinic, 3)[index]
    booking = do_book(f.actor(desk), patient.pk, slot.pk, "window")
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    return Booking.objects.select_related("slot").get(pk=booking.pk)


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*COUNTED)
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*COUNTED) == before
    return exc.value.errors


@pytest.fixture
def internal(net):
    return net.department(net.county)


def walk_in(desk, patient, department, **extra) -> QueueEntry:
    return do_queue_check_in(f.actor(desk), CheckIn(code=patient.resident_id, department_id=department.pk, **extra))


# --- check-in ---------------------------------------------------------------------------------------------


def test_check_in_by_booking_number_records_the_times(registrar, patient, clinic):
    booking = today_booking(registrar, patient, clinic)
    arrived = timezone.now() - timedelta(minutes=7)
    mark = AuditEvent.objects.count()
    entry = do_queue_check_in(f.actor(registrar), CheckIn(code=f" {booking.number} ", arrived_at=arrived))
    booking.refresh_from_db()
    assert booking.status == "checked_in"
    assert (entry.number, entry.status, entry.calls) == (1, "waiting", 0)
    assert entry.booked_at == booking.slot.start
    assert entry.arrived_at == arrived
    assert entry.checked_in_at >= arrived
    assert entry.called_at is entry.started_at is entry.ended_at is None
    assert (entry.department_id, entry.doctor_id, entry.registration.booking_id) == (
        clinic.department_id, clinic.doctor_id, booking.pk)
    rows = [(r.object_type, r.action, r.patient_id) for r in AuditEvent.objects.order_by("pk")[mark:]]
    assert ("queue", "create", patient.pk) in rows
    assert ("registration", "create", patient.pk) in rows


def test_check_in_by_qr_uses_todays_booking(registrar, patient, clinic):
    booking = today_booking(registrar, patient, clinic)
    token = qr.live_token(patient.pk).token
    entry = do_queue_check_in(f.actor(registrar), CheckIn(code=token))
    assert entry.registration.booking_id == booking.pk
    assert entry.booked_at == booking.slot.start


def test_walk_in_by_resident_id_creates_care_and_numbers_in_turn(net, registrar, internal):
    township_desk = f.make_membership(net.township, Role.REGISTRAR)
    stranger = f.register_patient(township_desk)  # not yet in the county hospital's care
    assert not CareRelation.objects.filter(patient=stranger, institution=net.county).exists()
    first = walk_in(registrar, stranger, internal)
    assert CareRelation.objects.filter(patient=stranger, institution=net.county).exists()
    assert (first.number, first.booked_at, first.arrived_at) == (1, None, first.checked_in_at)
    second = walk_in(registrar, f.register_patient(registrar), internal)
    assert second.number == 2


def test_a_patient_is_queued_once_per_department_and_day(registrar, internal, patient, clinic):
    booking = today_booking(registrar, patient, clinic)
    first = do_queue_check_in(f.actor(registrar), CheckIn(code=booking.number))
    token = qr.live_token(patient.pk).token
    errors = refused(do_queue_check_in, f.actor(registrar), CheckIn(code=token, department_id=internal.pk))
    assert set(errors) == {"code"} and str(first.number) in errors["code"]
    assert set(refused(do_queue_check_in, f.actor(registrar), CheckIn(code=booking.number))) == {"code"}
    QueueEntry.objects.filter(pk=first.pk).update(status=QueueStatus.DONE)
    assert walk_in(registrar, patient, internal).number == 2  # back later the same day, with results


def test_priorities(registrar, internal, patient):
    old = f.register_patient(registrar, born=date(1940, 3, 1))
    assert walk_in(registrar, old, internal).priority == Priority.ELDERLY
    assert walk_in(registrar, patient, internal, disabled=True).priority == Priority.DISABLED
    young = f.register_patient(registrar, born=date(1990, 3, 1))
    entry = walk_in(registrar, young, internal)
    assert entry.priority == Priority.NORMAL
    QueueEntry.objects.filter(pk=entry.pk).update(status=QueueStatus.DONE)
    again = walk_in(registrar, young, internal)  # back with results within the registration's validity
    assert again.registration.reused_from_id is not None
    assert again.priority == Priority.RETURNING


def test_queue_order(registrar, internal, clinic):
    people = [f.register_patient(registrar, born=date(1980, 1, 1)) for _ in range(3)]
    late = today_booking(registrar, people[0], clinic, index=1)
    early = today_booking(registrar, people[1], clinic, index=0)
    walk = walk_in(registrar, people[2], internal)
    booked_late = do_queue_check_in(f.actor(registrar), CheckIn(code=late.number))
    booked_early = do_queue_check_in(f.actor(registrar), CheckIn(code=early.number))
    old = walk_in(registrar, f.register_patient(registrar, born=date(1940, 1, 1)), internal)
    # a walk-in at the same time as a booked patient goes after them
    QueueEntry.objects.filter(pk=walk.pk).update(checked_in_at=booked_late.booked_at,
                                                 arrived_at=booked_late.booked_at)
    order = list(waiting(registrar.institution_id, internal.pk).values_list("pk", flat=True))
    assert order == [old.pk, booked_early.pk, booked_late.pk, walk.pk]


def test_check_in_refusals(net, registrar, owner, patient, clinic, internal):
    desk = f.actor(registrar)
    assert set(refused(do_queue_check_in, desk, CheckIn(code="  "))) == {"code"}
    errors = refused(do_queue_check_in, desk, CheckIn(code="x", department_id=net.department(net.township).pk,
                                                      arrived_at=timezone.now() + timedelta(hours=1)))
    assert set(errors) == {"department_id", "arrived_at"}
    assert set(refused(do_queue_check_in, desk, CheckIn(code=patient.resident_id))) == {"department_id"}
    assert set(refused(do_queue_check_in, desk, CheckIn(code="20990101-1-1"))) == {"code"}
    assert set(refused(do_queue_check_in, desk, CheckIn(code="not-a-token"))) == {"code"}
    assert set(refused(do_queue_check_in, f.actor(owner), CheckIn(code=patient.resident_id,
                                                                  department_id=internal.pk))) == {"role"}


def test_a_cancelled_booking_or_a_stopped_clinic_is_never_checked_in(registrar, patient, clinic):
    cancelled = today_booking(registrar, patient, clinic)
    do_cancel(f.actor(registrar), cancelled.pk, "有事")
    assert set(refused(do_queue_check_in, f.actor(registrar), CheckIn(code=cancelled.number))) == {"code"}
    other = f.register_patient(registrar)
    slot = slots_on(clinic, 4)[0]
    stopped = do_book(f.actor(registrar), other.pk, slot.pk, "window")
    do_stop_clinic(f.actor(registrar), clinic.pk, slot.date, "医生外出")
    Slot.objects.filter(pk=slot.pk).update(date=timezone.localdate())
    assert set(refused(do_queue_check_in, f.actor(registrar), CheckIn(code=stopped.number))) == {"code"}
    # by QR code the stopped booking is not found: without a department there is nothing to check in to
    token = qr.live_token(other.pk).token
    assert set(refused(do_queue_check_in, f.actor(registrar), CheckIn(code=token))) == {"department_id"}
    assert not QueueEntry.objects.exists()


def test_a_booking_of_an_unseen_patient_answers_404(net, patient, clinic, registrar):
    booking = today_booking(registrar, patient, clinic)
    elsewhere = f.make_membership(net.township, Role.REGISTRAR)
    with pytest.raises(Http404):
        do_queue_check_in(f.actor(elsewhere), CheckIn(code=booking.number))
    assert AuditEvent.objects.filter(object_type="booking", outcome="denied").count() == 1


# --- calling ----------------------------------------------------------------------------------------------


def test_the_doctors_buttons_and_their_time_stamps(registrar, owner, internal, patient):
    entry = walk_in(registrar, patient, internal)
    doctor = f.actor(owner)
    mark = AuditEvent.objects.count()
    called = do_call_next(doctor, internal.pk)
    assert called.pk == entry.pk
    assert (called.status, called.calls, called.doctor_id) == ("called", 1, owner.staff_id)
    first_call = called.called_at
    assert first_call >= called.checked_in_at
    again = do_move(doctor, entry.pk, "recall")
    assert (again.calls, again.called_at) == (2, first_call)
    assert do_move(doctor, entry.pk, "skip").status == "skipped"
    assert do_call_next(doctor, internal.pk) is None  # nobody waits
    assert do_move(doctor, entry.pk, "requeue").status == "waiting"
    recalled = do_call_next(doctor, internal.pk)
    assert (recalled.pk, recalled.calls, recalled.called_at) == (entry.pk, 3, first_call)
    started = do_move(doctor, entry.pk, "start")
    assert started.status == "in_room" and started.started_at >= first_call
    ended = do_move(doctor, entry.pk, "end")
    assert ended.status == "done" and ended.ended_at >= started.started_at
    rows = [(r.object_type, r.action, r.reason) for r in AuditEvent.objects.order_by("pk")[mark:]]
    assert rows == [("queue", "update", why) for why in
                    ("called", "recall", "skip", "requeue", "called", "start", "end")]
    assert set(refused(do_move, doctor, entry.pk, "start")) == {"status"}
    assert set(refused(do_move, doctor, entry.pk, "jump")) == {"move"}


def test_two_doctors_never_get_the_same_patient(net, registrar, owner, internal):
    colleague = f.make_membership(net.county, Role.DOCTOR, department=internal)
    for _ in range(2):
        walk_in(registrar, f.register_patient(registrar), internal)
    a = do_call_next(f.actor(owner), internal.pk)
    b = do_call_next(f.actor(colleague), internal.pk)
    assert a.pk != b.pk
    assert do_call_next(f.actor(owner), internal.pk) is None


def test_a_patient_booked_with_another_doctor_is_not_called(net, registrar, owner, internal, patient, clinic):
    colleague = f.make_membership(net.county, Role.DOCTOR, department=internal)
    booking = today_booking(registrar, patient, clinic)  # the clinic is `owner`'s
    do_queue_check_in(f.actor(registrar), CheckIn(code=booking.number))
    assert do_call_next(f.actor(colleague), internal.pk) is None
    assert do_call_next(f.actor(owner), internal.pk).patient_id == patient.pk


def test_calling_is_for_clinical_staff_of_the_institution(net, registrar, owner, internal, patient, outsider):
    entry = walk_in(registrar, patient, internal)
    manager = f.make_membership(net.county, Role.MANAGER)
    assert set(refused(do_call_next, f.actor(manager), internal.pk)) == {"role"}
    assert set(refused(do_call_next, f.actor(outsider), internal.pk)) == {"department_id"}
    with pytest.raises(Http404):
        do_move(f.actor(outsider), entry.pk, "recall")
    assert AuditEvent.objects.filter(object_type="queue", outcome="denied").count() == 1


def test_the_display_board_masks_names(registrar, owner, internal, patient):
    walk_in(registrar, patient, internal)
    walk_in(registrar, f.register_patient(registrar), internal)
    do_call_next(f.actor(owner), internal.pk)
    board = display_board(f.actor(registrar), internal.pk)
    assert [line.number for line in board.called] == [1]
    assert [line.number for line in board.next] == [2]
    shown = board.called[0].masked_name
    assert shown != patient.name and shown[0] == patient.name[0] and "*" in shown


# --- PostgreSQL: real parallel connections ------------------------------------------------------------------


SLOW = {"wait": 60, "join": 120}  # 50 threads on two cores: longer waits than the default


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_parallel_doctors_and_desks(net, registrar, internal, fees):
    n = 12
    people = [f.register_patient(registrar) for _ in range(n)]
    desks = in_parallel(n, lambda i: walk_in(registrar, people[i], internal).number, **SLOW)
    assert sorted(r for _k, r in desks) == list(range(1, n + 1)), desks
    doctors = [f.make_membership(net.county, Role.DOCTOR, department=internal) for _ in range(n + 3)]
    calls = in_parallel(n + 3, lambda i: getattr(do_call_next(f.actor(doctors[i]), internal.pk), "pk", None), **SLOW)
    assert all(kind == "ok" for kind, _r in calls), calls
    got = [r for _k, r in calls if r is not None]
    assert len(got) == len(set(got)) == n
    assert QueueEntry.objects.filter(status="called", calls=1).count() == n
