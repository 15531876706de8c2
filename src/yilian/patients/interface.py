"""Registration by a member's own system (HL7 ADT^A04 / A08 through `yilian.interop`): the registration desk's
checks and rows, for the institution the sending system speaks for.

- `do_register_from_interface`: a new record, as `actions.do_register_patient` writes it (identifiers,
  first QR token, the care relationship, blocking keys, one audit row) — checked by the desk's own
  `check_register`, run as that institution's desk;
- `do_claim_from_interface`: the person is known to the index (same resident ID): the institution now cares
  for them under that record, and the record gains the identifiers it sent (its record number);
- `do_update_from_interface`: the name, phone and address the member's system changed.

The actor is the interface's (`interop.identity.interface_actor`: no user, no membership); its audit rows
name the institution. Call inside the caller's transaction: nothing is kept unless everything is.
"""

import dataclasses

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_record_care
from yilian.access.gate import audit_row
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Membership
from yilian.network.roles import Role
from yilian.patients import residentid
from yilian.patients.actions import NAME, PHONE, NewPatient, check_register
from yilian.patients.identifiers import (
    SHAPE_MESSAGES,
    SHAPES,
    Ident,
    consortium_system_of,
    owner_of,
    registration_rows,
    resident_id_message,
    taken_message,
)
from yilian.patients.matching import do_index_patients
from yilian.patients.models import Identifier, IdentifierType, Patient, QrToken
from yilian.patients.qr import token_rows


def _desk(actor: Actor, institution_id: int) -> Actor:
    """The institution's registration desk, for `check_register` only (an unsaved membership: nothing is
    written as it)."""
    return Actor(user_id=None, username=actor.username, source=actor.source,
                 membership=Membership(institution_id=institution_id, role=Role.REGISTRAR))


def _audit(actor: Actor, institution_id: int, patient_id: int, action: str, reason: str,
           object_type: str = "patient", object_id=None) -> None:
    row = audit_row(actor, patient_id=patient_id, object_type=object_type,
                    object_id=patient_id if object_id is None else object_id, action=action, reason=reason)
    row.institution_id = institution_id
    row.save()


def shape_error(ident: Ident) -> str | None:
    """What is wrong with an identifier's shape, as the index requires it (`identifiers.SHAPES`, the
    resident ID's check digit), or None."""
    if ident.type == IdentifierType.RESIDENT_ID:
        try:
            residentid.parse(ident.value, today=timezone.localdate())
        except residentid.InvalidResidentId as exc:
            return resident_id_message(exc.code)
    elif ident.type in SHAPES and not SHAPES[ident.type].match(ident.value):
        return SHAPE_MESSAGES[ident.type]()
    return None


def check_identifiers(idents: list[Ident]) -> list[Ident]:
    """Every identifier well formed, or ActionError naming `identifiers.i`."""
    errors = {f"identifiers.{i}": e for i, e in enumerate(map(shape_error, idents)) if e}
    if errors:
        raise ActionError(errors=errors)
    return list(idents)


def do_register_from_interface(actor: Actor, institution_id: int, data: NewPatient, idents: list[Ident]) -> Patient:
    clean = check_register(_desk(actor, institution_id), dataclasses.replace(data, mrn="", insurance=""))
    extra = [i for i in check_identifiers(idents) if i.type != IdentifierType.RESIDENT_ID]
    for ident in extra:
        if owner_of(ident) is not None:
            raise ActionError("identifiers", taken_message(ident.type))
    now = timezone.now()
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                name=clean.name, sex=clean.sex, birth_date=clean.birth_date, resident_id=clean.resident_id or None,
                phone=clean.phone, address=clean.address, registered_at_id=institution_id)
            Identifier.objects.bulk_create(registration_rows(patient, consortium_system_of(institution_id), extra))
            QrToken.objects.bulk_create(token_rows([patient], now))
            do_record_care(patient.pk, institution_id, "registration", patient.pk, now, new=True)
            do_index_patients([patient.pk])
            _audit(actor, institution_id, patient.pk, Action.CREATE, "registration by interface")
    except IntegrityError:
        raise ActionError("resident_id", taken_message("resident_id")) from None
    return patient


def do_claim_from_interface(actor: Actor, institution_id: int, patient: Patient, idents: list[Ident], *,
                            reason: str = "registration by interface", skip_taken: bool = False) -> list[Identifier]:
    """The institution cares for `patient`; the identifiers of `idents` the record lacks are added (the
    resident ID is the record's own and is not). An identifier another record holds refuses it all, or is
    left out with `skip_taken` (the index desk choosing the patient by hand)."""
    new = []
    idents = [i for i in idents if shape_error(i) is None] if skip_taken else check_identifiers(idents)
    for ident in idents:
        if ident.type == IdentifierType.RESIDENT_ID:
            continue
        owner = owner_of(ident)
        if owner is not None and owner != patient.pk:
            if skip_taken:
                continue
            raise ActionError("identifiers", taken_message(ident.type))
        if owner is None:
            new.append(ident)
    now = timezone.now()
    try:
        with transaction.atomic():
            do_record_care(patient.pk, institution_id, "registration", patient.pk, now)
            rows = Identifier.objects.bulk_create([Identifier(patient=patient, type=i.type, system=i.system,
                                                              value=i.value) for i in new])
            _audit(actor, institution_id, patient.pk, Action.UPDATE,
                   f"{reason}; linked {', '.join(i.type for i in new) or 'nothing new'}")
    except IntegrityError:
        raise ActionError("identifiers", taken_message("value")) from None
    return rows


def check_update(name: str, phone: str, address: str) -> None:
    errors = {}
    if name and not NAME.match(name):
        errors["name"] = _("Name: 1–50 Chinese characters or letters (· allowed).")
    if phone and not PHONE.match(phone):
        errors["phone"] = _("Phone: an 11-digit mobile number or a landline with area code.")
    if len(address) > 200:
        errors["address"] = _("Address: at most 200 characters.")
    elif any(ord(c) < 32 for c in address):
        errors["address"] = _("Address: text only, without control characters.")
    if errors:
        raise ActionError(errors=errors)


def do_update_from_interface(actor: Actor, institution_id: int, patient: Patient, *, name: str = "",
                             phone: str = "", address: str = "", cleared=frozenset()) -> list[str]:
    """Change the fields sent (a value, or cleared: phone and address only); returns the fields changed."""
    name, phone, address = name.strip(), phone.strip(), address.strip()
    check_update(name, phone, address)
    wanted = {"name": name, "phone": phone, "address": address}
    changes = {k: v for k, v in wanted.items() if (v or (k in cleared and k != "name")) and getattr(patient, k) != v}
    if not changes:
        return []
    with transaction.atomic():
        Patient.objects.filter(pk=patient.pk).update(**changes)
        do_index_patients([patient.pk])
        _audit(actor, institution_id, patient.pk, Action.UPDATE, f"update by interface: {', '.join(sorted(changes))}")
    for k, v in changes.items():
        setattr(patient, k, v)
    return sorted(changes)
