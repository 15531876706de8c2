"""Opening and closing encounters and charging them.

`do_record_visits` is the batch form the demo generator and importers use: the same checks as
`do_open_encounter`, written with bulk inserts in one transaction.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, audit, audit_row, decide, visible
from yilian.access.models import Action, AuditEvent, Basis, CareRelation, Outcome
from yilian.care.models import ChargeCategory, ChargeItem, Encounter, EncounterClass, EncounterEvent
from yilian.errors import ActionError, check_each
from yilian.network.acting import Actor
from yilian.network.models import Department, Membership
from yilian.network.roles import Cap
from yilian.patients.models import Patient

MAX_AMOUNT = Decimal("9999999.99")


@dataclass
class Charge:
    category: str
    amount: Decimal | str | float
    description: str = ""


@dataclass
class Visit:
    patient_id: int
    department_id: int
    start: datetime
    klass: str = EncounterClass.OUTPATIENT
    end: datetime | None = None
    practitioner_id: int | None = None
    charges: list[Charge] = field(default_factory=list)


def _clean_amount(raw) -> Decimal | None:
    try:
        amount = Decimal(str(raw)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():  # NaN passes quantize, and comparing it raises
        return None
    return amount if Decimal("0") < amount <= MAX_AMOUNT else None


def check_charges(charges: list[Charge]) -> list[Charge]:
    clean = []
    for i, charge in enumerate(charges):
        if charge.category not in ChargeCategory.values:
            raise ActionError(f"charges.{i}.category", _("Charge category is not one of the known categories."))
        amount = _clean_amount(charge.amount)
        if amount is None:
            raise ActionError(f"charges.{i}.amount", _("Charge amount must be a positive number of yuan."))
        clean.append(Charge(charge.category, amount, (charge.description or "")[:100]))
    return clean


def check_visit(actor: Actor, visit: Visit, departments: set[int], practitioners: set[int]) -> Visit:
    errors: dict[str, str] = {}
    if visit.klass not in EncounterClass.values:
        errors["klass"] = _("Encounter class is not one of the known classes.")
    if visit.department_id not in departments:
        errors["department_id"] = _("Department: choose a department of your institution.")
    if visit.practitioner_id is not None and visit.practitioner_id not in practitioners:
        errors["practitioner_id"] = _("Practitioner: choose a staff member of your institution.")
    if not isinstance(visit.start, datetime) or timezone.is_naive(visit.start):
        errors["start"] = _("Start time must be a date and time with a time zone.")
    elif visit.start > timezone.now() + timedelta(minutes=5):
        errors["start"] = _("Start time cannot be in the future.")
    elif visit.end is not None and (not isinstance(visit.end, datetime) or timezone.is_naive(visit.end)
                                    or visit.end < visit.start):
        errors["end"] = _("End time must not be before the start.")
    if errors:
        raise ActionError(errors=errors)
    visit.charges = check_charges(visit.charges)
    return visit


def _institution_scope(actor: Actor) -> tuple[set[int], set[int]]:
    if not actor.can(Cap.RECORD_VISIT):
        raise ActionError("role", _("Your role may not record visits."))
    departments = set(Department.objects.filter(institution_id=actor.institution_id).values_list("pk", flat=True))
    practitioners = set(
        Membership.objects.filter(institution_id=actor.institution_id, active=True).values_list("staff_id", flat=True)
    )
    return departments, practitioners


def _created(actor: Actor, patient_id: int, object_type: str, object_id, action: str = Action.CREATE) -> AuditEvent:
    return audit_row(actor, patient_id=patient_id, object_type=object_type, object_id=object_id, action=action,
                     decision=Decision(Basis.CARE))


def do_record_visits(actor: Actor, visits: list[Visit]) -> list[Encounter]:
    """Record many visits at the actor's institution; all or nothing."""
    departments, practitioners = _institution_scope(actor)
    check_each("visits", visits, lambda visit: check_visit(actor, visit, departments, practitioners))
    patient_ids = {v.patient_id for v in visits}
    allowed = set(visible(actor, Patient.objects.filter(pk__in=patient_ids)).values_list("pk", flat=True))
    for i, visit in enumerate(visits):
        if visit.patient_id not in allowed:
            _deny_unseen(actor, visit.patient_id)
            raise ActionError(f"visits.{i}.patient_id", _("Patient not found."))
    with transaction.atomic():
        encounters = Encounter.objects.bulk_create(
            [
                Encounter(patient_id=v.patient_id, institution_id=actor.institution_id, department_id=v.department_id,
                          klass=v.klass, practitioner_id=v.practitioner_id, start=v.start, end=v.end)
                for v in visits
            ]
        )
        m = actor.membership
        events, relations, charges, audits = [], [], [], []
        for enc, visit in zip(encounters, visits, strict=True):
            events.append(EncounterEvent(encounter=enc, kind="opened", at=visit.start, user_id=actor.user_id,
                                         membership_id=m.pk))
            if visit.end is not None:
                events.append(EncounterEvent(encounter=enc, kind="closed", at=visit.end, user_id=actor.user_id,
                                             membership_id=m.pk))
            relations.append(CareRelation(patient_id=enc.patient_id, institution_id=enc.institution_id,
                                          source_type="encounter", source_id=enc.pk, since=visit.start))
            charges += [ChargeItem(encounter=enc, category=c.category, amount=c.amount, description=c.description,
                                   charged_at=visit.start) for c in visit.charges]
            audits.append(_created(actor, enc.patient_id, "encounter", enc.pk))
        EncounterEvent.objects.bulk_create(events)
        CareRelation.objects.bulk_create(relations)
        ChargeItem.objects.bulk_create(charges)
        AuditEvent.objects.bulk_create(audits)
    return encounters


