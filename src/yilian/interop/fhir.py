"""FHIR R4B in: a DiagnosticReport with its results as contained Observations, a standalone Observation, or
the entries of a transaction Bundle, validated with `fhir.resources` and mapped onto the results store's
`Incoming` (docs/fhir.md). Nothing here writes; `fhir_ingest` stores.

Every refusal is a `Problem`: an HTTP status and the issues of an OperationOutcome, each naming the element
(`expression`, e.g. `DiagnosticReport.contained[0].code`) and a message rendered in English and Chinese.
The patient is found through the index by exact identifiers only (`identity.find_patient`); an unknown
patient is refused (422), never created here.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import parse_qsl

from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from fhir.resources.R4B.observation import Observation
from pydantic import ValidationError

from yilian.interop.identity import Ident, find_patient, mrn_system
from yilian.patients.identifiers import RESIDENT_ID_SYSTEM, consortium_system, normalise
from yilian.patients.models import IdentifierType, Patient
from yilian.results.actions import Incoming, IncomingObservation
from yilian.results.models import Channel, Item, ItemKind, ReportStatus

RESIDENT_ID_URI = "http://yilian.org.cn/fhir/sid/resident-id"
MRN_URI = "http://yilian.org.cn/fhir/sid/mrn/"  # + the member's institution code
CONSORTIUM_URI = "http://yilian.org.cn/fhir/sid/consortium/"  # + the county's division code
ITEM_URI = "http://yilian.org.cn/fhir/CodeSystem/item"
LOINC_URI = "http://loinc.org"
INTERPRETATION_URI = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

MODELS = {"DiagnosticReport": DiagnosticReport, "Observation": Observation, "Bundle": Bundle}
STATUSES = {
    "registered": ReportStatus.PRELIMINARY, "partial": ReportStatus.PRELIMINARY,
    "preliminary": ReportStatus.PRELIMINARY, "final": ReportStatus.FINAL, "amended": ReportStatus.AMENDED,
    "corrected": ReportStatus.AMENDED, "appended": ReportStatus.AMENDED, "cancelled": ReportStatus.CANCELLED,
    "entered-in-error": ReportStatus.CANCELLED,
}
FLAGS = {"L", "H", "LL", "HH", "N", "A"}
MAX_ISSUES = 20


@dataclass
class Issue:
    code: str  # FHIR issue type: structure, required, value, code-invalid, not-found, not-supported, …
    message: Promise | Callable[[], str]  # rendered once in English, once in Chinese
    expression: str = ""
    detail: str = ""  # an untranslated technical detail (a validator's own message)


class Problem(Exception):
    """A refusal: the HTTP status and the OperationOutcome's issues."""

    def __init__(self, status: int, issues: list[Issue]):
        self.status, self.issues = status, issues
        super().__init__("; ".join(f"{i.code} at {i.expression}" for i in issues))


def problem(status: int, code: str, message, expression: str = "") -> Problem:
    return Problem(status, [Issue(code, message, expression)])


# --- the body ------------------------------------------------------------------------------------------


def _refuse_constant(name):
    raise ValueError(name)


def _has_nul(data) -> bool:
    if isinstance(data, str):
        return "\x00" in data
    if isinstance(data, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in data.items())
    if isinstance(data, list):
        return any(_has_nul(v) for v in data)
    return False


def load(body: bytes):
    """The JSON of a request body (decimals kept exact); 400 for anything else."""
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_constant=_refuse_constant)
        nul = _has_nul(data)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise problem(400, "structure", _("The body is not valid JSON (UTF-8).")) from None
    if nul:
        raise problem(400, "structure", _("Text may not contain NUL characters."))
    return data


