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

    rid = residentid.normalise(resident_id)
    if not rid:
        return None
    return Patient.objects.filter(resident_id=rid).values_list("pk", flat=True).first()
