"""State changes of the access app: care relationships, grants, break-glass and its review.

Each `do_*` runs in a transaction and writes its audit row; `check_*` raises ActionError with a message
naming the field.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, audit
from yilian.access.models import Action, Basis, BreakGlass, CareRelation, Grant
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.roles import Cap


def do_record_care(patient_id: int, institution_id: int, source_type: str, source_id: int, since, *,
                   new: bool = False) -> CareRelation:
    """Called by the actions that create encounters, bookings and episodes (inside their transaction).
    `new`: the source row was created in this transaction, so no relation can exist for it yet."""
    if new:
        return CareRelation.objects.create(source_type=source_type, source_id=source_id,
                                           institution_id=institution_id, patient_id=patient_id, since=since)
    relation, _created = CareRelation.objects.get_or_create(
        source_type=source_type,
        source_id=source_id,
        institution_id=institution_id,
        defaults={"patient_id": patient_id, "since": since},
    )
    return relation


def do_grant(actor: Actor, *, patient_id: int, kind: str, valid_to, to_institution_id=None, to_staff_id=None,
             scope: str = "all", valid_from=None, reason: str = "", source_type: str = "", source_id=None) -> Grant:
    if to_institution_id is None and to_staff_id is None:
        raise ActionError("to_institution", _("A grant needs an institution or a staff member to grant to."))
    valid_from = valid_from or timezone.now()
    if valid_to <= valid_from:
        raise ActionError("valid_to", _("A grant must end after it starts."))
    with transaction.atomic():
        grant = Grant.objects.create(
            patient_id=patient_id, kind=kind, scope=scope, to_institution_id=to_institution_id,
            to_staff_id=to_staff_id, valid_from=valid_from, valid_to=valid_to, reason=reason,
            source_type=source_type, source_id=source_id,
        )
        audit(actor, patient_id=patient_id, object_type="grant", object_id=grant.pk, action=Action.CREATE,
              decision=Decision(Basis.GRANT, grant.pk, reason))
    return grant


def do_revoke_grant(actor: Actor, grant: Grant) -> Grant:
    with transaction.atomic():
        updated = Grant.objects.filter(pk=grant.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        grant.refresh_from_db()
        if updated:
            audit(actor, patient_id=grant.patient_id, object_type="grant", object_id=grant.pk,
                  action=Action.UPDATE, reason="revoked")
    return grant


def check_break_glass(actor: Actor, reason: str) -> str:
    if not actor.can(Cap.BREAK_GLASS):
        raise ActionError("role", _("Your role may not break the glass."))
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ActionError("reason", _("Give the reason for emergency access (at least 4 characters)."))
    return reason


def do_break_glass(actor: Actor, patient_id: int, reason: str) -> BreakGlass:
    reason = check_break_glass(actor, reason)
    now = timezone.now()
    with transaction.atomic():
        glass = BreakGlass.objects.create(
            patient_id=patient_id, membership=actor.membership, reason=reason, started_at=now,
            expires_at=now + timedelta(hours=settings.YILIAN_BREAK_GLASS_HOURS),
        )
        audit(actor, patient_id=patient_id, object_type="break_glass", object_id=glass.pk, action=Action.CREATE,
              decision=Decision(Basis.BREAK_GLASS, reason=reason))
    return glass


def do_review_break_glass(actor: Actor, glass_id: int, note: str) -> BreakGlass:
    if not actor.can(Cap.REVIEW_ACCESS):
        raise ActionError("role", _("Only a security administrator reviews break-glass access."))
    with transaction.atomic():
        glass = BreakGlass.objects.select_for_update().filter(pk=glass_id).first()
        if glass is None:
            raise ActionError("id", _("No such break-glass record."))
        if glass.reviewed_at is not None:
            raise ActionError("id", _("This break-glass record has already been reviewed."))
        glass.reviewed_at = timezone.now()
        glass.reviewed_by_id = actor.membership.staff_id
        glass.review_note = (note or "").strip()[:500]
        glass.save(update_fields=["reviewed_at", "reviewed_by", "review_note"])
        audit(actor, patient_id=glass.patient_id, object_type="break_glass", object_id=glass.pk,
              action=Action.UPDATE, reason="break-glass reviewed")
    return glass
