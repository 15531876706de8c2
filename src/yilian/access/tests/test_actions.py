"""Grants, their revocation, break-glass and its review."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from yilian.access.actions import (
    do_break_glass,
    do_grant,
    do_record_care,
    do_review_break_glass,
    do_revoke_grant,
)
from yilian.access.models import AuditEvent, BreakGlass, CareRelation, Grant
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.roles import Role
from yilian.testing import factories as f


def test_grant_is_audited(net, patient):
    grant = f.grant(patient, to_institution=net.village)
    row = AuditEvent.objects.get(object_type="grant")
    assert (row.action, row.basis, row.grant_id, row.patient_id) == ("create", "grant", grant.pk, patient.pk)


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"to_institution_id": None, "to_staff_id": None}, "to_institution"),
    ({"valid_to": timezone.now() - timedelta(days=1)}, "valid_to"),
])
def test_grant_errors(net, patient, kwargs, field):
    args = {"patient_id": patient.pk, "kind": "referral", "to_institution_id": net.village.pk,
            "valid_to": timezone.now() + timedelta(days=1)}
    args.update(kwargs)
    with pytest.raises(ActionError) as exc:
        do_grant(SYSTEM, **args)
    assert set(exc.value.errors) == {field}
    assert not Grant.objects.exists()


def test_revoke_once(net, patient):
    grant = f.grant(patient, to_institution=net.village)
    rows = AuditEvent.objects.count()
    do_revoke_grant(SYSTEM, grant)
    first = Grant.objects.get(pk=grant.pk).revoked_at
    do_revoke_grant(SYSTEM, grant)
    assert Grant.objects.get(pk=grant.pk).revoked_at == first
    assert AuditEvent.objects.count() == rows + 1


def test_record_care_is_idempotent(net, patient):
    now = timezone.now()
    a = do_record_care(patient.pk, net.village.pk, "booking", 7, now)
    b = do_record_care(patient.pk, net.village.pk, "booking", 7, now)
    assert a == b
    assert CareRelation.objects.filter(source_type="booking").count() == 1


def test_break_glass_lasts_the_configured_hours(outsider, patient):
    glass = f.break_glass(outsider, patient, reason="  昏迷待查  ")
    assert glass.reason == "昏迷待查"
    assert glass.expires_at - glass.started_at == timedelta(hours=settings.YILIAN_BREAK_GLASS_HOURS)
    row = AuditEvent.objects.latest("pk")
    assert (row.object_type, row.basis, row.reason, row.membership_id) == (
        "break_glass", "break_glass", "昏迷待查", outsider.pk)


@pytest.mark.parametrize(("role", "reason", "field"), [
    (Role.TECHNICIAN, "昏迷待查", "role"),
    (Role.REGISTRAR, "昏迷待查", "role"),
    (Role.DOCTOR, "急", "reason"),
    (Role.DOCTOR, "    ", "reason"),
    (Role.DOCTOR, None, "reason"),
])
def test_break_glass_errors(net, patient, role, reason, field):
    membership = f.make_membership(net.village, role)
    rows = AuditEvent.objects.count()
    with pytest.raises(ActionError) as exc:
        do_break_glass(f.actor(membership), patient.pk, reason)
    assert set(exc.value.errors) == {field}
    assert not BreakGlass.objects.exists()
    assert AuditEvent.objects.count() == rows


def test_nurse_may_break_the_glass(net, patient):
    nurse = f.make_membership(net.village, Role.NURSE)
    assert f.break_glass(nurse, patient).membership_id == nurse.pk


def test_review(secadmin, outsider, patient):
    glass = f.break_glass(outsider, patient)
    reviewed = do_review_break_glass(f.actor(secadmin), glass.pk, " 属实 ")
    assert (reviewed.reviewed_by_id, reviewed.review_note) == (secadmin.staff_id, "属实")
    row = AuditEvent.objects.filter(object_type="break_glass", action="update").get()
    assert (row.patient_id, row.object_id, row.username, row.reason) == (
        patient.pk, str(glass.pk), secadmin.staff.user.username, "break-glass reviewed")
    with pytest.raises(ActionError) as exc:
        do_review_break_glass(f.actor(secadmin), glass.pk, "again")
    assert set(exc.value.errors) == {"id"}
    assert BreakGlass.objects.get(pk=glass.pk).review_note == "属实"


def test_review_errors(net, secadmin, outsider, patient):
    glass = f.break_glass(outsider, patient)
    for role in (Role.DOCTOR, Role.AUDITOR, Role.SYSADMIN):
        with pytest.raises(ActionError) as exc:
            do_review_break_glass(f.actor(f.make_membership(net.county, role)), glass.pk, "")
        assert set(exc.value.errors) == {"role"}
    with pytest.raises(ActionError) as exc:
        do_review_break_glass(f.actor(secadmin), glass.pk + 100, "")
    assert set(exc.value.errors) == {"id"}
    assert BreakGlass.objects.get(pk=glass.pk).reviewed_at is None