def validate(data, resource_type: str):
    """The `fhir.resources` R4B model of `data`, which must be a `resource_type`; 400 naming each element
    the validator rejects."""
    if not isinstance(data, dict) or data.get("resourceType") != resource_type:
        raise problem(400, "structure", lambda: gettext("Expected a %(type)s resource.") % {"type": resource_type},
                      "resourceType")
    try:
        return MODELS[resource_type].model_validate(data)
    except ValidationError as exc:
        issues = []
        for error in exc.errors()[:MAX_ISSUES]:
            path = resource_type
            for part in error["loc"]:
                path += f"[{part}]" if isinstance(part, int) else f".{part}"
            issues.append(Issue("structure", _("The resource is not valid FHIR R4B."), path,
                                detail=str(error.get("msg", ""))[:200]))
        raise Problem(400, issues) from None
    except Exception:  # the library raises KeyError and others for some inputs (an unknown contained type)
        raise problem(400, "structure", _("The resource is not valid FHIR R4B."), resource_type) from None


# --- the patient ---------------------------------------------------------------------------------------


def ident_for(sender, system: str | None, value: str | None, expression: str) -> Ident:
    """The index identifier a FHIR identifier (system, value) names."""
    value = (value or "").strip()
    system = system or ""
    if not value:
        raise problem(422, "required", _("The patient identifier has no value."), expression)
    if system == RESIDENT_ID_URI:
        return Ident(IdentifierType.RESIDENT_ID, RESIDENT_ID_SYSTEM, value)
    if system.startswith(MRN_URI) and len(system) > len(MRN_URI):
        code = system[len(MRN_URI):]
        own = code in {sender.institution.code, sender.mrn_authority} - {""}
        return Ident(IdentifierType.MRN, mrn_system(sender) if own else code, normalise(value))
    if system.startswith(CONSORTIUM_URI) and len(system) > len(CONSORTIUM_URI):
        return Ident(IdentifierType.CONSORTIUM, consortium_system(system[len(CONSORTIUM_URI):]), normalise(value))
    raise problem(422, "code-invalid", _("Unknown patient identifier system: use the resident ID, a member's "
                                         "record number or the consortium number systems (docs/fhir.md)."),
                  expression)


def subject_idents(sender, subject, expression: str) -> list[Ident]:
    """The identifiers of a subject given as `Patient?identifier=system|value` or `subject.identifier`."""
    if subject is None:
        raise problem(422, "required", _("The resource names no subject (patient)."), expression)
    idents = []
    if subject.reference:
        query = subject.reference.partition("Patient?")[2] if subject.reference.startswith("Patient?") else None
        pairs = parse_qsl(query, keep_blank_values=True) if query else []
        if not pairs or any(key != "identifier" or "|" not in value for key, value in pairs):
            raise problem(422, "not-supported", _("The subject must be a conditional reference "
                                                  "Patient?identifier=system|value or carry an identifier."),
                          f"{expression}.reference")
        for _key, value in pairs:
            system, _bar, value = value.partition("|")
            idents.append(ident_for(sender, system, value, f"{expression}.reference"))
    if subject.identifier is not None:
        idents.append(ident_for(sender, subject.identifier.system, subject.identifier.value,
                                f"{expression}.identifier"))
    if not idents:
        raise problem(422, "required", _("The subject must be a conditional reference "
                                         "Patient?identifier=system|value or carry an identifier."), expression)
    return idents


def patient_for(sender, subject, expression: str) -> Patient:
    patient = find_patient(subject_idents(sender, subject, expression))
    if patient is None:
        raise problem(422, "not-found", _("The patient is not in the patient index: no record has these "
                                          "identifiers (register the patient first). Nothing was stored."),
                      expression)
    return patient


# --- codes, times, values ------------------------------------------------------------------------------


class Catalogue:
    """The active catalogue items by code and lab items by LOINC, read once per request."""

    def __init__(self):
        items = list(Item.objects.filter(active=True).order_by("code"))
        self.by_code = {i.code: i for i in items}
        self.by_loinc: dict[str, Item] = {}
        for i in items:
            if i.loinc and i.kind == ItemKind.LAB:
                self.by_loinc.setdefault(i.loinc, i)

    def item(self, concept) -> Item | None:
        for coding in (concept.coding or []) if concept is not None else []:
            if coding.system == ITEM_URI and coding.code in self.by_code:
                return self.by_code[coding.code]
            if coding.system == LOINC_URI and coding.code in self.by_loinc:
                return self.by_loinc[coding.code]
        return None

    def panel_of(self, observations: list[IncomingObservation]) -> Item | None:
        """The one panel all these lab items belong to, if there is one."""
        panels = {self.by_code[o.code].panel if o.code in self.by_code else "" for o in observations}
        if len(panels) != 1 or "" in panels:
            return None
        return self.by_code.get(panels.pop())


