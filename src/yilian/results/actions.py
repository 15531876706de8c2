"""Storing the results members send (whatever the wire format: `yilian.interop` parses HL7 v2 and FHIR into
an `Incoming` report and calls `store_report`).

A report is identified by (identifier system, identifier value): the sender's filler order number (HL7
OBR-3, under the sender's namespace) or the FHIR identifier. The first report under an identifier is
inserted; a later one with that identifier is a new version of it (preliminary → final, final → amended,
any → cancelled): the report row is updated, its observations superseded (kept, marked) and the new ones
inserted. Values without a flag are flagged from the catalogue's interval for the patient's sex and age,
and critical values from its critical limits (or the sender's LL/HH).

A new report is one statement on PostgreSQL (the report, its values and its audit row: `writes.insert_new`),
tried first; only when its identifier is stored already is the stored row locked and versioned. Inside a
caller's transaction (the HL7 message row) there is no savepoint: see `store_report`.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import audit_row
from yilian.access.models import Action
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.patients.models import Patient, age_on
from yilian.results import catalogue, writes
from yilian.results.models import (
    ORDERABLE,
    Flag,
    Item,
    ItemKind,
    Observation,
    QualityPass,
    Report,
    ReportStatus,
)


@dataclass
class IncomingObservation:
    code: str  # the catalogue code, or the sender's own when it has none
    name: str
    value: str
    unit: str = ""
    reference: str = ""
    flag: str = ""  # HL7 table 0078 as sent ("" when the sender gave none)
    observed_at: datetime | None = None  # None: the report's collection time
    loinc: str = ""


@dataclass
class Incoming:
    institution_id: int
    channel: str
    identifier_system: str
    identifier_value: str
    code: str  # the panel's or exam's catalogue code, or the sender's own
    name: str
    status: str  # ReportStatus
    collected_at: datetime
    reported_at: datetime
    ordered_at: datetime | None = None
    conclusion: str = ""
    observations: list[IncomingObservation] = field(default_factory=list)
    kind: str = ""  # the item's ItemKind when the caller read `code` from the catalogue; "": looked up here


@dataclass(frozen=True)
class Stored:
    report: Report
    created: bool


def number(raw: str) -> Decimal | None:
    """The numeric value of a result (`5.6`, `-1`, `<0.01` is not a number: kept as text only)."""
    try:
        value = Decimal(raw.strip())
    except (InvalidOperation, AttributeError):
        return None
    return value if value.is_finite() and abs(value) < Decimal(10) ** 12 else None


_FLAGS = frozenset(Flag.values)


@lru_cache(maxsize=4096)
def _interval(code: str, sex: str, age: int) -> catalogue.Interval | None:
    """The shipped catalogue's interval of an item for a sex and age (the catalogue is read once per process)."""
    item = catalogue.items().get(code)
    return catalogue.interval_for(item, sex, age) if item else None


def flag_for(obs: IncomingObservation, value: Decimal | None, patient: Patient, on) -> tuple[str, bool, str]:
    """(flag, critical, reference text) of one value: the sender's flag when it gave one, else the
    catalogue's interval for the patient; critical when the sender says LL/HH or a critical limit is
    crossed."""
    interval = _interval(obs.code, patient.sex, age_on(patient.birth_date, on))
    flag = obs.flag.upper() if obs.flag.upper() in _FLAGS else ""
    reference = obs.reference
    if interval is not None and not reference and (interval.low is not None or interval.high is not None):
        reference = f"{interval.low if interval.low is not None else ''}-{interval.high if interval.high is not None else ''}"
    critical = flag in (Flag.CRITICAL_LOW, Flag.CRITICAL_HIGH)
    if value is not None and interval is not None:
        if (interval.critical_low is not None and value < interval.critical_low) or (
                interval.critical_high is not None and value > interval.critical_high):
            critical = True
        if not flag:
            if interval.low is not None and value < interval.low:
                flag = Flag.CRITICAL_LOW if critical else Flag.LOW
            elif interval.high is not None and value > interval.high:
                flag = Flag.CRITICAL_HIGH if critical else Flag.HIGH
            else:
                flag = Flag.NORMAL
    return flag, critical, reference[:60]


def _kind(code: str) -> str:
    kind = Item.objects.filter(code=code).values_list("kind", flat=True)[:1]
    return kind[0] if kind else ItemKind.PANEL


def check_report(data: Incoming) -> None:
    errors = {}
    if not data.identifier_system or not data.identifier_value:
        errors["identifier"] = _("The report has no identifier (filler order number).")
    elif len(data.identifier_value) > 64 or len(data.identifier_system) > 200:
        errors["identifier"] = _("The report identifier is too long.")
    if data.status not in ReportStatus.values:
        errors["status"] = _("Unknown report status.")
    if not data.code:
        errors["code"] = _("The report names no test or exam.")
    if data.collected_at is None or timezone.is_naive(data.collected_at):
        errors["collected_at"] = _("The specimen or exam time is missing or has no time zone.")
    if data.status != ReportStatus.CANCELLED and not data.observations and not data.conclusion:
        errors["observations"] = _("The report carries no result.")
    for i, obs in enumerate(data.observations):
        if not obs.code or not obs.value.strip():
            errors[f"observations.{i}"] = _("An observation has no item code or no value.")
        elif len(obs.value) > 200 or len(obs.code) > 20 or len(obs.unit) > 20:
            errors[f"observations.{i}"] = _("An observation's value, code or unit is too long.")
    if errors:
        raise ActionError(errors=errors)


