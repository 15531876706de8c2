"""Diagnostic-centre endpoints: the centres and exam types, submitting a study (multipart, with its files),
the requesting institution's studies and critical values, the centre's worklist, one study with its reports
and history, each step, a stored file, a patient's reports and the statistics. Parsing and the acting
identity here; every rule is in the actions, every patient read through the access gate."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Literal

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import AwareDatetime, ConfigDict

from yilian.access.gate import access_patient, audit, audit_many
from yilian.access.models import Action
from yilian.analytics.dashboard import EARLIEST, LATEST, default_scope, out_of_range
from yilian.analytics.registry import Scope
from yilian.diagnostics import actions, catalogue, indicators, queries, uploads
from yilian.diagnostics.models import Centre, CriticalValue, Priority, Report, ReportStatus, Study
from yilian.errors import ActionError
from yilian.network.apiauth import ActingRole, api_actor
from yilian.network.roles import Cap

router = Router(tags=["diagnostics"])
ID = {"ge": 1, "le": 2**62}
PRIORITY = {"stat": Priority.STAT, "urgent": Priority.URGENT, "routine": Priority.ROUTINE}
PRIORITY_NAME = {v: k for k, v in PRIORITY.items()}


class CentreOut(Schema):
    id: int
    name: str
    kind: str
    institution_id: int
    runs: bool
    exam_types: list[str]


class ExamTypeOut(Schema):
    code: str
    name: str
    kind: str
    modalities: list[str]
    findings: str
    impression: str
    critical: list[str]


class KindQuery(Schema):
    kind: Literal["imaging", "ecg", "pathology", "lab"] | None = None


class StudyIn(Schema):
    model_config = ConfigDict(extra="forbid")

    patient_id: int = Field(**ID)
    centre_id: int = Field(**ID)
    exam_type: str = Field(..., min_length=1, max_length=20)
    encounter_id: int = Field(**ID)
    priority: Literal["stat", "urgent", "routine"] = "routine"
    clinical_info: str = Field("", max_length=2000)
    specimen_barcode: str = Field("", max_length=40)
    specimen_type: str = Field("", max_length=40)
    specimen_site: str = Field("", max_length=100)
    specimen_count: int = Field(0, ge=0, le=99)
    collected_at: AwareDatetime | None = None


class StudyOut(Schema):
    id: int
    number: str
    centre_id: int
    kind: str
    exam_type: str
    exam_name: str
    priority: str
    patient_id: int
    requesting_institution_id: int
    requesting_staff_id: int
    encounter_id: int
    status: str
    submitted_at: datetime
    reader_id: int | None
    claimed_at: datetime | None
    signed_at: datetime | None
    amended_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    study_uid: str
    modality: str
    body_part: str
    study_date: date | None
    image_count: int
    specimen_barcode: str
    specimen_type: str
    specimen_site: str
    specimen_count: int
    collected_at: datetime | None
    sent_at: datetime | None
    received_at: datetime | None


class FileOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    sha256: str
    sop_instance_uid: str


class ReportOut(Schema):
    id: int
    version: int
    status: str
    findings: str
    impression: str
    author_id: int
    signed_by_id: int | None
    signed_at: datetime | None
    amends_version: int | None
    amendment_reason: str


class CriticalOut(Schema):
    id: int
    study_id: int
    study_number: str
    description: str
    to_institution_id: int
    flagged_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    acknowledgement: str
    escalated_at: datetime | None
    minutes_to_acknowledge: float | None


class EventOut(Schema):
    kind: str
    at: datetime
    data: dict


class StudyDetail(StudyOut):
    clinical_info: str
    files: list[FileOut]
    reports: list[ReportOut]
    critical_values: list[CriticalOut]
    events: list[EventOut]


class StudiesQuery(Schema):
    status: Literal["open", "submitted", "reading", "signed", "rejected", "cancelled"] | None = None


class CriticalQuery(Schema):
    state: Literal["open", "all"] = "open"


class PatientQuery(Schema):
    patient_id: int = Field(**ID)


class ReasonIn(Schema):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=500)


class DraftIn(Schema):
    model_config = ConfigDict(extra="forbid")

    findings: str = Field("", max_length=8000)
    impression: str = Field("", max_length=2000)


class CriticalIn(Schema):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(..., min_length=1, max_length=200)


class AcknowledgeIn(Schema):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(..., min_length=1, max_length=500)


class PeriodQuery(Schema):
    start: date | None = None
    end: date | None = None


class ByCentreOut(Schema):
    centre_id: int
    centre: str
    kind: str
    member_id: int
    member: str
    count: int


class ByExamOut(Schema):
    exam_type: str
    exam_name: str
    kind: str
    count: int
    mean_minutes: Decimal
    median_minutes: Decimal


class StatisticsOut(Schema):
    start: date
    end: date
    remote_diagnoses: int
    by_centre_and_member: list[ByCentreOut]
    turnaround_by_exam_type: list[ByExamOut]
    critical_ack_15min: Decimal | None
    critical_ack_minutes: Decimal | None


def _study(s: Study) -> dict:
    out = {name: getattr(s, name) for name in StudyOut.model_fields if hasattr(s, name)}
    out["priority"] = PRIORITY_NAME[s.priority]
    return out


def _report(r: Report) -> dict:
    """An amendment always amends the version before it (amendments are opened one at a time)."""
    return {"id": r.pk, "version": r.version, "status": r.status, "findings": r.findings,
            "impression": r.impression, "author_id": r.author_id, "signed_by_id": r.signed_by_id,
            "signed_at": r.signed_at, "amends_version": r.version - 1 if r.amends_id else None,
            "amendment_reason": r.amendment_reason}


def _critical(c: CriticalValue) -> dict:
    return {"id": c.pk, "study_id": c.study_id, "study_number": c.study.number, "description": c.description,
            "to_institution_id": c.to_institution_id, "flagged_at": c.flagged_at, "acknowledged_at": c.acknowledged_at,
            "acknowledged_by_id": c.acknowledged_by_id, "acknowledgement": c.acknowledgement,
            "escalated_at": c.escalated_at, "minutes_to_acknowledge": c.minutes_to_acknowledge}


def _centre_out(c: Centre, institution_id: int) -> dict:
    return {"id": c.pk, "name": c.name, "kind": c.kind, "institution_id": c.institution_id,
            "runs": c.institution_id == institution_id, "exam_types": [t.code for t in catalogue.for_kind(c.kind)]}


@router.get("/centres", response=list[CentreOut], summary="Centres serving or run by the acting institution",
            auth=ActingRole(Cap.CLINICAL))
def centres(request):
    actor = api_actor(request, Cap.CLINICAL)
    found = {c.pk: c for c in queries.centres_serving(actor.institution_id) + queries.centres_run_by(actor)}
    return [_centre_out(c, actor.institution_id) for c in found.values()]


@router.get("/exam-types", response=list[ExamTypeOut], summary="The exam types and their report templates",
            auth=ActingRole(Cap.CLINICAL))
def exam_types(request, q: Query[KindQuery]):
    types = catalogue.for_kind(q.kind) if q.kind else list(catalogue.CATALOGUE.values())
    return [{"code": t.code, "name": t.name, "kind": t.kind, "modalities": list(t.modalities),
             "findings": t.findings, "impression": t.impression, "critical": list(t.critical)} for t in types]


@router.post("/studies", response={201: StudyOut}, summary="Submit a study (multipart: fields and files)",
             auth=ActingRole(Cap.RECORD_VISIT))
def submit(request, payload: Form[StudyIn], files: File[list[UploadedFile]] = None):
    actor = api_actor(request, Cap.RECORD_VISIT)
    data = payload.dict()
    data["priority"] = PRIORITY[data["priority"]]
    study = actions.do_submit(actor, actions.NewStudy(**data), files or [])
    return Status(201, _study(study))


@router.get("/studies", response=list[StudyOut], summary="Studies the acting institution requested",
            auth=ActingRole(Cap.CLINICAL))
def requested(request, q: Query[StudiesQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    rows = queries.requested(actor, q.status)
    if rows:
        audit_many(actor, {s.patient_id for s in rows}, object_type="study")
    return [_study(s) for s in rows]


@router.get("/centres/{int:centre_id}/worklist", response=list[StudyOut],
            summary="A centre's worklist: open studies by priority, then waiting time", auth=ActingRole(Cap.CLINICAL))
def worklist(request, centre_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    centre = Centre.objects.filter(pk=centre_id).first()
    if centre is None or not actions.works_for(actor, centre):
        raise Http404
    rows = queries.worklist(actor, centre)
    if rows:
        audit_many(actor, {s.patient_id for s in rows}, object_type="worklist")
    return [_study(s) for s in rows]


def detail_of(actor, study: Study) -> dict:
    centre_side = actions.works_for(actor, study.centre)
    reports = list(Report.objects.filter(study=study).order_by("version"))
    if not centre_side:  # the requesting side reads signed versions only
        reports = [r for r in reports if r.status == ReportStatus.SIGNED]
    return {**_study(study), "clinical_info": study.clinical_info,
            "files": [{k: getattr(f, k) for k in FileOut.model_fields} for f in study.files.all()],
            "reports": [_report(r) for r in reports],
            "critical_values": [_critical(c) for c in study.critical_values.select_related("study")],
            "events": [{"kind": e.kind, "at": e.at, "data": e.data} for e in study.events.all()]}


@router.get("/studies/{int:study_id}", response=StudyDetail, summary="One study with its reports and history",
            auth=ActingRole(Cap.CLINICAL))
def study(request, study_id: int):
    actor = api_actor(request, Cap.CLINICAL)
    found, _decision = actions.study_for(actor, study_id, side="any", action=Action.READ, audit_success=True)
    return detail_of(actor, found)


@router.get("/studies/{int:study_id}/files/{int:file_id}", summary="A stored file of the study",
            auth=ActingRole(Cap.CLINICAL))
def study_file(request, study_id: int, file_id: int):
    return stored_file(api_actor(request, Cap.CLINICAL), study_id, file_id)


def stored_file(actor, study_id, file_id) -> FileResponse:
    """The file, audited as a read of the study's file (404 for anyone who may not see the study)."""
    found, decision = actions.study_for(actor, study_id, side="any", action=Action.READ)
    stored = found.files.filter(pk=file_id).first()
    if stored is None:
        raise Http404
    try:
        handle = uploads.open_stored(stored.path)
    except OSError:
        raise Http404 from None
    audit(actor, patient_id=found.patient_id, object_type="study-file", object_id=stored.pk, action=Action.READ,
          decision=decision)
    response = FileResponse(handle, content_type=stored.content_type, as_attachment=True,
                            filename=f"{found.number}-{stored.pk}{uploads.SUFFIX.get(stored.content_type, '')}")
    return response


