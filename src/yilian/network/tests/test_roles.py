"""The capability table: deny by default."""

from yilian.network.acting import SYSTEM, Actor
from yilian.network.roles import CAPABILITIES, Cap, Role, has_cap


def test_every_capability_is_held_by_some_role():
    held = set().union(*CAPABILITIES.values())
    assert held == set(Cap.values)


def test_roles_without_entry_hold_nothing():
    for role in Role.values:
        if role not in CAPABILITIES:
            assert not any(has_cap(role, cap) for cap in Cap.values)
    assert Role.PHARMACIST not in CAPABILITIES


def test_actor_without_membership_can_do_nothing():
    assert SYSTEM.role is None
    assert not any(SYSTEM.can(cap) for cap in Cap.values)
    anonymous = Actor(user_id=None, username="", membership=None)
    assert anonymous.institution_id is None
    assert not anonymous.can(Cap.CLINICAL)


def test_only_clinical_roles_unmask_or_break_glass():
    for cap in (Cap.UNMASK, Cap.BREAK_GLASS, Cap.RECORD_VISIT, Cap.REGISTER):
        holders = {r for r in Role.values if has_cap(r, cap)}
        assert holders <= {Role.DOCTOR, Role.NURSE, Role.REGISTRAR}, cap


def test_only_the_consortium_manager_sets_members_policy():
    assert {r for r in Role.values if has_cap(r, Cap.POLICY)} == {Role.MANAGER}
    # Setting policy rows reads no patient: the manager still sees aggregates only.
    assert CAPABILITIES[Role.MANAGER] == frozenset({Cap.DASHBOARD, Cap.POLICY})
