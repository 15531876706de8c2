"""Policy rows, holidays and stopping one slot, through the actions: who may change which institution's rows
(a registrar their own, the consortium manager any member of their consortium), the audit row of each
change, and nothing written on a refusal."""

import pytest
from django.utils import timezone

from yilian.access.models import Action, AuditEvent, Basis, Outcome
from yilian.errors import ActionError
from yilian.network.models import Consortium, Institution, InstitutionKind
from yilian.network.roles import Role
from yilian.scheduling.actions import (
    HOLIDAY_OBJECT,
    POLICY_OBJECT,
    do_add_free_rule,
    do_add_holiday,
    do_book,
    do_deactivate_free_rule,
    do_remove_holiday,
    do_set_fee,
    do_set_policy,
    do_stop_clinic,
)
from yilian.scheduling.models import (
    BookingStatus,
    FeePolicy,
    FreeRegistrationRule,
    Holiday,
    OutpatientPolicy,
    Slot,
)
from yilian.scheduling.tests.clinics import slots_on
from yilian.testing import factories as f
from yilian.testing.checks import row_counts

POLICY_ROWS = ("scheduling.FeePolicy", "scheduling.OutpatientPolicy", "scheduling.FreeRegistrationRule",
               "scheduling.Holiday", "access.AuditEvent")


def refused(call, *args, **kwargs) -> dict[str, str]:
    before = row_counts(*POLICY_ROWS)
    active = list(FreeRegistrationRule.objects.values_list("pk", "active"))
    with pytest.raises(ActionError) as exc:
        call(*args, **kwargs)
    assert row_counts(*POLICY_ROWS) == before
    assert list(FreeRegistrationRule.objects.values_list("pk", "active")) == active
    return exc.value.errors


def last_audit() -> AuditEvent:
    return AuditEvent.objects.order_by("-pk").first()


@pytest.fixture
def foreign_manager(db):
    """The manager of another consortium."""
    other = Consortium.objects.create(name="邻县医共体", short_name="邻县", division_code="330783")
    hospital = Institution.objects.create(consortium=other, code="X-H01", name="邻县人民医院", short_name="邻县医院",
                                          kind=InstitutionKind.GENERAL_SECONDARY, division_code="330783")
    return f.make_membership(hospital, Role.MANAGER, username="foreign_manager")


@pytest.fixture
def township_registrar(net):
    return f.make_membership(net.township, Role.REGISTRAR, username="township_registrar")


def test_registrar_sets_their_own_rows_and_each_change_is_audited(net, registrar):
    desk = f.actor(registrar)
    fee = do_set_fee(desk, "expert", "25")
    row = last_audit()
    assert (row.object_type, row.object_id, row.action, row.reason) == (
        POLICY_OBJECT, str(net.county.pk), Action.CREATE, "fee expert: - -> 25.00")
    assert (row.patient_id, row.outcome, row.basis) == (None, Outcome.SUCCESS, Basis.NONE)
    assert (row.user_id, row.membership_id, row.institution_id, row.role) == (
        registrar.staff.user_id, registrar.pk, net.county.pk, Role.REGISTRAR)
    do_set_fee(desk, "expert", "30", institution_id=net.county.pk)  # naming one's own institution is the same
    fee.refresh_from_db()
    assert fee.amount == 30
    assert (last_audit().action, last_audit().reason) == (Action.UPDATE, "fee expert: 25.00 -> 30.00")

    do_set_policy(desk, max_daily_bookings=2, registration_valid_days=5)
    assert last_audit().reason == "bookings per day 1 -> 2; registration valid days 3 -> 5"
    rule = do_add_free_rule(desk, "age", min_age=65)
    assert last_audit().reason == f"free rule #{rule.pk} added: age >= 65"
    do_deactivate_free_rule(desk, rule.pk)
    rule.refresh_from_db()
    assert not rule.active
    assert (last_audit().action, last_audit().reason) == (Action.UPDATE, f"free rule #{rule.pk} deactivated: age >= 65")
    assert AuditEvent.objects.filter(object_type=POLICY_OBJECT).count() == 5


def test_manager_sets_any_member_of_their_consortium(net, manager):
    boss = f.actor(manager)
    do_set_fee(boss, "ordinary", "6", institution_id=net.village.pk)
    do_set_policy(boss, max_daily_bookings=3, registration_valid_days=7, institution_id=net.township.pk)
    rule = do_add_free_rule(boss, "department", department_id=net.department(net.township).pk,
                            institution_id=net.township.pk)
    do_deactivate_free_rule(boss, rule.pk, institution_id=net.township.pk)
    do_set_fee(boss, "ordinary", "12")  # the manager's own institution (the county hospital)
    assert set(FeePolicy.objects.values_list("institution_id", "amount")) == {(net.village.pk, 6), (net.county.pk, 12)}
    assert OutpatientPolicy.objects.get().institution_id == net.township.pk
    rows = AuditEvent.objects.filter(object_type=POLICY_OBJECT).order_by("pk")
    assert [r.object_id for r in rows] == [str(net.village.pk)] + [str(net.township.pk)] * 3 + [str(net.county.pk)]
    assert {(r.membership_id, r.role) for r in rows} == {(manager.pk, Role.MANAGER)}


