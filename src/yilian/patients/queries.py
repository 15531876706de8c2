"""Scoped reads of patients: the only way any view or endpoint gets at them."""

from django.db.models import QuerySet

from yilian.access.gate import access_patient, audit_many, visible
from yilian.network.acting import Actor
from yilian.patients.models import Patient

__all__ = ["access_patient", "patients_for", "list_patients"]


def patients_for(actor: Actor) -> QuerySet[Patient]:
    return visible(actor, Patient.objects.all())


def list_patients(actor: Actor, limit: int = 50, offset: int = 0) -> list[Patient]:
    """A page of the patients the actor may see, newest first; each one shown is audited."""
    page = list(patients_for(actor).order_by("-created_at", "-pk")[offset : offset + limit])
    audit_many(actor, [p.pk for p in page], object_type="patient")
    return page


def unmask_patient(actor: Actor, patient_id) -> Patient:
    """The full identifiers, for a role that may see them; the reveal is its own audit row."""
    from django.core.exceptions import PermissionDenied

    from yilian.access.models import Action
    from yilian.network.roles import Cap

    if not actor.can(Cap.UNMASK):
        raise PermissionDenied
    return access_patient(actor, patient_id, Action.UNMASK)


def patient_id_for_break_glass(resident_id: str) -> int | None:
    """The id only (no patient data) of the person a break-glass request names by resident ID; the
    break-glass action then audits the access."""
    from yilian.patients import residentid
    from yilian.patients.merging import survivor_id

    rid = residentid.normalise(resident_id)
    if not rid:
        return None
    found = Patient.objects.filter(resident_id=rid).values_list("pk", flat=True).first()
    return survivor_id(found) if found is not None else None  # a merged record: its survivor


class MergedRecord(Exception):
    """The record asked for was merged: `survivor_id` stands for it now (the caller may see the survivor;
    the access was audited)."""

    def __init__(self, requested: int, survivor_id: int) -> None:
        super().__init__(f"record #{requested} was merged into #{survivor_id}")
        self.requested = requested
        self.survivor_id = survivor_id


def access_current(actor: Actor, patient_id, action: str = "read", *, object_type: str = "patient") -> Patient:
    """`access_patient` for an id that may name a merged record. A merged record answers with a pointer to
    its survivor (`MergedRecord`), and only to someone who may see the survivor: the one audit row is the
    access to the survivor, its object id the record asked for. Anyone else gets the 404 of a missing id."""
    from yilian.access.gate import MAX_ID
    from yilian.patients.merging import survivor_id

    try:
        requested = int(patient_id)
    except (TypeError, ValueError):
        requested = None
    if requested is None or not 0 < requested <= MAX_ID:
        return access_patient(actor, patient_id, action, object_type=object_type)
    current = survivor_id(requested)
    if current == requested:
        return access_patient(actor, requested, action, object_type=object_type)
    survivor = access_patient(actor, current, action, object_type=object_type, object_id=requested)
    raise MergedRecord(requested, survivor.pk)
