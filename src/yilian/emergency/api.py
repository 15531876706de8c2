"""Green-channel and 120 endpoints: open a case, record and correct its time nodes, read its timeline,
take a 120 call and record the run and the crew's record, send the pre-arrival notice, direct a bypass,
close; and the indicators' cohorts (who was counted, who was excluded and why).

Parsing and the acting identity here; every rule is in `actions.py` and `dispatch.py`. A node recorded
by someone else meanwhile answers 409 with the value kept.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from pydantic import AwareDatetime, ConfigDict

from yilian.access.models import Action
from yilian.emergency import indicators, queries
from yilian.emergency.actions import (
    NewCase,
    NodeConflict,
    do_close_case,
    do_correct_node,
    do_direct_bypass,
    do_identify_patient,
    do_open_case,
    do_record_node,
)
from yilian.emergency.dispatch import (
    NewCall,
    Notice,
    Prehospital,
    Treatment,
    do_record_prehospital,
    do_record_run_step,
    do_send_notice,
    do_take_call,
)
from yilian.emergency.models import (
    ArrivalMode,
    CallEvent,
    Case,
    CentreType,
    Disposition,
    EmsCall,
    NodeTime,
    PrearrivalNotice,
    PrehospitalRecord,
    RunStep,
)
from yilian.emergency.nodes import node as node_named
from yilian.errors import ActionError
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap
from yilian.patients.masking import mask_phone

router = Router(tags=["emergency"])
ID = {"ge": 1, "le": 2**62}
STRICT = ConfigDict(extra="forbid")


class CaseIn(Schema):
    model_config = STRICT

    centre: CentreType
    arrival_mode: ArrivalMode
    patient_id: int | None = Field(None, **ID)
    transferred_from_id: int | None = Field(None, **ID)
    in_hospital_onset: bool = False
    provisional_sex: str = Field("", max_length=1)
    provisional_age: int | None = Field(None, ge=0, le=130)


class NodeIn(Schema):
    model_config = STRICT

    node: str = Field(max_length=40)
    at: AwareDatetime


class CorrectionIn(Schema):
    model_config = STRICT

    node: str = Field(max_length=40)
    at: AwareDatetime
    reason: str = Field(max_length=200)
    supersedes_id: int | None = Field(None, **ID)


class IdentifyIn(Schema):
    model_config = STRICT

    patient_id: int = Field(**ID)


class BypassIn(Schema):
    model_config = STRICT

    to: str = Field(max_length=20)


class CloseIn(Schema):
    model_config = STRICT

    disposition: Disposition
    at: AwareDatetime | None = None


class CallIn(Schema):
    model_config = STRICT

    received_at: AwareDatetime
    address: str = Field(max_length=200)
    complaint: str = Field(max_length=200)
    caller_phone: str = Field("", max_length=20)
    suspected: CentreType | None = None


class StepIn(Schema):
    model_config = STRICT

    kind: RunStep
    at: AwareDatetime
    vehicle: str = Field("", max_length=20)


class TreatmentIn(Schema):
    model_config = STRICT

    what: str = Field(max_length=100)
    at: AwareDatetime | None = None


class BeFastIn(Schema):
    model_config = STRICT

    balance: bool | None = None
    eyes: bool | None = None
    face: bool | None = None
    arm: bool | None = None
    speech: bool | None = None


class PrehospitalIn(Schema):
    model_config = STRICT

    systolic: int | None = Field(None, ge=0, le=300)
    diastolic: int | None = Field(None, ge=0, le=250)
    heart_rate: int | None = Field(None, ge=0, le=300)
    respiratory_rate: int | None = Field(None, ge=0, le=80)
    spo2: int | None = Field(None, ge=0, le=100)
    temperature: Decimal | None = Field(None, ge=25, le=45, decimal_places=1)
    glucose: Decimal | None = Field(None, ge=Decimal("0.5"), le=60, decimal_places=1)
    gcs_eye: int | None = Field(None, ge=1, le=4)
    gcs_verbal: int | None = Field(None, ge=1, le=5)
    gcs_motor: int | None = Field(None, ge=1, le=6)
    be_fast: BeFastIn | None = None
    ecg_file: str = Field("", max_length=200)
    ecg_at: AwareDatetime | None = None
    ecg_transmitted_at: AwareDatetime | None = None
    working_diagnosis: str = Field("", max_length=200)
    treatments: list[TreatmentIn] = Field(default_factory=list, max_length=30)


class NoticeIn(Schema):
    """To an open case (`case_id`), or opening one at the receiving institution (`centre`)."""

    model_config = STRICT

    to_institution_id: int = Field(**ID)
    centre: CentreType | None = None
    call_id: int | None = Field(None, **ID)
    case_id: int | None = Field(None, **ID)
    patient_id: int | None = Field(None, **ID)
    eta: AwareDatetime | None = None
    summary: str = Field("", max_length=200)
    in_hospital_onset: bool = False
    provisional_sex: str = Field("", max_length=1)
    provisional_age: int | None = Field(None, ge=0, le=130)


class NodeOut(Schema):
    id: int
    node: str
    name_zh: str
    name_en: str
    at: datetime
    recorded_at: datetime
    user_id: int | None
    membership_id: int | None
    institution_id: int | None
    supersedes_id: int | None
    reason: str


class ConflictOut(Schema):
    errors: list[dict]
    kept: NodeOut


class TimelineNodeOut(Schema):
    node: str
    name_zh: str
    name_en: str
    current: NodeOut | None
    history: list[NodeOut]


class EventOut(Schema):
    kind: str
    at: datetime
    user_id: int | None
    membership_id: int | None
    data: dict


class CaseOut(Schema):
    id: int
    centre: str
    patient_id: int | None
    institution_id: int
    opened_by_institution_id: int
    arrival_mode: str
    transferred_from_id: int | None
    in_hospital_onset: bool
    provisional_sex: str
    provisional_age: int | None
    opened_at: datetime
    closed_at: datetime | None
    disposition: str


class StepOut(Schema):
    kind: str
    at: datetime
    vehicle: str


class RecordOut(Schema):
    id: int
    recorded_at: datetime
    systolic: int | None
    diastolic: int | None
    heart_rate: int | None
    respiratory_rate: int | None
    spo2: int | None
    temperature: Decimal | None
    glucose: Decimal | None
    gcs: int | None
    gcs_eye: int | None
    gcs_verbal: int | None
    gcs_motor: int | None
    be_fast: dict
    ecg_file: str
    ecg_at: datetime | None
    ecg_transmitted_at: datetime | None
    working_diagnosis: str
    treatments: list[dict]


class CallOut(Schema):
    id: int
    institution_id: int
    received_at: datetime
    caller_phone: str  # masked
    address: str
    complaint: str
    suspected: str
    case_id: int | None
    steps: list[StepOut]
    record: RecordOut | None


class NoticeOut(Schema):
    id: int
    case_id: int
    call_id: int | None
    from_institution_id: int
    to_institution_id: int
    sent_at: datetime
    eta: datetime | None
    summary: str
    grant_id: int | None


class CaseDetailOut(CaseOut):
    timeline: list[TimelineNodeOut]
    events: list[EventOut]
    notices: list[NoticeOut]
    call: CallOut | None


class CohortOut(Schema):
    code: str
    start: date
    end: date
    value: Decimal | int | None
    included: int
    excluded: dict[str, int]


# --- output -------------------------------------------------------------------------------------------


def _node_out(case: Case, row: NodeTime) -> dict:
    n = node_named(case.centre, row.node)
    return {"id": row.pk, "node": row.node, "name_zh": n.zh if n else row.node, "name_en": n.en if n else row.node,
            "at": row.at, "recorded_at": row.recorded_at, "user_id": row.user_id, "membership_id": row.membership_id,
            "institution_id": row.institution_id, "supersedes_id": row.supersedes_id, "reason": row.reason}


def _case_out(case: Case) -> dict:
    return {name: getattr(case, name) for name in CaseOut.model_fields}


def _record_out(record: PrehospitalRecord | None) -> dict | None:
    if record is None:
        return None
    out = {name: getattr(record, name) for name in RecordOut.model_fields if name != "id"}
    out["id"] = record.pk
    return out


def _call_out(call: EmsCall) -> dict:
    return {"id": call.pk, "institution_id": call.institution_id, "received_at": call.received_at,
            "caller_phone": mask_phone(call.caller_phone), "address": call.address, "complaint": call.complaint,
            "suspected": call.suspected, "case_id": call.case_id,
            "steps": [{"kind": e.kind, "at": e.at, "vehicle": e.vehicle} for e in CallEvent.objects.filter(call=call)],
            "record": _record_out(PrehospitalRecord.objects.filter(call=call).order_by("recorded_at", "pk").last())}


def _notice_out(n: PrearrivalNotice) -> dict:
    return {"id": n.pk, "case_id": n.case_id, "call_id": n.call_id, "from_institution_id": n.from_institution_id,
            "to_institution_id": n.to_institution_id, "sent_at": n.sent_at, "eta": n.eta, "summary": n.summary,
            "grant_id": n.grant_id}


def _detail(case: Case) -> dict:
    out = _case_out(case)
    out["timeline"] = [{"node": item["node"].code, "name_zh": item["node"].zh, "name_en": item["node"].en,
                        "current": _node_out(case, item["current"]) if item["current"] else None,
                        "history": [_node_out(case, r) for r in item["history"]]}
                       for item in queries.timeline(case)]
    out["events"] = [{"kind": e.kind, "at": e.at, "user_id": e.user_id, "membership_id": e.membership_id,
                      "data": e.data} for e in queries.case_events(case)]
    out["notices"] = [_notice_out(n) for n in queries.notices(case)]
    call = queries.call_of(case)
    out["call"] = _call_out(call) if call else None
    return out


def _conflict(case_id: int, exc: NodeConflict) -> Status:
    case = Case.objects.get(pk=case_id)
    return Status(409, {"errors": exc.as_list(), "kept": _node_out(case, exc.kept)})


# --- cases ------------------------------------------------------------------------------------------------


@router.post("/cases", response={201: CaseOut}, summary="Open a green channel at the acting institution",
             auth=ActingRole(Cap.CLINICAL))
def open_case(request, payload: CaseIn):
    actor = api_actor(request, Cap.CLINICAL)
    case = do_open_case(actor, NewCase(
        centre=payload.centre.value, arrival_mode=payload.arrival_mode.value, patient_id=payload.patient_id,
        transferred_from_id=payload.transferred_from_id, in_hospital_onset=payload.in_hospital_onset,
        provisional_sex=payload.provisional_sex, provisional_age=payload.provisional_age))
    return Status(201, _case_out(case))


@router.get("/cases/{int:case_id}", response=CaseDetailOut,
            summary="A case with its timeline (current values and corrections), events, notices and 120 call",
            auth=ActingRole(Cap.CLINICAL))
def get_case(request, case_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    case, _decision = queries.case_for(actor, case_id, action=Action.READ)
    return _detail(case)


@router.post("/cases/{int:case_id}/nodes", response={201: NodeOut, 409: ConflictOut},
             summary="Record a time node (409 with the value kept when it is already recorded)",
             auth=ActingRole(Cap.CLINICAL))
def record_node(request, case_id: int, payload: NodeIn):
    actor = api_actor(request, Cap.CLINICAL)
    try:
        row = do_record_node(actor, case_id, payload.node, payload.at, source="api")
    except NodeConflict as exc:
        return _conflict(case_id, exc)
    return Status(201, _node_out(row.case, row))


@router.post("/cases/{int:case_id}/corrections", response={201: NodeOut, 409: ConflictOut},
             summary="Correct a time node with a reason (the original stays in the history)",
             auth=ActingRole(Cap.CLINICAL))
def correct_node(request, case_id: int, payload: CorrectionIn):
    actor = api_actor(request, Cap.CLINICAL)
    try:
        row = do_correct_node(actor, case_id, payload.node, payload.at, payload.reason,
                              supersedes_id=payload.supersedes_id, source="api")
    except NodeConflict as exc:
        return _conflict(case_id, exc)
    return Status(201, _node_out(row.case, row))


@router.post("/cases/{int:case_id}/identify", response=CaseOut, summary="Identify the case's patient",
             auth=ActingRole(Cap.CLINICAL))
def identify(request, case_id: int, payload: IdentifyIn):
    actor = api_actor(request, Cap.CLINICAL)
    return _case_out(do_identify_patient(actor, case_id, payload.patient_id))


@router.post("/cases/{int:case_id}/bypass", response={201: EventOut},
             summary="Direct the ambulance past the emergency department (cath lab, CT, …)",
             auth=ActingRole(Cap.CLINICAL))
def bypass(request, case_id: int, payload: BypassIn):
    actor = api_actor(request, Cap.CLINICAL)
    e = do_direct_bypass(actor, case_id, payload.to)
    return Status(201, {"kind": e.kind, "at": e.at, "user_id": e.user_id, "membership_id": e.membership_id,
                        "data": e.data})


@router.post("/cases/{int:case_id}/close", response=CaseOut, summary="Close the green channel with a disposition",
             auth=ActingRole(Cap.CLINICAL))
def close(request, case_id: int, payload: CloseIn):
    actor = api_actor(request, Cap.CLINICAL)
    return _case_out(do_close_case(actor, case_id, payload.disposition.value, payload.at))


# --- 120 ------------------------------------------------------------------------------------------------


@router.post("/calls", response={201: CallOut}, summary="Take a 120 call at the acting station",
             auth=ActingRole(Cap.CLINICAL))
def take_call(request, payload: CallIn):
    actor = api_actor(request, Cap.CLINICAL)
    call = do_take_call(actor, NewCall(received_at=payload.received_at, address=payload.address,
                                       complaint=payload.complaint, caller_phone=payload.caller_phone,
                                       suspected=payload.suspected.value if payload.suspected else ""))
    return Status(201, _call_out(call))


@router.post("/calls/{int:call_id}/steps", response={201: CallOut},
             summary="Record a step of the ambulance's run (dispatched … arrived)", auth=ActingRole(Cap.CLINICAL))
def run_step(request, call_id: int, payload: StepIn):
    actor = api_actor(request, Cap.CLINICAL)
    event = do_record_run_step(actor, call_id, payload.kind.value, payload.at, payload.vehicle)
    return Status(201, _call_out(event.call))


@router.post("/calls/{int:call_id}/prehospital", response={201: RecordOut},
             summary="The crew's pre-hospital record as of now (each update a new version)",
             auth=ActingRole(Cap.CLINICAL))
def prehospital(request, call_id: int, payload: PrehospitalIn):
    actor = api_actor(request, Cap.CLINICAL)
    data = payload.model_dump(exclude={"be_fast", "treatments"})
    be_fast = {k: v for k, v in (payload.be_fast.model_dump() if payload.be_fast else {}).items() if v is not None}
    record = do_record_prehospital(actor, call_id, Prehospital(
        **data, be_fast=be_fast, treatments=[Treatment(t.what, t.at) for t in payload.treatments]))
    return Status(201, _record_out(record))


@router.post("/notices", response={201: NoticeOut},
             summary="Pre-arrival notice: opens the green channel at the receiving institution and grants it access",
             auth=ActingRole(Cap.CLINICAL))
def notice(request, payload: NoticeIn):
    actor = api_actor(request, Cap.CLINICAL)
    sent = do_send_notice(actor, Notice(
        to_institution_id=payload.to_institution_id, centre=payload.centre.value if payload.centre else "",
        call_id=payload.call_id, case_id=payload.case_id, patient_id=payload.patient_id, eta=payload.eta,
        summary=payload.summary, in_hospital_onset=payload.in_hospital_onset,
        provisional_sex=payload.provisional_sex, provisional_age=payload.provisional_age))
    return Status(201, _notice_out(sent))


# --- indicators -------------------------------------------------------------------------------------------


class CohortQuery(Schema):
    start: date
    end: date


@router.get("/indicators/{code}", response=CohortOut,
            summary="A green-channel indicator over [start, end): value, cases counted, cases excluded by reason",
            auth=ActingRole(Cap.DASHBOARD))
def cohort(request, code: str, q: Query[CohortQuery]):
    api_actor(request, Cap.DASHBOARD)
    measure = indicators.MEASURES.get(code)
    if measure is None:
        raise Http404
    if not (date(2000, 1, 1) <= q.start < q.end <= date(2100, 1, 1)):
        raise ActionError("end", _("Choose a period that ends after it starts, between 2000 and 2100."))
    if q.end - q.start > timedelta(days=3 * 366):
        raise ActionError("end", _("Choose a period of at most three years."))
    report = indicators.report(code, indicators.Scope(q.start, q.end))
    return {"code": code, "start": q.start, "end": q.end, "value": report.value, "included": report.included,
            "excluded": report.excluded}
