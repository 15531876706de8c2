"""A patient's identifiers: the resident ID, the consortium's own patient number, each member's MRN,
insurance and e-health cards, passports and Hong Kong/Macau/Taiwan permits.

`(type, system, value)` is unique across the consortium (the database enforces it). Registration writes the
resident ID and the consortium number (`registration_rows`); `do_link_identifier` / `do_unlink_identifier`
add and remove the others, one audit row each.
"""

import re
import unicodedata
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, access_patient_for_write, audit
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.patients import residentid
from yilian.patients.masking import mask_identifier
from yilian.patients.models import Identifier, IdentifierType, Patient, Sex

T = IdentifierType
RESIDENT_ID_SYSTEM = "GB11643"
PERMIT_SYSTEM = "CN-NIA"  # 国家移民管理局 issues both mainland travel permits
HEALTH_CARD_SYSTEM = "EHC"

# Value shapes, checked after `normalise`. Insurance: the 社保卡 card number (9 characters) or a medical
# insurance number (up to 20); e-health card: the card's main index (up to 64); passports: ICAO 9303 allows
# up to 9 characters, some countries' older numbers are longer; 回乡证: H/M + 8 digits (+2 for the card
# edition); 台胞证: 8 digits (+2).
SHAPES: dict[str, re.Pattern] = {
    T.MRN: re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{0,29}$", re.ASCII),
    T.INSURANCE: re.compile(r"^[A-Z0-9]{6,20}$", re.ASCII),
    T.HEALTH_CARD: re.compile(r"^[A-Z0-9]{8,64}$", re.ASCII),
    T.PASSPORT: re.compile(r"^[A-Z0-9]{5,17}$", re.ASCII),
    T.HKMO_PERMIT: re.compile(r"^[HM]\d{8}(\d{2})?$", re.ASCII),
    T.TW_PERMIT: re.compile(r"^\d{8}(\d{2})?$", re.ASCII),
}
DIVISION = re.compile(r"^\d{6}$", re.ASCII)
COUNTRY = re.compile(r"^[A-Z]{3}$", re.ASCII)
LINKABLE = [t for t in T.values if t != T.CONSORTIUM]  # the consortium number is issued, never typed in


def normalise(value: str) -> str:
    """Full-width characters (as Chinese input methods type them) to ASCII, no spaces, upper case."""
    return unicodedata.normalize("NFKC", value or "").strip().replace(" ", "").upper()


# --- the consortium patient number ------------------------------------------------------------------------


