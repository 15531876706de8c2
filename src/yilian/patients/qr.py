"""就诊一码通: one QR code per patient for every visit at every member.

The code holds an opaque random token (`secrets.token_urlsafe`, 144 bits), nothing else: no identifier,
no name, no number that could be guessed or read off the card. Registration issues the first token;
rotating (a lost card) revokes the old one at once. A scan at any member's desk resolves the patient and
creates the care relationship for that visit, as a check-in by resident ID does. An unknown token and a
revoked one get the same answer.
"""

import re
import secrets
import unicodedata

import segno
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_record_care
from yilian.access.gate import Decision, access_patient_for_write, audit
from yilian.access.models import Action, Basis
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients.models import Patient, QrToken

TOKEN_BYTES = 18  # 24 URL-safe characters
SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,64}$", re.ASCII)  # what token_urlsafe makes (older tokens may be longer)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_rows(patients, now) -> list[QrToken]:
    """The first token of each new record (registration writes them with the patient)."""
    return [QrToken(patient=p, token=new_token(), created_at=now) for p in patients]


def live_token(patient_id: int) -> QrToken | None:
    return QrToken.objects.filter(patient_id=patient_id, revoked_at__isnull=True).first()


def svg(token: str, scale: int = 4) -> str:
    """The QR code as inline SVG (no file, no network), error correction M."""
    return segno.make(token, error="m").svg_inline(scale=scale, title=_("Visit QR code"))


def do_rotate_qr(actor: Actor, patient_id) -> QrToken:
    """Issue a new card: the old token stops working at once."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not issue QR cards."))
    patient, decision = access_patient_for_write(actor, patient_id, Action.UPDATE, object_type="qr")
    now = timezone.now()
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one rotation at a time
        QrToken.objects.filter(patient_id=patient.pk, revoked_at__isnull=True).update(revoked_at=now)
        row = QrToken.objects.create(patient_id=patient.pk, token=new_token(), created_at=now)
        audit(actor, patient_id=patient.pk, object_type="qr", object_id=row.pk, action=Action.UPDATE,
              decision=decision, reason="rotated")
    return row


def normalise(token: str) -> str:
    """What a scanner or a person typed: full-width characters to ASCII, no white space."""
    return "".join(unicodedata.normalize("NFKC", token or "").split())


def invalid() -> ActionError:
    """Unknown, revoked and malformed codes all get this one answer."""
    return ActionError("token", _("This QR code is not valid: it is unknown or has been replaced by a newer card."))


def check_qr_check_in(actor: Actor, token: str) -> str:
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not check patients in."))
    token = normalise(token)
    if not token:
        raise ActionError("token", _("Scan the patient's QR code or type the code under it."))
    if not SHAPE.match(token):
        raise invalid()
    return token


def do_qr_check_in(actor: Actor, token: str) -> Patient:
    """The patient shows their card at this member's desk: this institution now cares for them. A code of a
    merged record leads to the surviving record."""
    from yilian.patients.merging import survivor_id

    token = check_qr_check_in(actor, token)
    with transaction.atomic():
        patient_id = (QrToken.objects.filter(token=token, revoked_at__isnull=True)
                      .values_list("patient_id", flat=True).first())
        if patient_id is None:  # unknown and revoked answer alike
            raise invalid()
        patient = Patient.objects.get(pk=survivor_id(patient_id))
        do_record_care(patient.pk, actor.institution_id, "check_in", patient.pk, timezone.now())
        audit(actor, patient_id=patient.pk, object_type="patient", object_id=patient.pk, action=Action.UPDATE,
              decision=Decision(Basis.CARE), reason="check-in (QR)")
    return patient