@router.post("/studies/{int:study_id}/send", response=StudyOut, summary="Specimen handed to the courier",
             auth=ActingRole(Cap.CLINICAL))
def send(request, study_id: int):
    return _study(actions.do_send_specimen(api_actor(request, Cap.CLINICAL), study_id))


@router.post("/studies/{int:study_id}/receive", response=StudyOut, summary="Specimen received at the centre",
             auth=ActingRole(Cap.CLINICAL))
def receive(request, study_id: int):
    return _study(actions.do_receive_specimen(api_actor(request, Cap.CLINICAL), study_id))


@router.post("/studies/{int:study_id}/claim", response=StudyOut, summary="Take the study to read it",
             auth=ActingRole(Cap.CLINICAL))
def claim(request, study_id: int):
    return _study(actions.do_claim(api_actor(request, Cap.CLINICAL), study_id))


@router.post("/studies/{int:study_id}/release", response=StudyOut, summary="Put the study back on the worklist",
             auth=ActingRole(Cap.CLINICAL))
def release(request, study_id: int):
    return _study(actions.do_release(api_actor(request, Cap.CLINICAL), study_id))


@router.post("/studies/{int:study_id}/draft", response=ReportOut, summary="Write the draft report",
             auth=ActingRole(Cap.CLINICAL))
