"""Registering a patient and unmasking their identifiers."""

import re
from dataclasses import dataclass
from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_record_care
from yilian.access.gate import Decision, audit, audit_row
from yilian.access.models import Action, AuditEvent, Basis, CareRelation
from yilian.errors import ActionError, check_each
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients import residentid
from yilian.patients.identifiers import (
    Ident,
    check_registration_identifiers,
    consortium_system_of,
    owner_of,
    registration_rows,
    taken_message,
)
from yilian.patients.matching import do_index_patients
from yilian.patients.merging import survivor_id
from yilian.patients.models import Identifier, IdentifierType, Patient, QrToken, Sex
from yilian.patients.qr import token_rows

NAME = re.compile(r"^[\u3400-\u9fffA-Za-z·•\.\- ]{1,50}$")
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)


@dataclass
class NewPatient:
    name: str
    sex: str = ""
    birth_date: date | None = None
    resident_id: str = ""
    phone: str = ""
    address: str = ""
    mrn: str = ""  # this institution's medical record number, if it has its own system
    insurance: str = ""  # the insurance card number, if the person presents the card


def check_register(actor: Actor, data: NewPatient) -> NewPatient:
    """Validate everything and report every bad field at once."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not register patients."))
    errors: dict[str, str] = {}
    name = (data.name or "").strip()
    if not NAME.match(name):
        errors["name"] = _("Name: 1–50 Chinese characters or letters (· allowed).")
    rid = residentid.normalise(data.resident_id)
    sex, born = data.sex, data.birth_date
    if rid:
        try:
            parsed = residentid.parse(rid, today=timezone.localdate())
        except residentid.InvalidResidentId as exc:
            errors["resident_id"] = {
                "shape": _("Resident ID: 18 characters, digits with an optional final X."),
                "date": _("Resident ID: the birth date inside it is not a real date."),
                "check": _("Resident ID: the check digit does not match (a digit was mistyped?)."),
            }[exc.code]
        else:
            if born and born != parsed.birth_date:
                errors["birth_date"] = _("Date of birth does not match the resident ID.")
            if sex in (Sex.MALE, Sex.FEMALE) and sex != parsed.sex:
                errors["sex"] = _("Sex does not match the resident ID.")
            born, sex = born or parsed.birth_date, sex or parsed.sex
    rid_failed = "resident_id" in errors  # the ID was meant to give sex and birth date: say only that
    if sex not in Sex.values and not (rid_failed and not sex):
        errors.setdefault("sex", _("Sex: choose one of unknown, male, female, unspecified."))
    if born is None:
        if not rid_failed:
            errors.setdefault("birth_date", _("Date of birth is required when there is no resident ID."))
    elif born > timezone.localdate() or born.year < 1880:
        errors.setdefault("birth_date", _("Date of birth must be a past date after 1880."))
    phone = (data.phone or "").strip().replace(" ", "")
    if phone and not PHONE.match(phone):
        errors["phone"] = _("Phone: an 11-digit mobile number or a landline with area code.")
    address = (data.address or "").strip()
    if len(address) > 200:
        errors["address"] = _("Address: at most 200 characters.")
    elif any(ord(c) < 32 for c in address):  # PostgreSQL refuses NUL; no address needs a control character
        errors["address"] = _("Address: text only, without control characters.")
    ident_errors, idents = check_registration_identifiers(actor, data.mrn, data.insurance)
    errors.update(ident_errors)
    if errors:
        raise ActionError(errors=errors)
    typed = {i.type: i.value for i in idents}
    return NewPatient(name=name, sex=sex, birth_date=born, resident_id=rid, phone=phone, address=address,
                      mrn=typed.get(IdentifierType.MRN, ""), insurance=typed.get(IdentifierType.INSURANCE, ""))


def _taken(items: list[NewPatient], actor: Actor, batch: bool = False) -> ActionError | None:
    """The first identifier of `items` already held by a record, named by its field (`patients.i.field`
    for a batch)."""
    for i, item in enumerate(items):
        prefix = f"patients.{i}." if batch else ""
        if item.resident_id and Patient.objects.filter(resident_id=item.resident_id).exists():
            return ActionError(f"{prefix}resident_id", taken_message("resident_id"))
        for ident in registration_identifiers(actor, item):
            if owner_of(ident) is not None:
                return ActionError(f"{prefix}{ident_field(ident)}", taken_message(ident.type))
    return None


def do_register_patient(actor: Actor, data: NewPatient) -> Patient:
    """A new record: the patient, their identifiers (consortium number, resident ID, MRN, insurance card),
    their first QR token, the care relationship and the audit row, in one transaction."""
    clean = check_register(actor, data)
    system = consortium_system_of(actor.institution_id)
    try:
        with transaction.atomic():
            patient = Patient.objects.create(
                name=clean.name, sex=clean.sex, birth_date=clean.birth_date, resident_id=clean.resident_id or None,
                phone=clean.phone, address=clean.address, registered_at_id=actor.institution_id,
            )
            Identifier.objects.bulk_create(registration_rows(patient, system, registration_identifiers(actor, clean)))
            QrToken.objects.bulk_create(token_rows([patient], timezone.now()))
            do_record_care(patient.pk, actor.institution_id, "registration", patient.pk, timezone.now())
            do_index_patients([patient.pk])  # its blocking keys, for search before create
            audit(actor, patient_id=patient.pk, object_type="patient", object_id=patient.pk,
                  action=Action.CREATE, decision=Decision(Basis.CARE))
    except IntegrityError:
        raise _taken([clean], actor) or ActionError("resident_id", taken_message("resident_id")) from None
    return patient


def check_check_in(actor: Actor, resident_id: str) -> str:
    """The normalised resident ID, if the actor may check patients in and the number is valid."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not check patients in."))
    rid = residentid.normalise(resident_id)
    try:
        residentid.parse(rid)
    except residentid.InvalidResidentId:
        raise ActionError("resident_id", _("Resident ID: not a valid number.")) from None
    return rid


