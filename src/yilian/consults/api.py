"""Consultation endpoints: request, the lists (asked by us, on my panel), the de-identified worklist, one
consultation with its panel, opinions and history, each step, and guided operations. Parsing and the
acting identity here; every rule is in the actions, every patient read through the access gate."""

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, ConfigDict

from yilian.access.gate import audit_many
from yilian.consults import actions, operations, queries
from yilian.consults.models import Consultation, GuidedOperation
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap

router = Router(tags=["consults"])
ID = {"ge": 1, "le": 2**62}


class Strict(Schema):
    model_config = ConfigDict(extra="forbid")


class SharedIn(Strict):
    type: Literal["encounter"]
    id: int = Field(**ID)


class ConsultationIn(Strict):
    patient_id: int = Field(**ID)
    target: Literal["centre", "department", "expert"]
    mode: Literal["sync", "async"]
    urgency: Literal["routine", "urgent", "emergency"]
    question: str = Field(..., min_length=1, max_length=1000)
    summary: str = Field(..., min_length=1, max_length=4000)
    consent: bool
    to_institution_id: int | None = Field(None, **ID)
    to_department_id: int | None = Field(None, **ID)
    to_staff_id: int | None = Field(None, **ID)
    mdt: bool = False
    shared: list[SharedIn] = Field(default_factory=list, max_length=50)
    session_start: AwareDatetime | None = None
    session_minutes: int | None = Field(None, ge=1, le=1440)


class ConsultationOut(Schema):
    id: int
    number: str
    patient_id: int
    mode: str
    mdt: bool
    urgency: str
    status: str
    target: str
    from_institution_id: int
    from_department_id: int | None
    from_staff_id: int
    to_institution_id: int
    to_department_id: int | None
    to_staff_id: int | None
    expert_id: int | None
    expert_institution_id: int | None
    session_start: datetime | None
    session_minutes: int | None
    created_at: datetime
    assigned_at: datetime | None
    signed_at: datetime | None
    confirmed_at: datetime | None
    cancelled_at: datetime | None


class EventOut(Schema):
    kind: str
    at: datetime
    data: dict


class PanelOut(Schema):
    staff_id: int
    institution_id: int
    lead: bool
    contribution: str
    contributed_at: datetime | None


class OpinionOut(Schema):
    version: int
    author_id: int
    opinion: str
    recommendation: str
    created_at: datetime
    updated_at: datetime
    signed_at: datetime | None
    amends_version: int | None
    amendment_reason: str


class ConsultationDetail(ConsultationOut):
    question: str
    summary: str
    shared: list[dict]
    panel: list[PanelOut]
    opinions: list[OpinionOut]
    events: list[EventOut]


class WorkItemOut(Schema):
    """A waiting request without the patient's identity: sex and age only."""

    id: int
    number: str
    status: str
    urgency: str
    mode: str
    mdt: bool
    target: str
    from_institution_id: int
    from_department_id: int | None
    to_department_id: int | None
    to_staff_id: int | None
    expert_id: int | None
    sex: str
    age: int
    question: str
    session_start: datetime | None
    session_minutes: int | None
    created_at: datetime
    can_claim: bool
    can_assign: bool


class ListQuery(Schema):
    box: Literal["out", "mine"] = "out"
    status: Literal["requested", "assigned", "drafted", "signed", "confirmed", "cancelled", "open"] | None = None


class ExpertIn(Strict):
    staff_id: int = Field(**ID)
    institution_id: int = Field(**ID)


class AssignIn(ExpertIn):
    replacing_staff_id: int | None = Field(None, **ID, description="the expert the desk saw holding it (none: nobody)")


class ExpertOut(Schema):
    staff_id: int
    institution_id: int
    department_id: int | None
    name: str


class TextIn(Strict):
    text: str = Field(..., min_length=1, max_length=4000)


class OpinionIn(Strict):
    opinion: str = Field(..., min_length=1, max_length=4000)
    recommendation: str = Field("", max_length=4000)


class AmendIn(OpinionIn):
    reason: str = Field(..., min_length=1, max_length=200)


class ReasonIn(Strict):
    reason: str = Field(..., min_length=1, max_length=200)


class GuidedOperationIn(Strict):
    patient_id: int = Field(**ID)
    procedure: str = Field(..., min_length=1, max_length=100)
    performed_on: date
    mode: Literal["remote", "onsite"]
    expert_staff_id: int = Field(**ID)
    expert_institution_id: int = Field(**ID)
    operator_staff_id: int = Field(**ID)
    outcome: Literal["completed", "complication", "converted", "abandoned", "transferred"]
    notes: str = Field("", max_length=1000)
    consultation_id: int | None = Field(None, **ID)
    department_id: int | None = Field(None, **ID)


