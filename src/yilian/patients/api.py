"""Patient endpoints: list the patients in care, search before create, register, take over a record
(*this is the person*), read one (scoped; a merged record answers with a pointer), unmask, identifiers,
check in by resident ID or QR code, the QR token, merge and unmerge."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.access.models import Action
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.patients import qr
from yilian.patients.actions import NewPatient, do_check_in, do_register_patient
from yilian.patients.identifiers import (
    LINKABLE,
    consortium_number,
    do_link_identifier,
    do_unlink_identifier,
    masked_identifiers,
)
from yilian.patients.merging import do_merge, do_unmerge
from yilian.patients.models import Identifier, Merge, Patient
from yilian.patients.queries import (
    MergedRecord,
    access_current,
    access_patient,
    list_patients,
    unmask_patient,
)
from yilian.patients.registration import Shown, do_claim, do_claim_by_identifier, search_before_create

router = Router(tags=["patients"])


class PatientIn(Schema):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=50)
    resident_id: str = Field("", max_length=18)
    sex: str = Field("", max_length=1)
    birth_date: date | None = None
    phone: str = Field("", max_length=20)
    address: str = Field("", max_length=200)
    insurance: str = Field("", max_length=20, description="insurance card number, if presented")
    mrn: str = Field("", max_length=30, description="this institution's medical record number, if any")


class PatientOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: date
    resident_id_masked: str
    phone_masked: str
    address: str
    registered_at_id: int
    consortium_number: str


class MergedOut(Schema):
    """The record asked for was merged: read `merged_into` instead."""

    id: int
    merged_into: int


class IdentifierOut(Schema):
    id: int
    type: str
    system: str
    masked: str


class CandidateOut(Schema):
    patient_id: int
    name_masked: str
    sex: str
    birth_date: date
    resident_id_masked: str
    phone_masked: str
    registered_at_id: int
    exact: bool
    probability: float
    match_weight: float | None = Field(description="null for an exact identifier match")
    band: str
    agreement: dict[str, str] = Field(description="field → agreement level (docs/mpi.md)")
    identifiers: list[IdentifierOut]


class SearchOut(Schema):
    exact: CandidateOut | None
    exact_elsewhere: str = Field(description="the identifier type that matched a record held elsewhere, or empty")
    candidates: list[CandidateOut]
    elsewhere: int = Field(description="possible matches registered elsewhere (not shown)")


class ClaimIn(Schema):
    model_config = ConfigDict(extra="forbid")

    mrn: str = Field("", max_length=30)


class ClaimByIdentifierIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: Literal["resident_id", "insurance"]
    value: str = Field(min_length=1, max_length=64)
    system: str = Field("", max_length=32)
    mrn: str = Field("", max_length=30)


class IdentifierIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: Literal[tuple(LINKABLE)]  # type: ignore[valid-type]
    value: str = Field(min_length=1, max_length=64)
    system: str = Field("", max_length=32)


class MergeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    survivor_id: int
    merged_id: int
    reason: str = Field("", max_length=200)
    confirm: bool = False


class MergeOut(Schema):
    id: int
    survivor_id: int
    merged_id: int
    reason: str
    merged_at: datetime
    unmerged_at: datetime | None
    moved: dict[str, int] = Field(description="rows moved, by model")


class QrCheckInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=100)


class QrOut(Schema):
    token: str
    created_at: datetime


class IdentifiersOut(Schema):
    resident_id: str
    phone: str


class CheckInIn(Schema):
    model_config = ConfigDict(extra="forbid")

    resident_id: str = Field(min_length=1, max_length=18)


def _out(p: Patient) -> dict:
    return {"id": p.pk, "name": p.name, "sex": p.sex, "birth_date": p.birth_date,
            "resident_id_masked": p.masked_resident_id, "phone_masked": p.masked_phone, "address": p.address,
            "registered_at_id": p.registered_at_id, "consortium_number": consortium_number(p.pk)}


def _identifier(row: dict) -> dict:
    return {"id": row["id"], "type": row["type"], "system": row["system"], "masked": row["masked"]}


def _candidate(c: Shown) -> dict:
    p = c.patient
    return {"patient_id": p.pk, "name_masked": p.masked_name, "sex": p.sex, "birth_date": p.birth_date,
            "resident_id_masked": p.masked_resident_id, "phone_masked": p.masked_phone,
            "registered_at_id": p.registered_at_id, "exact": c.exact, "probability": c.probability,
            "match_weight": None if c.exact else c.match_weight, "band": c.band, "agreement": c.agreement,
            "identifiers": [_identifier(i) for i in c.identifiers]}


def _merge_out(m: Merge) -> dict:
    return {"id": m.pk, "survivor_id": m.survivor_id, "merged_id": m.merged_id, "reason": m.reason,
            "merged_at": m.merged_at, "unmerged_at": m.unmerged_at,
            "moved": {label: len(rows) for label, rows in sorted(m.moved.items())}}


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


@router.post("/search", response=SearchOut, auth=ActingRole(Cap.REGISTER),
             summary="Search before create: exact identifier match, then scored candidates (audited)",
             description="Only records the registrar may see are shown, masked, with the score and the agreement "
                         "of each field; of the others only their number (`elsewhere`), or `exact_elsewhere` when "
                         "the resident ID or insurance card matches a record held elsewhere.")
def search(request, payload: PatientIn):
    result = search_before_create(api_actor(request, Cap.REGISTER), NewPatient(**payload.dict()))
    return {"exact": _candidate(result.exact) if result.exact else None, "exact_elsewhere": result.exact_elsewhere,
            "candidates": [_candidate(c) for c in result.candidates], "elsewhere": result.elsewhere}


@router.post("/claim", response=PatientOut, auth=ActingRole(Cap.REGISTER),
             summary="This is the person: take over the record the presented resident ID or insurance card names")
def claim_by_identifier(request, payload: ClaimByIdentifierIn):
    actor = api_actor(request, Cap.REGISTER)
    return _out(do_claim_by_identifier(actor, payload.type, payload.value, payload.mrn, payload.system))


@router.post("/merges", response={201: MergeOut}, auth=ActingRole(Cap.MERGE),
             summary="Merge one record into another (the master patient index desk)")
def merge(request, payload: MergeIn):
    actor = api_actor(request, Cap.MERGE)
    return Status(201, _merge_out(do_merge(actor, payload.survivor_id, payload.merged_id, payload.reason,
                                           payload.confirm)))


@router.post("/merges/{int:merge_id}/unmerge", response=MergeOut, auth=ActingRole(Cap.MERGE),
             summary="Undo a merge: the rows it moved go back")
def unmerge(request, merge_id: int):
    return _merge_out(do_unmerge(api_actor(request, Cap.MERGE), merge_id))


@router.post("/qr/check-in", response=PatientOut, auth=ActingRole(Cap.REGISTER),
             summary="Check a patient in by the token of their QR card (unknown and revoked answer alike)")
def qr_check_in(request, payload: QrCheckInIn):
    return _out(qr.do_qr_check_in(api_actor(request, Cap.REGISTER), payload.token))


@router.get("/{int:patient_id}", response={200: PatientOut | MergedOut}, auth=ActingRole(Cap.CLINICAL),
            summary="One patient (404 when missing or not yours; a merged record: {id, merged_into})")
def get(request, patient_id: int):
    try:
        return _out(access_current(api_actor(request, Cap.CLINICAL), patient_id))
    except MergedRecord as merged:
        return {"id": merged.requested, "merged_into": merged.survivor_id}


@router.post("/{int:patient_id}/claim", response=PatientOut, auth=ActingRole(Cap.REGISTER),
             summary="This is the person: care for this record here (a record the registrar may see)")
def claim(request, patient_id: int, payload: ClaimIn):
    return _out(do_claim(api_actor(request, Cap.REGISTER), patient_id, payload.mrn))


@router.get("/{int:patient_id}/identifiers", response=list[IdentifierOut], auth=ActingRole(Cap.CLINICAL),
            summary="A patient's identifiers, masked")
def identifiers(request, patient_id: int):
    patient = access_patient(api_actor(request, Cap.CLINICAL), patient_id, object_type="identifier")
    return [_identifier(i) for i in masked_identifiers([patient.pk]).get(patient.pk, [])]


@router.post("/{int:patient_id}/identifiers", response={201: IdentifierOut}, auth=ActingRole(Cap.REGISTER),
             summary="Link an identifier (MRN of this institution, insurance card, e-health card, passport, permit)")
def link_identifier(request, patient_id: int, payload: IdentifierIn):
    row: Identifier = do_link_identifier(api_actor(request, Cap.REGISTER), patient_id, payload.type, payload.value,
                                         payload.system)
    shown = masked_identifiers([row.patient_id])[row.patient_id]
    return Status(201, _identifier(next(i for i in shown if i["id"] == row.pk)))


@router.delete("/{int:patient_id}/identifiers/{int:identifier_id}", response={204: None},
               auth=ActingRole(Cap.REGISTER), summary="Unlink an identifier typed in by mistake")
def unlink_identifier(request, patient_id: int, identifier_id: int):
    do_unlink_identifier(api_actor(request, Cap.REGISTER), patient_id, identifier_id)
    return Status(204, None)


@router.get("/{int:patient_id}/qr", response=QrOut, auth=ActingRole(Cap.CLINICAL),
            summary="The patient's current QR token (for printing a card)")
def qr_token(request, patient_id: int):
    patient = access_patient(api_actor(request, Cap.CLINICAL), patient_id, Action.READ, object_type="qr")
    token = qr.live_token(patient.pk)
    return {"token": token.token, "created_at": token.created_at} if token else {"token": "", "created_at":
                                                                                  patient.created_at}


@router.post("/{int:patient_id}/qr/rotate", response=QrOut, auth=ActingRole(Cap.REGISTER),
             summary="Issue a new QR card; the old token stops working at once")
def rotate_qr(request, patient_id: int):
    token = qr.do_rotate_qr(api_actor(request, Cap.REGISTER), patient_id)
    return {"token": token.token, "created_at": token.created_at}


@router.post("/{int:patient_id}/unmask", response=IdentifiersOut, summary="Full identifiers (audited)",
              auth=ActingRole(Cap.UNMASK))
def unmask(request, patient_id: int):
    patient = unmask_patient(api_actor(request), patient_id)
    return {"resident_id": patient.resident_id or "", "phone": patient.phone}