def do_open_encounter(actor: Actor, visit: Visit) -> Encounter:
    departments, practitioners = _institution_scope(actor)
    if decide(actor, visit.patient_id) is None:
        _deny_unseen(actor, visit.patient_id)
        raise ActionError("patient_id", _("Patient not found."))
    check_visit(actor, visit, departments, practitioners)  # errors named by the visit's own fields
    (encounter,) = do_record_visits(actor, [visit])
    return encounter


def _deny_unseen(actor: Actor, patient_id) -> None:
    """An encounter for a patient the actor may not see (or who does not exist): audited as denied; the
    caller answers "patient not found" either way."""
    known = isinstance(patient_id, int) and 0 < patient_id < 2**63
    audit(actor, patient_id=patient_id if known else None, object_type="encounter", action=Action.CREATE,
          outcome=Outcome.DENIED)


def _refuse(actor: Actor, encounter: Encounter, message: str):
    """A write on another institution's encounter: audited as denied, then refused."""
    audit(actor, patient_id=encounter.patient_id, object_type="encounter", object_id=encounter.pk,
          action=Action.UPDATE, outcome=Outcome.DENIED)
    raise ActionError("encounter", message)


def do_add_charges(actor: Actor, encounter: Encounter, charges: list[Charge]) -> list[ChargeItem]:
    """Charge an encounter of the actor's own institution."""
    if not actor.can(Cap.RECORD_VISIT) or encounter.institution_id != actor.institution_id:
        _refuse(actor, encounter, _("You may only charge encounters of your own institution."))
    clean = check_charges(charges)
    if not clean:
        raise ActionError("charges", _("Give at least one charge."))
    now = timezone.now()
    with transaction.atomic():
        items = ChargeItem.objects.bulk_create(
            [ChargeItem(encounter=encounter, category=c.category, amount=c.amount, description=c.description,
                        charged_at=now) for c in clean]
        )
        EncounterEvent.objects.create(encounter=encounter, kind="charged", at=now, user_id=actor.user_id,
                                      membership_id=actor.membership.pk, data={"items": len(items)})
        AuditEvent.objects.bulk_create([_created(actor, encounter.patient_id, "charge", i.pk) for i in items])
    return items


def do_close_encounter(actor: Actor, encounter: Encounter, end: datetime | None = None) -> Encounter:
    if not actor.can(Cap.RECORD_VISIT) or encounter.institution_id != actor.institution_id:
        _refuse(actor, encounter, _("You may only close encounters of your own institution."))
    end = end or timezone.now()
    if not isinstance(end, datetime) or timezone.is_naive(end):
        raise ActionError("end", _("The time must carry a time zone, e.g. +08:00."))
    if end < encounter.start:
        raise ActionError("end", _("End time must not be before the start."))
    with transaction.atomic():
        updated = Encounter.objects.filter(pk=encounter.pk, end__isnull=True).update(end=end)
        if not updated:
            raise ActionError("end", _("This encounter is already closed."))
        EncounterEvent.objects.create(encounter=encounter, kind="closed", at=end, user_id=actor.user_id,
                                      membership_id=actor.membership.pk)
        _created(actor, encounter.patient_id, "encounter", encounter.pk, action=Action.UPDATE).save()
    encounter.end = end
    return encounter
