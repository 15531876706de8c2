"""Registering a member's system as a sender (the system administrator's job, or the command line acting as
the system): its code and name, the institution it speaks for, its HL7 v2 sending application and facility
(MSH-3, MSH-4), the assigning authority of its record numbers, and optionally a FHIR bearer token, of
which only the SHA-256 digest is kept (the token is shown once)."""

import hashlib
import re
import secrets
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.interop.models import Sender
from yilian.network.acting import SYSTEM, Actor
from yilian.network.models import Institution
from yilian.network.roles import Cap

CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,29}$")
HL7_NAME = re.compile(r"^[^|^~\\&\r\n]{1,180}$")  # no HL7 delimiter inside a namespace id


@dataclass
class NewSender:
    code: str
    name: str
    institution_id: int
    hl7_application: str = ""
    hl7_facility: str = ""
    mrn_authority: str = ""
    fhir: bool = False  # issue a bearer token


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_register_sender(actor: Actor, data: NewSender) -> None:
    if actor != SYSTEM and not actor.can(Cap.CONFIGURE):
        raise ActionError("role", _("Your role may not configure the network."))
    errors = {}
    if not CODE.match(data.code or ""):
        errors["code"] = _("Code: 1–30 letters, digits, '.', '_' or '-'.")
    elif Sender.objects.filter(code=data.code).exists():
        errors["code"] = _("A sending system with this code exists.")
    if not (data.name or "").strip() or len(data.name) > 100:
        errors["name"] = _("Name: 1–100 characters.")
    if not Institution.objects.filter(pk=data.institution_id).exists():
        errors["institution"] = _("Choose a member institution.")
    if data.hl7_application and not HL7_NAME.match(data.hl7_application):
        errors["hl7_application"] = _("HL7 name: up to 180 characters without | ^ ~ \\ &.")
    if data.hl7_facility and not HL7_NAME.match(data.hl7_facility):
        errors["hl7_facility"] = _("HL7 name: up to 180 characters without | ^ ~ \\ &.")
    if data.hl7_facility and not data.hl7_application:
        errors["hl7_application"] = _("Give the sending application with the facility.")
    if (data.hl7_application and Sender.objects.filter(hl7_application=data.hl7_application,
                                                       hl7_facility=data.hl7_facility).exists()):
        errors["hl7_application"] = _("Another sending system uses this application and facility.")
    if len(data.mrn_authority or "") > 64:
        errors["mrn_authority"] = _("Assigning authority: at most 64 characters.")
    if errors:
        raise ActionError(errors=errors)


def do_register_sender(actor: Actor, data: NewSender) -> tuple[Sender, str]:
    """(the sender, its FHIR bearer token or "") — the token is not kept, only its digest."""
    check_register_sender(actor, data)
    token = secrets.token_urlsafe(32) if data.fhir else ""
    try:
        with transaction.atomic():
            sender = Sender.objects.create(
                code=data.code, name=data.name.strip(), institution_id=data.institution_id,
                hl7_application=data.hl7_application, hl7_facility=data.hl7_facility,
                mrn_authority=data.mrn_authority, token_digest=digest(token) if token else "")
    except IntegrityError:
        raise ActionError("code", _("A sending system with this code exists.")) from None
    return sender, token


def do_new_token(actor: Actor, sender_code: str) -> str:
    """A new FHIR bearer token for the sender (the old one stops working)."""
    if actor != SYSTEM and not actor.can(Cap.CONFIGURE):
        raise ActionError("role", _("Your role may not configure the network."))
    token = secrets.token_urlsafe(32)
    if not Sender.objects.filter(code=sender_code).update(token_digest=digest(token)):
        raise ActionError("code", _("No sending system has this code."))
    return token