def test_outsiders_of_the_policy_are_refused(net, registrar, owner, foreign_manager, township_registrar):
    county = net.county.pk
    rule = do_add_free_rule(f.actor(registrar), "contracted")
    for actor, field in ((f.actor(foreign_manager), "institution_id"), (f.actor(township_registrar), "institution_id"),
                         (f.actor(owner), "role")):
        assert set(refused(do_set_fee, actor, "ordinary", "1", institution_id=county)) == {field}
        assert set(refused(do_set_policy, actor, max_daily_bookings=5, registration_valid_days=5,
                           institution_id=county)) == {field}
        assert set(refused(do_add_free_rule, actor, "age", min_age=60, institution_id=county)) == {field}
        assert set(refused(do_deactivate_free_rule, actor, rule.pk, institution_id=county)) == {field}
    # A doctor may not even set their own institution's rows; the township desk's own rule is not the county's.
    assert set(refused(do_set_fee, f.actor(owner), "ordinary", "1")) == {"role"}
    assert set(refused(do_deactivate_free_rule, f.actor(township_registrar), rule.pk)) == {"rule_id"}
    # A manager naming an institution that does not exist, or not an id at all.
    for bad in (10**9, -1, "1", 2**70):
        assert set(refused(do_set_fee, f.actor(foreign_manager), "ordinary", "1", institution_id=bad)) == {
            "institution_id"}


def test_policy_values_are_checked(net, registrar, manager):
    desk = f.actor(registrar)
    assert set(refused(do_set_fee, desk, "vip", "abc")) == {"tier", "amount"}
    assert set(refused(do_set_policy, desk, max_daily_bookings=True, registration_valid_days="3")) == {
        "max_daily_bookings", "registration_valid_days"}
    do_add_free_rule(desk, "age", min_age=65)
    assert set(refused(do_add_free_rule, desk, "age", min_age=65)) == {"kind"}  # already in force
    assert set(refused(do_add_free_rule, f.actor(manager), "department", department_id=net.department(net.county).pk,
                       institution_id=net.township.pk)) == {"department_id"}  # not a township department
    rule = FreeRegistrationRule.objects.get()
    do_deactivate_free_rule(desk, rule.pk)
    assert set(refused(do_deactivate_free_rule, desk, rule.pk)) == {"rule_id"}  # no longer in force
    assert set(refused(do_deactivate_free_rule, desk, 10**9)) == {"rule_id"}
    do_add_free_rule(desk, "age", min_age=65)  # a stopped rule may be set again


def test_holidays_add_and_remove(net, registrar, owner):
    desk = f.actor(registrar)
    day = timezone.localdate()
    holiday = do_add_holiday(desk, day, " 春节 ")
    assert (holiday.name, holiday.institution_id) == ("春节", net.county.pk)
    row = last_audit()
    assert (row.object_type, row.object_id, row.action, row.reason) == (
        HOLIDAY_OBJECT, str(net.county.pk), Action.CREATE, f"holiday {day:%Y-%m-%d} added")
    assert set(refused(do_add_holiday, desk, day)) == {"date"}
    assert set(refused(do_add_holiday, desk, "2030-01-01", "x" * 51)) == {"date", "name"}
    assert set(refused(do_add_holiday, f.actor(owner), day)) == {"role"}
    elsewhere = f.make_membership(net.township, Role.REGISTRAR)
    assert set(refused(do_remove_holiday, f.actor(elsewhere), holiday.pk)) == {"holiday_id"}
    do_remove_holiday(desk, holiday.pk)
    assert not Holiday.objects.exists()
    assert (last_audit().action, last_audit().reason) == (Action.DELETE, f"holiday {day:%Y-%m-%d} removed")
    assert set(refused(do_remove_holiday, desk, holiday.pk)) == {"holiday_id"}


def test_stop_one_slot_only(net, registrar, patient, clinic):
    day = slots_on(clinic, 3)
    other = f.register_patient(registrar)
    first = do_book(f.actor(registrar), patient.pk, day[0].pk)
    second = do_book(f.actor(registrar), other.pk, day[1].pk)
    messages = do_stop_clinic(f.actor(registrar), clinic.pk, day[0].date, "设备检修", slot_id=day[0].pk)
    assert [m.patient_id for m in messages] == [patient.pk]
    # Offered: the nearest free slots, not the next one of the morning (its one ordinary place is taken).
    assert messages[0].alternatives and day[1].pk not in [s.pk for s in messages[0].alternatives]
    statuses = dict(Slot.objects.filter(schedule=clinic, date=day[0].date).values_list("pk", "status"))
    assert statuses[day[0].pk] == "stopped" and list(statuses.values()).count("stopped") == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (BookingStatus.CANCELLED, BookingStatus.BOOKED)
    # The slot is stopped now, or belongs to another day: the field slot_id says so.
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, day[0].date, "再停", slot_id=day[0].pk)) == {
        "slot_id"}
    later = slots_on(clinic, 4)[0]
    assert set(refused(do_stop_clinic, f.actor(registrar), clinic.pk, day[0].date, "再停", slot_id=later.pk)) == {
        "slot_id"}
