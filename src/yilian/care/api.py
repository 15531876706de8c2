"""Encounter endpoints: open one (with charges), read one, charge it, close it, list a patient's."""

from datetime import datetime
from decimal import Decimal

from ninja import Field, Router, Schema, Status
from pydantic import AwareDatetime, ConfigDict

from yilian.access.gate import access_object
from yilian.access.models import Action
from yilian.care.actions import Charge, Visit, do_add_charges, do_close_encounter, do_open_encounter
from yilian.care.models import ChargeCategory, Encounter, EncounterClass
from yilian.care.queries import patient_encounters
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.patients.queries import access_patient

router = Router(tags=["encounters"])


class ChargeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    category: ChargeCategory
    amount: Decimal = Field(gt=0, le=Decimal("9999999.99"), decimal_places=2)
    description: str = Field("", max_length=100)


class EncounterIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(ge=1, le=2**62)
    department_id: int = Field(ge=1, le=2**62)
    klass: EncounterClass = EncounterClass.OUTPATIENT
    start: AwareDatetime
    end: AwareDatetime | None = None
    practitioner_id: int | None = Field(None, ge=1, le=2**62)
    charges: list[ChargeIn] = Field(default_factory=list, max_length=200)


class ChargesIn(Schema):
    model_config = ConfigDict(extra="forbid")

    charges: list[ChargeIn] = Field(min_length=1, max_length=200)


class CloseIn(Schema):
    model_config = ConfigDict(extra="forbid")

    end: AwareDatetime | None = None


class ChargeOut(Schema):
    id: int
    category: str
    amount: Decimal
    description: str


class EncounterOut(Schema):
    id: int
    patient_id: int
    institution_id: int
    department_id: int
    klass: str
    practitioner_id: int | None
    start: datetime
    end: datetime | None
    charges: list[ChargeOut]


def _out(e: Encounter) -> dict:
    return {"id": e.pk, "patient_id": e.patient_id, "institution_id": e.institution_id,
            "department_id": e.department_id, "klass": e.klass, "practitioner_id": e.practitioner_id,
            "start": e.start, "end": e.end,
            "charges": [{"id": c.pk, "category": c.category, "amount": c.amount, "description": c.description}
                        for c in e.charges.all()]}


def _charges(items: list[ChargeIn]) -> list[Charge]:
    return [Charge(c.category.value, c.amount, c.description) for c in items]


@router.post("", response={201: EncounterOut}, summary="Open an encounter at the acting institution",
              auth=ActingRole(Cap.RECORD_VISIT))
def open_(request, payload: EncounterIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    visit = Visit(patient_id=payload.patient_id, department_id=payload.department_id, start=payload.start,
                  klass=payload.klass.value, end=payload.end, practitioner_id=payload.practitioner_id,
                  charges=_charges(payload.charges))
    return Status(201, _out(do_open_encounter(actor, visit)))


@router.get("/{int:encounter_id}", response=EncounterOut, summary="One encounter (404 when missing or not yours)",
             auth=ActingRole(Cap.CLINICAL))
def get(request, encounter_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    return _out(access_object(actor, Encounter.objects.all(), encounter_id, object_type="encounter"))


def _own(actor, encounter_id: int) -> Encounter:
    """The encounter a write is about: 404, audited as denied, unless the actor may see it. The action then
    writes the audit row of the write (or of its refusal), so one request leaves one row."""
    return access_object(actor, Encounter.objects.all(), encounter_id, object_type="encounter",
                         action=Action.UPDATE, audit_success=False)


@router.post("/{int:encounter_id}/charges", response={201: EncounterOut}, summary="Add charges",
              auth=ActingRole(Cap.RECORD_VISIT))
def add_charges(request, encounter_id: int, payload: ChargesIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    encounter = _own(actor, encounter_id)
    do_add_charges(actor, encounter, _charges(payload.charges))
    return Status(201, _out(encounter))


@router.post("/{int:encounter_id}/close", response=EncounterOut, summary="Close an encounter",
              auth=ActingRole(Cap.RECORD_VISIT))
def close(request, encounter_id: int, payload: CloseIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    encounter = _own(actor, encounter_id)
    return _out(do_close_encounter(actor, encounter, payload.end))


@router.get("/of-patient/{int:patient_id}", response=list[EncounterOut], summary="A patient's encounters",
             auth=ActingRole(Cap.CLINICAL))
def of_patient(request, patient_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    patient = access_patient(actor, patient_id, object_type="encounter-list")
    return [_out(e) for e in patient_encounters(patient)[:200]]