def moment(value, expression: str, *, required: bool = True) -> datetime | None:
    if value is None:
        if required:
            raise problem(422, "required", _("The effective time (specimen or exam time) is missing."), expression)
        return None
    if not isinstance(value, datetime) or timezone.is_naive(value):
        raise problem(422, "value", _("The time must be a date and time with a time zone."), expression)
    return value


def status_of(status: str | None, expression: str) -> str:
    if status not in STATUSES:
        raise problem(422, "code-invalid", _("Unknown status: use registered, partial, preliminary, final, "
                                             "amended, corrected, appended, cancelled or entered-in-error."),
                      expression)
    return STATUSES[status]


def report_identifier(identifiers, expression: str) -> tuple[str, str]:
    for ident in identifiers or []:
        if ident.system and ident.value:
            if len(ident.system) > 200 or len(ident.value) > 64:
                raise problem(422, "value", _("The identifier is too long (system: 200, value: 64 characters "
                                              "at most)."), expression)
            return ident.system, ident.value
    raise problem(422, "required", _("The resource has no identifier with a system and a value."), expression)


def _number(value: Decimal) -> str:
    return format(value, "f") if abs(value.adjusted()) < 20 else str(value)


def _value(obs) -> tuple[str, str] | None:
    """(value, unit) of an observation, or None when it has none."""
    q = obs.valueQuantity
    if q is not None and q.value is not None:
        return f"{q.comparator or ''}{_number(Decimal(str(q.value)))}", q.unit or q.code or ""
    if obs.valueString:
        return obs.valueString, ""
    if obs.valueInteger is not None:
        return str(obs.valueInteger), ""
    concept = obs.valueCodeableConcept
    if concept is not None:
        text = concept.text or next((c.display or c.code for c in concept.coding or [] if c.display or c.code), "")
        return (text, "") if text else None
    return None


def _reference(obs) -> str:
    for rr in obs.referenceRange or []:
        low = rr.low.value if rr.low is not None else None
        high = rr.high.value if rr.high is not None else None
        if low is not None or high is not None:
            return "-".join("" if v is None else _number(Decimal(str(v))) for v in (low, high))
        if rr.text:
            return rr.text
    return ""


def _flag(obs) -> str:
    for concept in obs.interpretation or []:
        for coding in concept.coding or []:
            if coding.system in (INTERPRETATION_URI, None) and coding.code in FLAGS:
                return coding.code
    return ""


def _effective(resource):
    if resource.effectiveDateTime is not None:
        return resource.effectiveDateTime
    if getattr(resource, "effectiveInstant", None) is not None:
        return resource.effectiveInstant
    period = resource.effectivePeriod
    return period.start if period is not None else None


def observation(obs, catalogue: Catalogue, expression: str, *, optional: bool = False) -> IncomingObservation | None:
    """One result value; None when it has no value and `optional` (a cancelled report's)."""
    item = catalogue.item(obs.code)
    if item is None:
        raise problem(422, "code-invalid", _("Unknown observation code: give a LOINC code the catalogue knows "
                                             "or a catalogue item code."), f"{expression}.code")
    value = _value(obs)
    if value is None:
        if optional:
            return None
        raise problem(422, "required", _("The observation has no value (valueQuantity, valueString, "
                                         "valueInteger or valueCodeableConcept)."), f"{expression}.value[x]")
    return IncomingObservation(code=item.code, name=item.name, value=value[0], unit=value[1] or item.unit,
                               reference=_reference(obs), flag=_flag(obs), loinc=item.loinc,
                               observed_at=moment(_effective(obs), f"{expression}.effectiveDateTime",
                                                  required=False))


# --- resources ----------------------------------------------------------------------------------------


@dataclass
class Parsed:
    """A resource mapped for the store: the report, its patient, and where it was in the request."""

    resource_type: str  # DiagnosticReport or Observation
    incoming: Incoming
    patient: Patient
    expression: str


