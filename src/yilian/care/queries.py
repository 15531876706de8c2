"""Scoped reads of encounters and charges."""

from django.db.models import QuerySet

from yilian.access.gate import visible
from yilian.care.models import Encounter
from yilian.network.acting import Actor


def encounters_for(actor: Actor) -> QuerySet[Encounter]:
    return visible(actor, Encounter.objects.all(), "patient_id")


def patient_encounters(patient) -> QuerySet[Encounter]:
    """Encounters of a patient already reached through `access_patient` (and so already audited)."""
    return (
        Encounter.objects.filter(patient=patient)
        .select_related("institution", "department", "practitioner")
        .prefetch_related("charges")
        .order_by("-start")
    )
