"""就诊一码通: an opaque token per patient, rotation, and check-in by scan at any member."""

import pytest
from django.http import Http404
from django.utils import translation

from yilian.access.gate import decide
from yilian.access.models import AuditEvent, CareRelation
from yilian.errors import ActionError
from yilian.network.roles import Role
from yilian.patients import qr
from yilian.patients.models import QrToken
from yilian.testing import factories as f


def live(patient) -> QrToken:
    return QrToken.objects.get(patient=patient, revoked_at__isnull=True)


def test_the_token_is_opaque(patient):
    token = live(patient).token
    assert len(token) == 24
    assert patient.resident_id[-6:] not in token and str(patient.pk) != token
    assert patient.phone[-4:] not in token or token.count(patient.phone[-4:]) == 0
    assert qr.svg(token).startswith("<svg")


def test_tokens_differ_between_patients(registrar):
    tokens = {live(f.register_patient(registrar)).token for _ in range(20)}
    assert len(tokens) == 20


def test_rotate_revokes_the_old_token(registrar, patient):
    old = live(patient)
    mark = AuditEvent.objects.count()
    new = qr.do_rotate_qr(f.actor(registrar), patient.pk)
    old.refresh_from_db()
    assert old.revoked_at is not None and new.revoked_at is None and new.token != old.token
    assert QrToken.objects.filter(patient=patient, revoked_at__isnull=True).count() == 1
    rows = list(AuditEvent.objects.order_by("pk")[mark:])
    assert [(r.object_type, r.action, r.reason, r.outcome) for r in rows] == [("qr", "update", "rotated", "success")]


def test_rotate_needs_access(net, patient):
    desk = f.make_membership(net.village, Role.REGISTRAR)
    with pytest.raises(Http404):
        qr.do_rotate_qr(f.actor(desk), patient.pk)
    assert QrToken.objects.filter(patient=patient).count() == 1


def test_scan_at_another_member_creates_the_care_relationship(net, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    assert decide(f.actor(desk), patient.pk) is None
    mark = AuditEvent.objects.count()
    assert qr.do_qr_check_in(f.actor(desk), "  " + live(patient).token + "\n") == patient
    assert CareRelation.objects.filter(patient=patient, institution=net.township, source_type="check_in").exists()
    assert decide(f.actor(desk), patient.pk).basis == "care"
    row = AuditEvent.objects.order_by("pk")[mark]
    assert (row.patient_id, row.action, row.reason, row.institution_id) == (
        patient.pk, "update", "check-in (QR)", net.township.pk)
    qr.do_qr_check_in(f.actor(desk), live(patient).token)  # twice: still one relationship
    assert CareRelation.objects.filter(patient=patient, institution=net.township).count() == 1


def test_unknown_and_revoked_tokens_answer_alike(net, registrar, patient):
    desk = f.make_membership(net.township, Role.REGISTRAR)
    old = live(patient).token
    qr.do_rotate_qr(f.actor(registrar), patient.pk)
    before = CareRelation.objects.count(), AuditEvent.objects.count()
    answers = []
    for token in (old, "no-such-token-at-all-xxxx"):
        with translation.override("en"), pytest.raises(ActionError) as exc:
            qr.do_qr_check_in(f.actor(desk), token)
        answers.append(exc.value.errors)
    assert answers[0] == answers[1]
    assert "not valid" in answers[0]["token"]
    assert (CareRelation.objects.count(), AuditEvent.objects.count()) == before


def test_scan_checks_the_role_and_the_input(net, owner, patient):
    with pytest.raises(ActionError) as exc:
        qr.do_qr_check_in(f.actor(owner), live(patient).token)
    assert set(exc.value.errors) == {"role"}
    desk = f.make_membership(net.township, Role.REGISTRAR)
    with pytest.raises(ActionError) as exc:
        qr.do_qr_check_in(f.actor(desk), " \t")
    assert set(exc.value.errors) == {"token"}
