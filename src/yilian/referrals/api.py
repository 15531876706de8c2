"""Referral endpoints: the diagnosis list, slots a referral may reserve, send, the in- and out-boxes, one
referral with its history, and each step. Parsing and the acting identity here; every rule is in the
actions, every patient read through the access gate."""

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import ConfigDict

from yilian.access.gate import audit_many
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.referrals import actions, codes
from yilian.referrals.models import Referral
from yilian.referrals.queries import box

router = Router(tags=["referrals"])
ID = {"ge": 1, "le": 2**62}


class DiagnosisOut(Schema):
    code: str
    name: str


class DiagnosisQuery(Schema):
    q: str = Field(..., min_length=1, max_length=30)


class SlotQuery(Schema):
    institution_id: int = Field(**ID)
    department_id: int | None = Field(None, **ID)
    doctor_id: int | None = Field(None, **ID)


class SlotOut(Schema):
    id: int
    department_id: int
    doctor_id: int | None
    start: datetime
    end: datetime


class SharedIn(Schema):
    model_config = ConfigDict(extra="forbid")

    type: Literal["encounter"]
    id: int = Field(**ID)


class ReferralIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(**ID)
    direction: Literal["up", "down"]
    setting: Literal["outpatient", "inpatient"]
    urgency: Literal["routine", "urgent", "emergency"]
    to_institution_id: int = Field(**ID)
    to_department_id: int | None = Field(None, **ID)
    to_staff_id: int | None = Field(None, **ID)
    diagnosis_code: str = Field(..., min_length=1, max_length=10)
    reason: str = Field(..., min_length=1, max_length=500)
    summary: str = Field("", max_length=4000)
    shared: list[SharedIn] = Field(default_factory=list, max_length=50)
    follow_up_plan: str = Field("", max_length=2000)
    follow_up_staff_id: int | None = Field(None, **ID)
    slot_id: int | None = Field(None, **ID)
    bed_requested: bool = False


class EventOut(Schema):
    kind: str
    at: datetime
    data: dict


class ReferralOut(Schema):
    id: int
    number: str
    patient_id: int
    direction: str
    setting: str
    urgency: str
    status: str
    from_institution_id: int
    to_institution_id: int
    to_department_id: int | None
    to_staff_id: int | None
    diagnosis_code: str
    diagnosis_name: str
    reason: str
    booking_id: int | None
    bed_requested: bool
    created_at: datetime
    deadline_at: datetime
    accepted_at: datetime | None
    arrived_at: datetime | None
    closed_at: datetime | None
    escalated_at: datetime | None


class ReferralDetail(ReferralOut):
    summary: str
    shared: list[dict]
    follow_up_plan: str
    events: list[EventOut]


class BoxQuery(Schema):
    box: Literal["in", "out"] = "in"
    status: Literal["sent", "accepted", "rejected", "arrived", "closed", "cancelled", "open"] | None = None


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=200)


class RedirectIn(ReasonIn):
    to_institution_id: int = Field(**ID)
    to_department_id: int | None = Field(None, **ID)


def _out(r: Referral) -> dict:
    return {name: getattr(r, name) for name in ReferralOut.model_fields}


@router.get("/diagnoses", response=list[DiagnosisOut], summary="ICD-10 codes by code or name",
            auth=ActingRole(Cap.RECORD_VISIT))
def diagnoses(request, q: Query[DiagnosisQuery]):
    return [{"code": c, "name": n} for c, n in codes.search(q.q)]


@router.get("/slots", response=list[SlotOut], summary="The earliest places a referral may reserve",
            auth=ActingRole(Cap.RECORD_VISIT))
def slots(request, q: Query[SlotQuery]):
    return [{"id": s.pk, "department_id": s.schedule.department_id, "doctor_id": s.schedule.doctor_id,
             "start": s.start, "end": s.end}
            for s in actions.proposed_slots(q.institution_id, q.department_id, q.doctor_id, limit=10)]


@router.post("", response={201: ReferralOut}, summary="Refer a patient up or down", auth=ActingRole(Cap.RECORD_VISIT))
def refer(request, payload: ReferralIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    data = payload.dict()
    data["shared"] = [dict(item) for item in data["shared"]]
    return Status(201, _out(actions.do_refer(actor, actions.NewReferral(**data))))


@router.get("", response=list[ReferralOut], summary="The institution's incoming or outgoing referrals",
            auth=ActingRole(Cap.CLINICAL))
def referrals(request, q: Query[BoxQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    rows = box(actor, q.box, q.status)
    if rows:
        audit_many(actor, {r.patient_id for r in rows}, object_type="referral")
    return [_out(r) for r in rows]


@router.get("/{int:referral_id}", response=ReferralDetail, summary="One referral with its history",
            auth=ActingRole(Cap.CLINICAL))
def referral(request, referral_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    found, _decision = actions.referral_for(actor, referral_id, side="any", action="read", audit_success=True)
    return {**_out(found), "summary": found.summary, "shared": found.shared, "follow_up_plan": found.follow_up_plan,
            "events": [{"kind": e.kind, "at": e.at, "data": e.data} for e in found.events.all()]}


@router.post("/{int:referral_id}/accept", response=ReferralOut, auth=ActingRole(Cap.CLINICAL))
def accept(request, referral_id: int):
    return _out(actions.do_accept(api_actor(request, Cap.CLINICAL), referral_id))


@router.post("/{int:referral_id}/reject", response=ReferralOut, auth=ActingRole(Cap.CLINICAL))
def reject(request, referral_id: int, payload: ReasonIn):
    return _out(actions.do_reject(api_actor(request, Cap.CLINICAL), referral_id, payload.reason))


@router.post("/{int:referral_id}/redirect", response=ReferralOut, auth=ActingRole(Cap.CLINICAL))
def redirect(request, referral_id: int, payload: RedirectIn):
    return _out(actions.do_redirect(api_actor(request, Cap.CLINICAL), referral_id, payload.to_institution_id,
                                    payload.reason, payload.to_department_id))


@router.post("/{int:referral_id}/arrive", response=ReferralOut, auth=ActingRole(Cap.CLINICAL))
def arrive(request, referral_id: int):
    return _out(actions.do_arrive(api_actor(request, Cap.CLINICAL), referral_id))


@router.post("/{int:referral_id}/close", response=ReferralOut, auth=ActingRole(Cap.CLINICAL))
def close(request, referral_id: int):
    return _out(actions.do_close(api_actor(request, Cap.CLINICAL), referral_id))


@router.post("/{int:referral_id}/cancel", response=ReferralOut, auth=ActingRole(Cap.RECORD_VISIT))
def cancel(request, referral_id: int, payload: ReasonIn):
    return _out(actions.do_cancel(api_actor(request, Cap.RECORD_VISIT), referral_id, payload.reason))