def _result_source(ref, contained: dict, in_bundle: dict, expression: str, i: int):
    reference = ref.reference or ""
    if reference.startswith("#") and reference[1:] in contained:
        return contained[reference[1:]]
    if reference in in_bundle:
        return in_bundle[reference]
    raise problem(422, "not-found", _("A result must reference a contained Observation (#id) or an Observation "
                                      "entry of the same transaction bundle (its fullUrl)."),
                  f"{expression}.result[{i}]")


def from_diagnostic_report(sender, report, catalogue: Catalogue, expression: str = "DiagnosticReport", *,
                           in_bundle: dict | None = None) -> Parsed:
    """`in_bundle`: fullUrl → (Observation, its expression) of the bundle's Observation entries."""
    system, value = report_identifier(report.identifier, f"{expression}.identifier")
    status = status_of(report.status, f"{expression}.status")
    patient = patient_for(sender, report.subject, f"{expression}.subject")
    collected = moment(_effective(report), f"{expression}.effectiveDateTime")
    reported = moment(report.issued, f"{expression}.issued", required=False) or timezone.now()
    contained = {}
    for i, res in enumerate(report.contained or []):
        if res.get_resource_type() == "Observation" and res.id:
            contained[res.id] = (res, f"{expression}.contained[{i}]")
    observations = []
    for i, ref in enumerate(report.result or []):
        obs, where = _result_source(ref, contained, in_bundle or {}, expression, i)
        if obs.subject is not None and patient_for(sender, obs.subject, f"{where}.subject").pk != patient.pk:
            raise problem(422, "value", _("A result names another patient than its report."), f"{where}.subject")
        one = observation(obs, catalogue, where, optional=status == ReportStatus.CANCELLED)
        if one is not None:
            observations.append(one)
    item = catalogue.item(report.code) or catalogue.panel_of(observations)
    if item is None:
        raise problem(422, "code-invalid", _("Unknown report code: give a catalogue item code (panel or exam), a "
                                             "LOINC code the catalogue knows, or results of one panel."),
                      f"{expression}.code")
    incoming = Incoming(institution_id=sender.institution_id, channel=Channel.FHIR, identifier_system=system,
                        identifier_value=value, code=item.code, name=item.name, status=status,
                        collected_at=collected, reported_at=reported, conclusion=report.conclusion or "",
                        observations=observations)
    return Parsed("DiagnosticReport", incoming, patient, expression)


def from_observation(sender, obs, catalogue: Catalogue, expression: str = "Observation") -> Parsed:
    """A standalone Observation: a one-value report under the Observation's own identifier."""
    system, value = report_identifier(obs.identifier, f"{expression}.identifier")
    status = status_of(obs.status, f"{expression}.status")
    patient = patient_for(sender, obs.subject, f"{expression}.subject")
    collected = moment(_effective(obs), f"{expression}.effectiveDateTime")
    reported = moment(obs.issued, f"{expression}.issued", required=False) or timezone.now()
    item = catalogue.item(obs.code)
    one = observation(obs, catalogue, expression, optional=status == ReportStatus.CANCELLED)
    if one is not None:
        one.observed_at = None  # the report's own time
    incoming = Incoming(institution_id=sender.institution_id, channel=Channel.FHIR, identifier_system=system,
                        identifier_value=value, code=item.code, name=item.name, status=status,
                        collected_at=collected, reported_at=reported, observations=[one] if one else [])
    return Parsed("Observation", incoming, patient, expression)


# --- conditional create --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """`If-None-Exist: identifier=system|value`: system None matches any system, value "" any value."""

    system: str | None
    value: str


def condition(header: str | None, expression: str = "If-None-Exist") -> Condition | None:
    if header is None:
        return None
    pairs = parse_qsl(header.strip(), keep_blank_values=True)
    if len(pairs) != 1 or pairs[0][0] != "identifier" or not pairs[0][1] or pairs[0][1] == "|":
        raise problem(400, "not-supported", _("Conditional create supports only identifier=system|value or "
                                              "identifier=value."), expression)
    token = pairs[0][1]
    if "|" in token:
        system, _bar, value = token.partition("|")
        return Condition(system, value)
    return Condition(None, token)
