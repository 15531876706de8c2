"""Search before create: a registrar first looks the person up, then says *this is the person* or *new
person*.

`search_before_create` checks the details as registration would, looks for an exact identifier match (the
resident ID or the insurance card the person presents), then asks `matching.search_candidates` for
look-alikes. The registrar is shown only the records they may see (care relationship, grant or
break-glass), masked, with the score and why; of the others only how many there are. Each record shown is
audited as a read (object type "match-candidate"); each record matched but withheld as a denied read (its
own trail then shows that someone searched for them); a search that matched nothing leaves one row without
a patient (object type "patient-search").

*This is the person* adds the institution's MRN to the record (when the registrar typed one) and creates
the care relationship: `do_claim` for a record the registrar may see, `do_claim_by_identifier` for one held
elsewhere, which needs the exact resident ID or insurance card number.
"""

from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_record_care
from yilian.access.gate import Decision, access_patient_for_write, audit, audit_row, decide, decide_many
from yilian.access.models import Action, AuditEvent, Basis, Outcome
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients import residentid
from yilian.patients.actions import NewPatient, check_register
from yilian.patients.identifiers import (
    RESIDENT_ID_SYSTEM,
    Ident,
    check_identifier,
    masked_identifiers,
    owner_of,
    taken_message,
)
from yilian.patients.merging import survivor_id
from yilian.patients.models import Identifier, IdentifierType, Patient

SHOWN = 5  # candidates shown at most
WORTH_MENTIONING = ("link", "review")  # bands counted as "possible matches registered elsewhere"


@dataclass
class Shown:
    patient: Patient
    probability: float
    match_weight: float
    band: str
    agreement: dict
    identifiers: list[dict] = field(default_factory=list)
    exact: bool = False

    @property
    def percent(self) -> int:
        return round(self.probability * 100)


@dataclass
class SearchResult:
    clean: NewPatient
    exact: Shown | None = None  # an exact identifier match the registrar may see
    exact_elsewhere: str = ""  # the type of identifier that matched a record held elsewhere, or ""
    candidates: list[Shown] = field(default_factory=list)
    elsewhere: int = 0  # possible matches the registrar may not see

    @property
    def nothing(self) -> bool:
        return not (self.exact or self.exact_elsewhere or self.candidates or self.elsewhere)


def _probe(clean: NewPatient):
    from yilian.patients import matching

    return matching.Probe(name=clean.name, sex=clean.sex, birth_date=clean.birth_date,
                          resident_id=clean.resident_id, phone=clean.phone, address=clean.address)


def exact_match(clean: NewPatient, insurance: Ident | None) -> tuple[int | None, str]:
    """(the record, followed through merges, that carries the resident ID or insurance card; its type)."""
    if clean.resident_id:
        pid = owner_of(Ident(IdentifierType.RESIDENT_ID, RESIDENT_ID_SYSTEM, clean.resident_id))
        if pid is None:
            pid = Patient.objects.filter(resident_id=clean.resident_id).values_list("pk", flat=True).first()
        if pid is not None:
            return survivor_id(pid), IdentifierType.RESIDENT_ID
    if insurance is not None:
        pid = owner_of(insurance)
        if pid is not None:
            return survivor_id(pid), IdentifierType.INSURANCE
    return None, ""


