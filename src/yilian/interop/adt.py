"""ADT^A04 (register a patient) and ADT^A08 (update patient information) through the patient index.

- The identifiers of PID-3 are looked up one by one (`identity.find_patient`); when they name two different
  records the message is refused (AE): the index desk must first decide whether they are one person.
- Known (by resident ID, or by a number the record already carries): the sender's institution now cares for
  the patient under that record, which gains the identifiers it lacks — the sender's own record number
  above all (an MRN of another authority is never written by this sender). A08 then changes the name,
  phone and address sent (a field sent as `""` is cleared).
- Unknown: a new record registered at the sender's institution, with the desk's checks (name, sex, birth
  date or resident ID). An A08 for a patient Yilian does not know registers them the same way.

Runs inside the ingest's transaction (`ingest`); `Applied.linked` tells it to look at the sender's
unmatched results afterwards.
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.interop.hl7_parse import REQUIRED_MISSING, Header, Reject
from yilian.interop.identity import find_patient, mrn_system
from yilian.interop.pid import identifiers, person, pid_segment
from yilian.patients.actions import NewPatient
from yilian.patients.identifiers import Ident as PatientIdent
from yilian.patients.interface import (
    do_claim_from_interface,
    do_register_from_interface,
    do_update_from_interface,
)
from yilian.patients.models import IdentifierType

EVENTS = ("A04", "A08")


@dataclass(frozen=True)
class Applied:
    patient_id: int
    created: bool
    linked: bool  # identifiers were added (or a record created): unmatched results may now match


def _own(idents, sender) -> list[PatientIdent]:
    system = mrn_system(sender)
    return [PatientIdent(i.type, i.system, i.value) for i in idents
            if i.type != IdentifierType.MRN or i.system == system]


def apply(actor, message, head: Header, sender) -> Applied:
    pid = pid_segment(message)
    idents = identifiers(pid, sender)
    if not idents:
        raise Reject(_("PID-3 carries no identifier Yilian can use (resident ID, record number, …)."),
                     REQUIRED_MISSING, "PID^1^3")
    who = person(pid)
    found = {p.pk: p for p in (find_patient([i]) for i in idents) if p is not None}
    if len(found) > 1:
        raise ActionError("identifiers", _("The identifiers of this patient belong to different records in the "
                                           "patient index; the index desk must resolve them first."))
    own = _own(idents, sender)
    if not found:
        rid = next((i.value for i in idents if i.type == IdentifierType.RESIDENT_ID), "")
        patient = do_register_from_interface(actor, sender.institution_id, NewPatient(
            name=who.name, sex=who.sex, birth_date=who.birth_date, resident_id=rid, phone=who.phone,
            address=who.address), own)
        return Applied(patient.pk, created=True, linked=True)
    patient = found.popitem()[1]
    rows = do_claim_from_interface(actor, sender.institution_id, patient, own,
                                   reason=f"registration by interface (ADT^{head.trigger})")
    if head.trigger == "A08":
        do_update_from_interface(actor, sender.institution_id, patient, name=who.name, phone=who.phone,
                                 address=who.address, cleared=who.cleared)
    return Applied(patient.pk, created=False, linked=bool(rows))