def mod11_2(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character (the one GB 11643 uses), for any number of digits."""
    p = 0
    for d in digits:
        p = ((p + int(d)) * 2) % 11
    return "0123456789X"[(12 - p) % 11]


def consortium_number(patient_id: int) -> str:
    """The consortium's own patient number: the record's id, zero-padded to 10 digits, and a check
    character that catches any single mistyped digit. It comes from the primary key, so two registrars
    can never be given the same number, without a counter to lock."""
    body = f"{patient_id:010d}"
    return body + mod11_2(body)


def consortium_system(division_code: str) -> str:
    """The issuing system of a consortium's numbers: "YL-" and the county's division code."""
    return f"YL-{division_code}"


def consortium_system_of(institution_id: int) -> str:
    division = Institution.objects.filter(pk=institution_id).values_list("consortium__division_code", flat=True)
    return consortium_system(division.first() or "000000")


# --- checking one identifier --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ident:
    type: str
    system: str
    value: str


def _system_for(actor: Actor, kind: str, system: str, errors: dict[str, str]) -> str:
    system = normalise(system)
    if kind == T.RESIDENT_ID:
        return RESIDENT_ID_SYSTEM
    if kind == T.MRN:  # a member writes only its own record numbers
        return Institution.objects.filter(pk=actor.institution_id).values_list("code", flat=True).first() or ""
    if kind in (T.HKMO_PERMIT, T.TW_PERMIT):
        return PERMIT_SYSTEM
    if kind == T.INSURANCE:
        if not system:
            return Institution.objects.filter(pk=actor.institution_id).values_list(
                "consortium__division_code", flat=True).first() or ""
        if not DIVISION.match(system):
            errors["system"] = _("Insuring region: a 6-digit administrative division code.")
        return system
    if kind == T.HEALTH_CARD:
        if system and not re.match(r"^[A-Z0-9\-]{2,32}$", system, re.ASCII):
            errors["system"] = _("Issuer: 2–32 letters, digits or hyphens.")
        return system or HEALTH_CARD_SYSTEM
    if kind == T.PASSPORT and not COUNTRY.match(system):
        errors["system"] = _("Passport: give the issuing country as three letters (CHN, USA, …).")
    return system


SHAPE_MESSAGES = {
    T.MRN: lambda: _("Medical record number: 1–30 letters, digits or hyphens."),
    T.INSURANCE: lambda: _("Insurance card number: 6–20 letters or digits."),
    T.HEALTH_CARD: lambda: _("E-health card number: 8–64 letters or digits."),
    T.PASSPORT: lambda: _("Passport number: 5–17 letters or digits."),
    T.HKMO_PERMIT: lambda: _("Hong Kong/Macau permit: H or M followed by 8 or 10 digits."),
    T.TW_PERMIT: lambda: _("Taiwan permit: 8 or 10 digits."),
}


def resident_id_message(code: str) -> str:
    return {
        "shape": _("Resident ID: 18 characters, digits with an optional final X."),
        "date": _("Resident ID: the birth date inside it is not a real date."),
        "check": _("Resident ID: the check digit does not match (a digit was mistyped?)."),
    }[code]


def check_identifier(actor: Actor, kind: str, value: str, system: str = "", *,
                     patient: Patient | None = None, field: str = "value") -> Ident:
    """Validate one identifier the actor types in (for `patient`, when known: a resident ID must agree with
    their birth date and sex). Errors name `type`, `system` and `field`."""
    errors: dict[str, str] = {}
    if kind not in LINKABLE:
        raise ActionError("type", _("Identifier type: choose one of the listed types."))
    system = _system_for(actor, kind, system, errors)
    value = residentid.normalise(value) if kind == T.RESIDENT_ID else normalise(value)
    if kind == T.MRN:
        value = unicodedata.normalize("NFKC", value).strip()
    if not value:
        errors[field] = _("This field is required.")
    elif kind == T.RESIDENT_ID:
        try:
            parsed = residentid.parse(value, today=timezone.localdate())
        except residentid.InvalidResidentId as exc:
            errors[field] = resident_id_message(exc.code)
        else:
            if patient is not None and parsed.birth_date != patient.birth_date:
                errors[field] = _("Resident ID: its birth date does not match the patient's date of birth.")
            elif patient is not None and patient.sex in (Sex.MALE, Sex.FEMALE) and parsed.sex != patient.sex:
                errors[field] = _("Resident ID: its sex digit does not match the patient's sex.")
    elif not SHAPES[kind].match(value):
        errors[field] = SHAPE_MESSAGES[kind]()
    if errors:
        raise ActionError(errors=errors)
    return Ident(kind, system, value)


def owner_of(ident: Ident) -> int | None:
    """The id of the record that holds this identifier (no patient data), or None."""
    return (Identifier.objects.filter(type=ident.type, system=ident.system, value=ident.value)
            .values_list("patient_id", flat=True).first())


# --- registration -------------------------------------------------------------------------------------------


def check_registration_identifiers(actor: Actor, mrn: str, insurance: str) -> tuple[dict[str, str], list[Ident]]:
    """The optional MRN and insurance card typed on the registration form: (errors by form field, the
    identifiers to write)."""
    errors: dict[str, str] = {}
    out: list[Ident] = []
    for field, kind, value in (("mrn", T.MRN, mrn), ("insurance", T.INSURANCE, insurance)):
        if not (value or "").strip():
            continue
        try:
            out.append(check_identifier(actor, kind, value, field=field))
        except ActionError as exc:
            errors.update(exc.errors)
    return errors, out


def taken_message(field: str) -> str:
    if field == "resident_id":
        return _("A patient with this resident ID is already registered.")
    return _("This identifier already belongs to a registered patient.")


def registration_rows(patient: Patient, system: str, extra: list[Ident] = ()) -> list[Identifier]:
    """The identifiers a new record starts with: the consortium number, the resident ID if given, and the
    MRN and insurance card typed at registration."""
    rows = [Identifier(patient=patient, type=T.CONSORTIUM, system=system, value=consortium_number(patient.pk))]
    if patient.resident_id:
        rows.append(Identifier(patient=patient, type=T.RESIDENT_ID, system=RESIDENT_ID_SYSTEM,
                               value=patient.resident_id))
    rows += [Identifier(patient=patient, type=i.type, system=i.system, value=i.value) for i in extra]
    return rows


# --- link and unlink ----------------------------------------------------------------------------------------


def _writable(actor: Actor, patient_id, object_type: str, action: str) -> tuple[Patient, Decision]:
    """The patient, for a write by a registrar who may see them; a denial is audited and answers 404."""
    return access_patient_for_write(actor, patient_id, action, object_type=object_type)


def do_link_identifier(actor: Actor, patient_id: int, kind: str, value: str, system: str = "") -> Identifier:
    """Add an identifier to a patient the actor may see. A resident ID also fills the record's resident ID
    (a record has at most one, and it must agree with the birth date and sex)."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not change identifiers."))
    patient, decision = _writable(actor, patient_id, "identifier", Action.CREATE)
    ident = check_identifier(actor, kind, value, system, patient=patient)
    if kind == T.RESIDENT_ID and patient.resident_id:
        raise ActionError("type", _("This patient already has a resident ID."))
    if owner_of(ident) is not None:
        raise ActionError("value", taken_message("value"))
    try:
        with transaction.atomic():
            if kind == T.RESIDENT_ID:
                if Patient.objects.filter(pk=patient.pk, resident_id__isnull=True).update(
                        resident_id=ident.value) != 1:
                    raise ActionError("type", _("This patient already has a resident ID."))
            row = Identifier.objects.create(patient=patient, type=ident.type, system=ident.system,
                                            value=ident.value)
            audit(actor, patient_id=patient.pk, object_type="identifier", object_id=row.pk, action=Action.CREATE,
                  decision=decision, reason=f"link {kind}")
    except IntegrityError:
        raise ActionError("value", taken_message("value")) from None
    return row