def search_before_create(actor: Actor, data: NewPatient) -> SearchResult:
    from yilian.patients import matching

    clean = check_register(actor, data)
    insurance = (check_identifier(actor, IdentifierType.INSURANCE, clean.insurance, field="insurance")
                 if clean.insurance else None)
    result = SearchResult(clean=clean)
    exact_id, exact_type = exact_match(clean, insurance)
    found = matching.search_candidates(_probe(clean), limit=10, exclude_ids=(exact_id,) if exact_id else ())
    # A record merged since it was indexed stands for its survivor; keep each record once, best score first.
    scored: dict[int, object] = {}
    for c in found:
        pid = survivor_id(c.patient_id)
        if pid != exact_id and pid not in scored:
            scored[pid] = c
    ids = list(scored) + ([exact_id] if exact_id else [])
    decisions = decide_many(actor, ids)
    patients = {p.pk: p for p in Patient.objects.filter(pk__in=[i for i in ids if i in decisions])
                .select_related("registered_at")}
    idents = masked_identifiers(patients)
    rows: list[AuditEvent] = []

    def shown_row(pid: int, reason: str) -> None:
        rows.append(audit_row(actor, patient_id=pid, object_type="match-candidate", object_id=pid,
                              action=Action.READ, decision=decisions[pid], reason=reason))

    def withheld_row(pid: int, reason: str) -> None:
        rows.append(audit_row(actor, patient_id=pid, object_type="match-candidate", object_id=pid,
                              action=Action.READ, outcome=Outcome.DENIED, reason=reason))

    if exact_id:
        if exact_id in decisions:
            result.exact = Shown(patients[exact_id], 1.0, float("inf"), "link", {exact_type: "exact"},
                                 idents.get(exact_id, []), exact=True)
            shown_row(exact_id, f"search: exact {exact_type}")
        else:
            result.exact_elsewhere = exact_type
            withheld_row(exact_id, f"search: exact {exact_type}, held elsewhere")
    for pid, c in scored.items():
        if pid in decisions:
            if len(result.candidates) < SHOWN:
                result.candidates.append(Shown(patients[pid], c.probability, c.match_weight, c.band,
                                               dict(c.agreement), idents.get(pid, [])))
                shown_row(pid, f"search: {c.band}")
        elif c.band in WORTH_MENTIONING:
            result.elsewhere += 1
            withheld_row(pid, f"search: {c.band}, held elsewhere")
    if not rows:
        rows.append(audit_row(actor, patient_id=None, object_type="patient-search", action=Action.READ,
                              reason="search: no match"))
    AuditEvent.objects.bulk_create(rows)
    return result


# --- this is the person --------------------------------------------------------------------------------------


def _mrn(actor: Actor, mrn: str) -> Ident | None:
    if not (mrn or "").strip():
        return None
    ident = check_identifier(actor, IdentifierType.MRN, mrn, field="mrn")
    if owner_of(ident) is not None:
        raise ActionError("mrn", taken_message("mrn"))
    return ident


def _claim(actor: Actor, patient: Patient, decision: Decision, mrn: Ident | None, reason: str) -> Patient:
    try:
        with transaction.atomic():
            do_record_care(patient.pk, actor.institution_id, "registration", patient.pk, timezone.now())
            if mrn is not None:
                Identifier.objects.create(patient=patient, type=mrn.type, system=mrn.system, value=mrn.value)
            audit(actor, patient_id=patient.pk, object_type="patient", object_id=patient.pk, action=Action.UPDATE,
                  decision=decision, reason=reason)
    except IntegrityError:
        raise ActionError("mrn", taken_message("mrn")) from None
    return patient


def do_claim(actor: Actor, patient_id, mrn: str = "") -> Patient:
    """*This is the person*, for a record the registrar may see: the institution now cares for them under
    that record (and its MRN is added)."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not register patients."))
    patient, decision = access_patient_for_write(actor, patient_id, Action.UPDATE)
    ident = _mrn(actor, mrn)
    return _claim(actor, patient, decision, ident, "registration: this is the person")


def do_claim_by_identifier(actor: Actor, kind: str, value: str, mrn: str = "", system: str = "") -> Patient:
    """*This is the person*, for a record held elsewhere: the person presents their resident ID card or
    insurance card, and the number must match exactly."""
    if not actor.can(Cap.REGISTER):
        raise ActionError("role", _("Your role may not register patients."))
    if kind not in (IdentifierType.RESIDENT_ID, IdentifierType.INSURANCE):
        raise ActionError("type", _("Identify the person by their resident ID or insurance card."))
    ident = check_identifier(actor, kind, value, system)
    errors: dict[str, str] = {}
    try:
        mrn_ident = _mrn(actor, mrn)
    except ActionError as exc:
        errors.update(exc.errors)
        mrn_ident = None
    pid = owner_of(ident)
    if pid is None and kind == IdentifierType.RESIDENT_ID:
        pid = Patient.objects.filter(resident_id=residentid.normalise(value)).values_list("pk", flat=True).first()
    if pid is None:
        errors["value"] = _("No patient carries this identifier; register the person as new.")
    if errors:
        raise ActionError(errors=errors)
    patient = Patient.objects.get(pk=survivor_id(pid))
    basis = decide(actor, patient.pk) or Decision(Basis.CARE)
    return _claim(actor, patient, basis, mrn_ident, f"registration: this is the person ({kind})")