def store_report(actor: Actor, patient: Patient, data: Incoming, *, message_id: int | None = None) -> Stored:
    """Insert the report, or make it the new version of the report with its identifier; one audit row.
    Call inside the caller's transaction when the report must commit with something else (the HL7
    message row): nothing is stored unless everything is. There it takes no savepoint of its own (two
    round trips): a refusal (`ActionError`) is raised before anything is written, and a
    database error while writing leaves the caller's transaction to be rolled back (Django refuses any
    further query in it), so a partial report can never be committed."""
    check_report(data)
    kind = data.kind or _kind(data.code)
    if connection.in_atomic_block:
        return _store(actor, patient, data, kind, message_id)
    with transaction.atomic():
        return _store(actor, patient, data, kind, message_id)


def _store(actor: Actor, patient: Patient, data: Incoming, kind: str, message_id: int | None) -> Stored:
    now = timezone.now()
    report = Report(patient=patient, institution_id=data.institution_id, channel=data.channel,
                    identifier_system=data.identifier_system, identifier_value=data.identifier_value, kind=kind,
                    code=data.code, name=data.name[:60], status=data.status, ordered_at=data.ordered_at,
                    collected_at=data.collected_at, reported_at=data.reported_at, received_at=now,
                    conclusion=data.conclusion, message_id=message_id)
    values = _values(patient, data)
    audit = audit_row(actor, patient_id=patient.pk, object_type="result_report", action=Action.CREATE)
    audit.institution_id = audit.institution_id or data.institution_id
    with transaction.atomic(savepoint=False):  # a failure half-way: the caller's transaction can only roll back
        report.pk = writes.insert_new(report, values, audit)  # the usual case: an identifier not seen before
    if report.pk is not None:
        return Stored(report, True)
    return _store_version(patient, data, report, values, audit)


def _store_version(patient: Patient, data: Incoming, new: Report, values: list[tuple], audit) -> Stored:
    """The identifier is stored: the report becomes its new version (its row locked first)."""
    report = (Report.objects.select_for_update().order_by()
              .get(identifier_system=data.identifier_system, identifier_value=data.identifier_value))
    if report.institution_id != data.institution_id:
        raise ActionError("identifier", _("This report identifier belongs to another member's report."))
    if report.patient_id != patient.pk:
        raise ActionError("identifier", _("This report identifier belongs to another patient's report."))
    with transaction.atomic(savepoint=False):  # nothing written yet above: from here on, all or nothing
        Observation.objects.filter(report=report, superseded=False).update(superseded=True)
        for name in ("kind", "code", "name", "status", "ordered_at", "collected_at", "reported_at", "received_at",
                     "conclusion", "message_id"):
            setattr(report, name, getattr(new, name))
        report.version += 1
        report.save()
        writes.insert_values(report.pk, values)
        audit.action, audit.object_id = Action.UPDATE, str(report.pk)
        audit.save(force_insert=True)
    return Stored(report, False)


def _values(patient: Patient, data: Incoming) -> list[tuple]:
    """The report's values as `writes.VALUE_COLUMNS` rows, flagged."""
    rows, days = [], {}
    for obs in data.observations:
        value = number(obs.value)
        at = obs.observed_at or data.collected_at
        day = days.get(at)
        if day is None:
            day = days[at] = timezone.localdate(at)
        flag, critical, reference = flag_for(obs, value, patient, day)
        rows.append((patient.pk, obs.code, obs.loinc[:10], obs.name[:60], obs.value.strip(), value, obs.unit,
                     reference, flag, critical, at, False))
    return rows


# --- quality-control passes -----------------------------------------------------------------------------


@dataclass
class NewQualityPass:
    institution_id: int
    item_code: str  # "" for all the institution's items
    valid_from: date
    valid_to: date
    issuer: str


def check_quality_pass(actor: Actor, data: NewQualityPass) -> None:
    if actor != SYSTEM and not actor.can(Cap.POLICY):
        raise ActionError("role", _("Only the consortium's management centre records quality-control passes."))
    errors = {}
    members = Institution.objects.filter(pk=data.institution_id)
    if actor != SYSTEM:
        members = members.filter(consortium__institutions=actor.institution_id)
    if not members.exists():
        errors["institution"] = _("Choose a member institution.")
    if data.item_code and not Item.objects.filter(code=data.item_code, kind__in=ORDERABLE).exists():
        errors["item"] = _("Choose a panel or an exam of the catalogue.")
    if data.valid_from is None or data.valid_to is None or data.valid_to < data.valid_from:
        errors["valid_to"] = _("The pass must end on or after the day it starts.")
    if not (data.issuer or "").strip() or len(data.issuer) > 100:
        errors["issuer"] = _("Name who issued the pass (1–100 characters).")
    if errors:
        raise ActionError(errors=errors)


def do_record_quality_passes(actor: Actor, rows: list[NewQualityPass]) -> list[QualityPass]:
    """Record that institutions passed quality control (室间质评, the imaging QC centre's check) for an item
    or for all their items, over a period; all or none."""
    for row in rows:
        check_quality_pass(actor, row)
    items = dict(Item.objects.filter(code__in={r.item_code for r in rows if r.item_code}).values_list("code", "pk"))
    with transaction.atomic():
        return QualityPass.objects.bulk_create([
            QualityPass(institution_id=r.institution_id, item_id=items.get(r.item_code), valid_from=r.valid_from,
                        valid_to=r.valid_to, issuer=r.issuer.strip()) for r in rows])
