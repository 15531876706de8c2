"""Who is sending, and which patient a message is about.

An interface acts as its `Sender`: an `Actor` with no user and no membership, named after the sender
(`hl7:XZ-LIS`, `fhir:XZ-LIS`); its audit rows carry the sender's institution (`results.actions`).

A patient is found through the patient index by the identifiers the message carries (PID-3 / FHIR
Patient.identifier): the resident ID, or the sender's own record number under its assigning authority
(the institution's code, as the index keeps MRNs), or any other typed identifier. Only an exact identifier
links; nothing is matched on name and birth date here (that is the index desk's job: `Unmatched`). A
merged record answers with its survivor.
"""

from dataclasses import dataclass

from yilian.network.acting import Actor
from yilian.patients.merging import survivor_id
from yilian.patients.models import IdentifierType, Patient
from yilian.patients.residentid import normalise as normalise_resident_id


@dataclass(frozen=True)
class Ident:
    type: str  # IdentifierType
    system: str
    value: str

    def as_dict(self) -> dict:
        return {"type": self.type, "system": self.system, "value": self.value}


def interface_actor(sender, channel: str) -> Actor:
    return Actor(user_id=None, username=f"{channel}:{sender.code}"[:150], membership=None, source=channel)


def mrn_system(sender) -> str:
    """The issuing system under which the index keeps the sender's record numbers."""
    return sender.mrn_authority or sender.institution.code


def _record(ident: Ident) -> Patient | None:
    """The record holding the identifier: one at most (the resident ID and (type, system, value) are unique),
    so the query needs no ordering."""
    if ident.type == IdentifierType.RESIDENT_ID:
        rid = normalise_resident_id(ident.value)
        found = list(Patient.objects.filter(resident_id=rid).order_by()[:1]) if rid else []
    else:
        found = list(Patient.objects.filter(identifiers__type=ident.type, identifiers__system=ident.system,
                                            identifiers__value=ident.value).order_by()[:1])
    return found[0] if found else None


def find_patient(idents: list[Ident]) -> Patient | None:
    """The (current) record one of `idents` names, resident ID first; None when none does. Several
    identifiers naming different records also answer None: the message goes to the matching queue.
    One query per identifier (and one more per merged record)."""
    found: dict[int, Patient] = {}
    for ident in idents:
        patient = _record(ident)
        if patient is not None and patient.merged_into_id is not None:
            current = survivor_id(patient.pk)
            patient = found.get(current) or Patient.objects.get(pk=current)
        if patient is not None:
            found[patient.pk] = patient
    if len(found) != 1:
        return None
    return found.popitem()[1]