def do_unlink_identifier(actor: Actor, patient_id: int, identifier_id: int) -> None:
    """Remove an identifier typed in by mistake. The resident ID and the consortium number belong to the
    record and stay; a member removes only its own MRNs."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not change identifiers."))
    patient, decision = _writable(actor, patient_id, "identifier", Action.DELETE)
    try:
        row = Identifier.objects.filter(pk=int(identifier_id), patient_id=patient.pk).first()
    except (TypeError, ValueError, OverflowError):
        row = None
    if row is None:
        raise ActionError("identifier_id", _("This patient has no such identifier."))
    if row.type in (T.RESIDENT_ID, T.CONSORTIUM):
        raise ActionError("identifier_id", _("The resident ID and the consortium number cannot be unlinked."))
    if row.type == T.MRN and row.system != _system_for(actor, T.MRN, "", {}):
        raise ActionError("identifier_id", _("Only the institution that issued a medical record number may "
                                             "unlink it."))
    with transaction.atomic():
        deleted, _rows = Identifier.objects.filter(pk=row.pk, patient_id=patient.pk).delete()
        if not deleted:
            raise ActionError("identifier_id", _("This patient has no such identifier."))
        audit(actor, patient_id=patient.pk, object_type="identifier", object_id=row.pk, action=Action.DELETE,
              decision=decision, reason=f"unlink {row.type}")


# --- reading -----------------------------------------------------------------------------------------------


def masked_identifiers(patient_ids) -> dict[int, list[dict]]:
    """Each record's identifiers, values masked (no audit here: the caller's read is the audited one)."""
    out: dict[int, list[dict]] = {}
    rows = Identifier.objects.filter(patient_id__in=list(patient_ids)).order_by("patient_id", "type", "pk")
    for row in rows:
        out.setdefault(row.patient_id, []).append({
            "id": row.pk, "type": row.type, "type_label": row.get_type_display(), "system": row.system,
            "masked": row.value if row.type == T.CONSORTIUM else mask_identifier(row.value),
        })
    return out