class GuidedOperationOut(Schema):
    id: int
    patient_id: int
    consultation_id: int | None
    institution_id: int
    department_id: int | None
    procedure: str
    performed_on: date
    mode: str
    expert_id: int
    expert_institution_id: int
    operator_id: int
    outcome: str
    notes: str
    recorded_at: datetime


def _out(c: Consultation) -> dict:
    return {name: getattr(c, name) for name in ConsultationOut.model_fields}


def _operation(o: GuidedOperation) -> dict:
    return {name: getattr(o, name) for name in GuidedOperationOut.model_fields}


def _detail(c: Consultation) -> dict:
    versions = {o.pk: o.version for o in c.opinions.all()}
    return {
        **_out(c), "question": c.question, "summary": c.summary, "shared": c.shared,
        "panel": [{"staff_id": p.staff_id, "institution_id": p.institution_id, "lead": p.lead,
                   "contribution": p.contribution, "contributed_at": p.contributed_at}
                  for p in c.panel.filter(left_at__isnull=True)],
        "opinions": [{"version": o.version, "author_id": o.author_id, "opinion": o.opinion,
                      "recommendation": o.recommendation, "created_at": o.created_at, "updated_at": o.updated_at,
                      "signed_at": o.signed_at, "amends_version": versions.get(o.amends_id),
                      "amendment_reason": o.amendment_reason} for o in c.opinions.all()],
        "events": [{"kind": e.kind, "at": e.at, "data": e.data} for e in c.events.all()],
    }


@router.post("", response={201: ConsultationOut}, summary="Ask for a remote consultation",
             auth=ActingRole(Cap.RECORD_VISIT))
