"""Patient endpoints: list the patients in care, register, read one (scoped), unmask, check in."""

from datetime import date

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.patients.actions import NewPatient, do_check_in, do_register_patient
from yilian.patients.models import Patient
from yilian.patients.queries import access_patient, list_patients, unmask_patient

router = Router(tags=["patients"])


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    resident_id: str = Field("", max_length=18)
    sex: str = Field("", max_length=1)
    birth_date: date | None = None
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)


class PatientOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: date
    resident_id_masked: str
    phone_masked: str
    address: str
    registered_at_id: int


class IdentifiersOut(Schema):
    resident_id: str
    phone: str


class CheckInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=18)


def _out(p: Patient) -> dict:
    return {"id": p.pk, "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
            "resident_id_masked": p.masked_resident_id, "phone_masked": p.masked_phone, "address": p.address,
            "registered_at_id": p.registered_at_id}


@router.get("", response=list[PatientOut], summary="Patients in care (each one listed is audited)",
             auth=ActingRole(Cap.CLINICAL))
def list_(request, limit: int = Query(50, ge=1, le=200), offset: int = Query(0, ge=0, le=1_000_000)):
    return [_out(p) for p in list_patients(api_actor(request, Cap.CLINICAL), limit=limit, offset=offset)]


@router.post("", response={201: PatientOut}, summary="Register a patient", auth=ActingRole(Cap.REGISTER))
def register(request, payload: PatientIn):
    patient = do_register_patient(api_actor(request, Cap.REGISTER), NewPatient(**payload.dict()))
    return Status(201, _out(patient))


@router.post("/check-in", response=PatientOut, summary="Check a registered patient in by resident ID",
              auth=ActingRole(Cap.REGISTER))
def check_in(request, payload: CheckInIn):
    return _out(do_check_in(api_actor(request, Cap.REGISTER), payload.resident_id))


@router.get("/{int:patient_id}", response=PatientOut, summary="One patient (404 when missing or not yours)",
             auth=ActingRole(Cap.CLINICAL))
def get(request, patient_id: int):
    return _out(access_patient(api_actor(request, Cap.CLINICAL), patient_id))


@router.post("/{int:patient_id}/unmask", response=IdentifiersOut, summary="Full identifiers (audited)",
              auth=ActingRole(Cap.UNMASK))
def unmask(request, patient_id: int):
    patient = unmask_patient(api_actor(request), patient_id)
    return {"resident_id": patient.resident_id or "", "phone": patient.phone}