def draft(request, study_id: int, payload: DraftIn):
    return _report(actions.do_save_draft(api_actor(request, Cap.CLINICAL), study_id, payload.findings,
                                             payload.impression))


@router.post("/studies/{int:study_id}/sign", response=ReportOut, summary="Sign the draft (once)",
             auth=ActingRole(Cap.CLINICAL))
def sign(request, study_id: int):
    report = actions.do_sign(api_actor(request, Cap.CLINICAL), study_id)
    report.refresh_from_db()
    return _report(report)


@router.post("/studies/{int:study_id}/amend", response={201: ReportOut},
             summary="Open an amendment: a new version, the signed ones kept", auth=ActingRole(Cap.CLINICAL))
def amend(request, study_id: int, payload: ReasonIn):
    return Status(201, _report(actions.do_amend(api_actor(request, Cap.CLINICAL), study_id, payload.reason)))


@router.post("/studies/{int:study_id}/reject", response=StudyOut, summary="The centre cannot read it",
             auth=ActingRole(Cap.CLINICAL))
def reject(request, study_id: int, payload: ReasonIn):
    return _study(actions.do_reject(api_actor(request, Cap.CLINICAL), study_id, payload.reason))


@router.post("/studies/{int:study_id}/cancel", response=StudyOut, summary="Withdraw a study not yet read",
             auth=ActingRole(Cap.RECORD_VISIT))