def request_consultation(request, payload: ConsultationIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    data = payload.dict()
    data["shared"] = [dict(item) for item in data["shared"]]
    return Status(201, _out(actions.do_request(actor, actions.NewConsultation(**data))))


@router.get("", response=list[ConsultationOut], summary="Consultations asked by the institution, or on my panel",
            auth=ActingRole(Cap.CLINICAL))
def consultations(request, q: Query[ListQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    rows = queries.requested(actor, q.status) if q.box == "out" else queries.mine(actor, q.status)
    queries.audit_list(actor, rows)
    return [_out(c) for c in rows]


@router.get("/worklist", response=list[WorkItemOut], summary="Waiting requests to claim or assign (de-identified)",
            auth=ActingRole(Cap.CLINICAL))
def worklist(request):
    actor = api_actor(request, Cap.CLINICAL)
    out = []
    for item in queries.worklist(actor):
        c = item.consultation
        out.append({"id": c.pk, "number": c.number, "status": c.status, "urgency": c.urgency, "mode": c.mode,
                    "mdt": c.mdt, "target": c.target, "from_institution_id": c.from_institution_id,
                    "from_department_id": c.from_department_id, "to_department_id": c.to_department_id,
                    "to_staff_id": c.to_staff_id, "expert_id": c.expert_id, "sex": c.patient.sex, "age": item.age,
                    "question": c.question, "session_start": c.session_start,
                    "session_minutes": c.session_minutes, "created_at": c.created_at,
                    "can_claim": item.can_claim, "can_assign": item.can_assign})
    return out


@router.get("/guided-operations", response=list[GuidedOperationOut],
            summary="Guided operations at the institution or guided by me", auth=ActingRole(Cap.CLINICAL))
def guided_operations(request):
    actor = api_actor(request, Cap.CLINICAL)
    rows = queries.guided_operations(actor)
    if rows:
        audit_many(actor, {o.patient_id for o in rows}, object_type="guided-operation")
    return [_operation(o) for o in rows]


@router.post("/guided-operations", response={201: GuidedOperationOut}, summary="Record a guided operation",
             auth=ActingRole(Cap.RECORD_VISIT))
def record_guided_operation(request, payload: GuidedOperationIn):
    actor = api_actor(request, Cap.RECORD_VISIT)
    operation = operations.do_record_guided_operation(actor, operations.NewGuidedOperation(**payload.dict()))
    return Status(201, _operation(operation))


@router.get("/{int:consultation_id}", response=ConsultationDetail,
            summary="One consultation with its panel, opinions and history", auth=ActingRole(Cap.CLINICAL))
def consultation(request, consultation_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    found, _decision = actions.consultation_for(actor, consultation_id, action="read", audit_success=True)
    return _detail(found)


@router.get("/{int:consultation_id}/experts", response=list[ExpertOut],
            summary="Doctors the desk may assign, or the lead expert invite", auth=ActingRole(Cap.RECORD_VISIT))
def experts(request, consultation_id: int):
    actor = api_actor(request, Cap.RECORD_VISIT)
    found = actions.for_choosing_experts(actor, consultation_id)
    return [{"staff_id": m.staff_id, "institution_id": m.institution_id, "department_id": m.department_id,
             "name": m.staff.name} for m in queries.experts_for(found)]


@router.post("/{int:consultation_id}/claim", response=ConsultationOut, auth=ActingRole(Cap.RECORD_VISIT))
def claim(request, consultation_id: int):
    return _out(actions.do_claim(api_actor(request, Cap.RECORD_VISIT), consultation_id))


@router.post("/{int:consultation_id}/assign", response=ConsultationOut, auth=ActingRole(Cap.RECORD_VISIT))
def assign(request, consultation_id: int, payload: AssignIn):
    return _out(actions.do_assign(api_actor(request, Cap.RECORD_VISIT), consultation_id, payload.staff_id,
                                  payload.institution_id, payload.replacing_staff_id))


@router.post("/{int:consultation_id}/experts", response={201: PanelOut}, auth=ActingRole(Cap.RECORD_VISIT))
def add_expert(request, consultation_id: int, payload: ExpertIn):
    expert = actions.do_add_expert(api_actor(request, Cap.RECORD_VISIT), consultation_id, payload.staff_id,
                                   payload.institution_id)
    return Status(201, {"staff_id": expert.staff_id, "institution_id": expert.institution_id, "lead": expert.lead,
                        "contribution": expert.contribution, "contributed_at": expert.contributed_at})


@router.put("/{int:consultation_id}/contribution", response=PanelOut, auth=ActingRole(Cap.RECORD_VISIT))
def contribute(request, consultation_id: int, payload: TextIn):
    mine = actions.do_contribute(api_actor(request, Cap.RECORD_VISIT), consultation_id, payload.text)
    return {"staff_id": mine.staff_id, "institution_id": mine.institution_id, "lead": mine.lead,
            "contribution": mine.contribution, "contributed_at": mine.contributed_at}


def _opinion(o) -> dict:
    return {"version": o.version, "author_id": o.author_id, "opinion": o.opinion, "recommendation": o.recommendation,
            "created_at": o.created_at, "updated_at": o.updated_at, "signed_at": o.signed_at,
            "amends_version": o.amends.version if o.amends_id else None, "amendment_reason": o.amendment_reason}


@router.put("/{int:consultation_id}/opinion", response=OpinionOut, summary="Write or change the draft opinion",
            auth=ActingRole(Cap.RECORD_VISIT))
def write_opinion(request, consultation_id: int, payload: OpinionIn):
    return _opinion(actions.do_write_opinion(api_actor(request, Cap.RECORD_VISIT), consultation_id,
                                             payload.opinion, payload.recommendation))


@router.post("/{int:consultation_id}/sign", response=OpinionOut, auth=ActingRole(Cap.RECORD_VISIT))
def sign(request, consultation_id: int):
    return _opinion(actions.do_sign(api_actor(request, Cap.RECORD_VISIT), consultation_id))


@router.post("/{int:consultation_id}/amend", response={201: OpinionOut},
             summary="Amend a signed opinion (a new signed version)", auth=ActingRole(Cap.RECORD_VISIT))
def amend(request, consultation_id: int, payload: AmendIn):
    return Status(201, _opinion(actions.do_amend(api_actor(request, Cap.RECORD_VISIT), consultation_id,
                                                 payload.opinion, payload.recommendation, payload.reason)))


@router.post("/{int:consultation_id}/confirm", response=ConsultationOut, auth=ActingRole(Cap.RECORD_VISIT))
def confirm(request, consultation_id: int):
    return _out(actions.do_confirm(api_actor(request, Cap.RECORD_VISIT), consultation_id))


@router.post("/{int:consultation_id}/cancel", response=ConsultationOut, auth=ActingRole(Cap.RECORD_VISIT))
def cancel(request, consultation_id: int, payload: ReasonIn):
    return _out(actions.do_cancel(api_actor(request, Cap.RECORD_VISIT), consultation_id, payload.reason))