def do_check_in(actor: Actor, resident_id: str) -> Patient:
    """The patient stands at this institution's desk with their ID card: the institution now cares for
    them. (The patient-identity issue adds the QR code and the consortium's own number.)"""
    rid = check_check_in(actor, resident_id)
    with transaction.atomic():
        patient = Patient.objects.filter(resident_id=rid).first()
        if patient is None:
            raise ActionError("resident_id", _("No patient with this resident ID; register them first."))
        if patient.merged_into_id is not None:  # the record was merged: check the survivor in
            patient = Patient.objects.get(pk=survivor_id(patient.pk))
        do_record_care(patient.pk, actor.institution_id, "check_in", patient.pk, timezone.now())
        audit(actor, patient_id=patient.pk, object_type="patient", object_id=patient.pk, action=Action.UPDATE,
              decision=Decision(Basis.CARE), reason="check-in")
    return patient


def registration_identifiers(actor: Actor, clean: NewPatient) -> list[Ident]:
    """The MRN and insurance card of checked registration data, as identifiers to write."""
    _errors, idents = check_registration_identifiers(actor, clean.mrn, clean.insurance)
    return idents


def ident_field(ident: Ident) -> str:
    return "mrn" if ident.type == IdentifierType.MRN else "insurance"


# --- batch forms (importers, the demo generator): the same checks, bulk writes, all or nothing ---------


def _created_audit(actor: Actor, patient_id: int, now, action: str = Action.CREATE, reason: str = "") -> AuditEvent:
    """The row `audit(..., decision=Decision(Basis.CARE))` writes, built for a bulk insert."""
    return audit_row(actor, patient_id=patient_id, object_type="patient", object_id=patient_id, action=action,
                     decision=Decision(Basis.CARE), reason=reason)


def do_register_patients(actor: Actor, items: list[NewPatient]) -> list[Patient]:
    """Register many patients at the actor's institution: `check_register` for each (errors prefixed
    `patients.i.`), one care relationship and one audit row per patient, as `do_register_patient` writes."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not register patients."))
    clean = check_each("patients", items, lambda item: check_register(actor, item))
    rids = [c.resident_id for c in clean if c.resident_id]
    taken = set(Patient.objects.filter(resident_id__in=rids).values_list("resident_id", flat=True)) if rids else set()
    seen: set[str] = set()
    for i, c in enumerate(clean):
        if c.resident_id and (c.resident_id in taken or c.resident_id in seen):
            raise ActionError(f"patients.{i}.resident_id", _("A patient with this resident ID is already registered."))
        seen.add(c.resident_id)
    extra = [registration_identifiers(actor, c) for c in clean]
    keys = [(x.type, x.system, x.value) for idents in extra for x in idents]
    if len(set(keys)) != len(keys) or any(owner_of(x) is not None for idents in extra for x in idents):
        raise _taken(clean, actor, batch=True) or ActionError("patients", taken_message("value"))
    system = consortium_system_of(actor.institution_id)
    now = timezone.now()
    try:
        with transaction.atomic():
            patients = Patient.objects.bulk_create([
                Patient(name=c.name, sex=c.sex, birth_date=c.birth_date, resident_id=c.resident_id or None,
                        phone=c.phone, address=c.address, registered_at_id=actor.institution_id)
                for c in clean
            ])
            Identifier.objects.bulk_create([row for p, idents in zip(patients, extra, strict=True)
                                            for row in registration_rows(p, system, idents)])
            QrToken.objects.bulk_create(token_rows(patients, now))
            CareRelation.objects.bulk_create([
                CareRelation(patient_id=p.pk, institution_id=actor.institution_id, source_type="registration",
                             source_id=p.pk, since=now)
                for p in patients
            ])
            AuditEvent.objects.bulk_create([_created_audit(actor, p.pk, now) for p in patients])
            do_index_patients([p.pk for p in patients])
    except IntegrityError:
        raise ActionError("resident_id", _("A patient with this resident ID is already registered.")) from None
    return patients


def do_check_in_many(actor: Actor, resident_ids: list[str]) -> list[Patient]:
    """Check many patients in at the actor's institution (`check_check_in` for each, errors prefixed
    `resident_ids.i.`): one care relationship per patient (kept if it exists) and one audit row each."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not check patients in."))
    rids = check_each("resident_ids", resident_ids, lambda value: check_check_in(actor, value))
    now = timezone.now()
    with transaction.atomic():
        found = {p.resident_id: p for p in Patient.objects.filter(resident_id__in=set(rids))}
        for i, rid in enumerate(rids):
            if rid not in found:
                raise ActionError(f"resident_ids.{i}.resident_id",
                                  _("No patient with this resident ID; register them first."))
        merged = {p.pk: survivor_id(p.pk) for p in found.values() if p.merged_into_id is not None}
        survivors = {p.pk: p for p in Patient.objects.filter(pk__in=set(merged.values()))}
        patients = [survivors[merged[found[rid].pk]] if found[rid].pk in merged else found[rid] for rid in rids]
        CareRelation.objects.bulk_create(
            [CareRelation(patient_id=p.pk, institution_id=actor.institution_id, source_type="check_in",
                          source_id=p.pk, since=now) for p in patients],
            ignore_conflicts=True,  # an existing relationship stays as it is, as get_or_create leaves it
        )
        AuditEvent.objects.bulk_create(
            [_created_audit(actor, p.pk, now, action=Action.UPDATE, reason="check-in") for p in patients])
    return patients