def cancel(request, study_id: int, payload: ReasonIn):
    return _study(actions.do_cancel(api_actor(request, Cap.RECORD_VISIT), study_id, payload.reason))


@router.post("/studies/{int:study_id}/critical", response={201: CriticalOut},
             summary="Flag a critical value (pushed to the requesting institution)", auth=ActingRole(Cap.CLINICAL))
def flag_critical(request, study_id: int, payload: CriticalIn):
    critical = actions.do_flag_critical(api_actor(request, Cap.CLINICAL), study_id, payload.description)
    return Status(201, _critical(critical))


@router.get("/critical", response=list[CriticalOut], summary="Critical values sent to the acting institution",
            auth=ActingRole(Cap.CLINICAL))
def critical_values(request, q: Query[CriticalQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    rows = queries.critical_for_institution(actor, only_open=q.state == "open")
    if rows:
        audit_many(actor, {c.study.patient_id for c in rows}, object_type="critical-value")
    return [_critical(c) for c in rows]


@router.post("/critical/{int:critical_id}/acknowledge", response=CriticalOut,
             summary="Acknowledge a critical value in one's own name", auth=ActingRole(Cap.CLINICAL))
def acknowledge(request, critical_id: int, payload: AcknowledgeIn):
    return _critical(actions.do_acknowledge(api_actor(request, Cap.CLINICAL), critical_id, payload.note))


@router.get("/reports", response=list[StudyDetail], summary="A patient's reported studies (the patient's record)",
            auth=ActingRole(Cap.CLINICAL))
def reports(request, q: Query[PatientQuery]):
    actor = api_actor(request, Cap.CLINICAL)
    patient = access_patient(actor, q.patient_id, Action.READ, object_type="diagnostic-reports")
    return [detail_of(actor, s) for s in queries.patient_studies(patient) if s.signed_at]


@router.get("/statistics", response=StatisticsOut, summary="Remote diagnoses, turnaround and critical values",
            auth=ActingRole(Cap.DASHBOARD))
def stats(request, q: Query[PeriodQuery]):
    api_actor(request, Cap.DASHBOARD)
    scope = period(q.start, q.end)
    return statistics_for(scope)


def period(start: date | None, end: date | None) -> Scope:
    default = default_scope()
    start, end = start or default.start, end or default.end
    for name, day in (("start", start), ("end", end)):
        if out_of_range(day):
            raise ActionError(name, _("Choose a date between %(earliest)s and %(latest)s.")
                              % {"earliest": EARLIEST.isoformat(), "latest": LATEST.isoformat()})
    if end <= start:
        raise ActionError("end", _("End must be after the start."))
    if end - start > timedelta(days=3 * 366):
        raise ActionError("end", _("Choose a period of at most three years."))
    return Scope(start=start, end=end)


def statistics_for(scope: Scope) -> dict:
    return {"start": scope.start, "end": scope.end, "remote_diagnoses": indicators.remote_diagnoses(scope),
            "by_centre_and_member": indicators.remote_by_centre_and_member(scope),
            "turnaround_by_exam_type": indicators.turnaround_by_exam_type(scope),
            "critical_ack_15min": indicators.critical_ack_share(scope),
            "critical_ack_minutes": indicators.critical_ack_minutes(scope)}
