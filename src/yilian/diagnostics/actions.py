"""The diagnostic centres: the only code that changes a centre, a study, a report or a critical value
(docs/diagnostics.md).

`check_*` validates and raises `ActionError` naming each bad field; `do_*` writes in a transaction with
its event and audit rows. Every step moves a row by one conditional UPDATE from the states it may start
from, so two people acting at once leave one step and the other is told (field `status`); in particular a
report is signed by `UPDATE … WHERE status = 'draft'` and cannot be signed twice.

- Submitting a study grants the centre's institution access to the patient (kind diagnostic) until
  `GRANT_DAYS` after the report is signed; a rejection or a cancellation revokes it at once.
- Uploaded files are written to a temporary file, checked (`uploads`), and moved into place as the last
  step of the transaction; a refused file is deleted and nothing of it is stored.
- A critical value is pushed to the requesting institution when flagged (the `CriticalValue` row is the
  notice), acknowledged there by a named clinician, and escalated by `yilian diagnostics escalate` when
  nobody acknowledged it within `ACK_MINUTES`.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_grant
from yilian.access.gate import Decision, access_object, access_patient_for_write, audit, audit_row, decide
from yilian.access.models import Action, Basis, Grant, GrantKind
from yilian.care.models import Encounter
from yilian.diagnostics import uploads
from yilian.diagnostics.catalogue import ExamType, exam_type
from yilian.diagnostics.models import (
    HOLDS_UID,
    OPEN,
    SPECIMEN_KINDS,
    Centre,
    CentreKind,
    CriticalValue,
    Priority,
    Report,
    ReportStatus,
    Status,
    Study,
    StudyEvent,
    StudyFile,
)
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor, require_cap
from yilian.network.models import Department, Institution
from yilian.network.roles import Cap, Role

GRANT_DAYS = 30  # the centre keeps access to the patient this long after the report is signed
OPEN_ENDED = timedelta(days=3650)  # the grant's end while the study is open (set at signing)
ACK_MINUTES = 15  # a critical value not acknowledged within this is escalated
# Who signs a report (报告医师; in the laboratory the 检验师 signs too). Roles, not capabilities: a report
# is a physician's (or laboratory scientist's) act that no capability of network.roles names yet.
REPORTERS = {CentreKind.IMAGING: {Role.DOCTOR}, CentreKind.ECG: {Role.DOCTOR}, CentreKind.PATHOLOGY: {Role.DOCTOR},
             CentreKind.LAB: {Role.DOCTOR, Role.TECHNICIAN}}
BARCODE = re.compile(r"^[A-Za-z0-9-]{4,40}$")
MAX_FILES = {CentreKind.IMAGING: uploads.MAX_FILES, CentreKind.ECG: 5, CentreKind.PATHOLOGY: 20, CentreKind.LAB: 0}


def _event(actor: Actor, study: Study, kind: str, at, **data) -> StudyEvent:
    return StudyEvent.objects.create(study=study, kind=kind, at=at, user_id=actor.user_id,
                                     membership_id=actor.membership.pk if actor.membership else None, data=data)


def _audit(actor: Actor, study: Study, action: str, decision: Decision | None, reason: str = "",
           object_type: str = "study", object_id=None) -> None:
    audit_row(actor, patient_id=study.patient_id, object_type=object_type,
              object_id=study.pk if object_id is None else object_id, action=action,
              decision=decision or Decision(Basis.CARE), reason=reason).save()


# --- centres --------------------------------------------------------------------------------------------


def check_centre(actor: Actor, institution_id, kind: str, name: str, department_id=None, serves=None):
    """A centre at a lead institution (one per kind), read by one of its departments, serving members of
    the same consortium (all the others when `serves` is None). Returns (institution, serving ids)."""
    if actor is not SYSTEM and not actor.can(Cap.CONFIGURE):
        raise ActionError("role", _("Only the system administrator sets up diagnostic centres."))
    errors: dict[str, str] = {}
    institution = Institution.objects.filter(pk=institution_id).first() if isinstance(institution_id, int) else None
    if institution is None or institution.parent_id is not None:
        errors["institution_id"] = _("A diagnostic centre is run by a lead institution of the consortium.")
    if kind not in CentreKind.values:
        errors["kind"] = _("Kind: imaging, ECG, pathology or laboratory.")
    elif institution and Centre.objects.filter(institution=institution, kind=kind).exists():
        errors["kind"] = _("This institution already runs a centre of this kind.")
    if not (name or "").strip() or len(name) > 100:
        errors["name"] = _("Name: required, at most 100 characters.")
    if department_id is not None and not Department.objects.filter(pk=department_id, institution=institution).exists():
        errors["department_id"] = _("Department: choose a department of the institution that runs the centre.")
    members = Institution.objects.filter(consortium_id=institution.consortium_id).exclude(pk=institution.pk) \
        if institution else Institution.objects.none()
    member_ids = set(members.values_list("pk", flat=True))
    chosen = member_ids if serves is None else set(serves)
    if not chosen or not chosen <= member_ids:
        errors["serves"] = _("Members served: choose other members of the same consortium.")
    if errors:
        raise ActionError(errors=errors)
    return institution, chosen


def do_set_up_centre(actor: Actor, *, institution_id: int, kind: str, name: str, department_id: int | None = None,
                     serves=None) -> Centre:
    institution, chosen = check_centre(actor, institution_id, kind, name, department_id, serves)
    with transaction.atomic():
        centre = Centre.objects.create(name=name.strip(), kind=kind, institution=institution,
                                       department_id=department_id, created_at=timezone.now())
        centre.serves.set(chosen)
        audit(actor, patient_id=None, object_type="diagnostic-centre", object_id=centre.pk, action=Action.CREATE,
              reason=f"{kind}; serves {len(chosen)} members")
    return centre


# --- submission -----------------------------------------------------------------------------------------


@dataclass
class NewStudy:
    patient_id: int
    centre_id: int
    exam_type: str
    encounter_id: int
    priority: int = Priority.ROUTINE
    clinical_info: str = ""
    specimen_barcode: str = ""
    specimen_type: str = ""
    specimen_site: str = ""
    specimen_count: int = 0
    collected_at: datetime | None = None
    metadata: dict = field(default_factory=dict)


def check_submit(actor: Actor, data: NewStudy, n_files: int, now) -> tuple[Centre, ExamType]:
    """Every bad field at once (the files themselves are checked by `uploads.stage`)."""
    require_cap(actor, Cap.RECORD_VISIT, _("Your role may not request remote diagnoses."))
    errors: dict[str, str] = {}
    centre = Centre.objects.filter(pk=data.centre_id, active=True, serves=actor.institution_id).first() \
        if isinstance(data.centre_id, int) else None
    if centre is None:
        errors["centre_id"] = _("Centre: choose a diagnostic centre that serves your institution.")
    exam = exam_type(data.exam_type)
    if exam is None or (centre is not None and exam.kind != centre.kind):
        errors["exam_type"] = _("Exam: choose an exam this centre reads.")
    if data.priority not in Priority.values:
        errors["priority"] = _("Priority: emergency, urgent or routine.")
    if not isinstance(data.encounter_id, int) or not Encounter.objects.filter(
            pk=data.encounter_id, patient_id=data.patient_id, institution_id=actor.institution_id).exists():
        errors["encounter_id"] = _("Visit: choose one of this patient's visits at your institution.")
    if len(data.clinical_info or "") > 2000:
        errors["clinical_info"] = _("Clinical information: at most 2000 characters.")
    if centre is not None:
        _check_kind(centre.kind, data, n_files, now, errors)
    if errors:
        raise ActionError(errors=errors)
    return centre, exam


def _check_kind(kind: str, data: NewStudy, n_files: int, now, errors: dict) -> None:
    if kind == CentreKind.IMAGING and n_files == 0:
        errors["files"] = _("Attach the study's DICOM files.")
    elif kind == CentreKind.ECG and n_files == 0:
        errors["files"] = _("Attach the ECG: a PDF or image of the tracing, or its waveform file.")
    elif kind == CentreKind.LAB and n_files:
        errors["files"] = _("A laboratory request carries a specimen, not a file.")
    if n_files > MAX_FILES[kind]:
        errors["files"] = _("At most %(n)d files per study.") % {"n": MAX_FILES[kind]}
    if kind not in SPECIMEN_KINDS:
        return
    if kind == CentreKind.LAB and not BARCODE.match(data.specimen_barcode or ""):
        errors["specimen_barcode"] = _("Specimen barcode: 4 to 40 letters, digits or dashes.")
    if data.specimen_barcode and not BARCODE.match(data.specimen_barcode):
        errors["specimen_barcode"] = _("Specimen barcode: 4 to 40 letters, digits or dashes.")
    if not (data.specimen_type or "").strip() or len(data.specimen_type) > 40:
        errors["specimen_type"] = _("Specimen type: required, at most 40 characters.")
    if kind == CentreKind.PATHOLOGY and (not (data.specimen_site or "").strip() or len(data.specimen_site) > 100):
        errors["specimen_site"] = _("Site the specimen was taken from: required, at most 100 characters.")
    if not isinstance(data.specimen_count, int) or not 1 <= data.specimen_count <= 99:
        errors["specimen_count"] = _("Number of containers, blocks or slides: 1 to 99.")
    collected = data.collected_at
    if not isinstance(collected, datetime) or timezone.is_naive(collected):
        errors["collected_at"] = _("Collection time: a date and time with a time zone.")
    elif collected > now + timedelta(minutes=5) or collected < now - timedelta(days=30):
        errors["collected_at"] = _("Collection time: within the last 30 days, not in the future.")


def _imaging(staged: list[uploads.Staged], centre: Centre) -> dict:
    """The study-level metadata of a set of DICOM instances: one StudyInstanceUID, distinct instances (that
    the centre does not hold the study already is the constraint's to say, in `do_submit`)."""
    dicom = [s.dicom for s in staged if s.dicom]
    if not dicom:
        return {}
    uids = {d["study_uid"] for d in dicom}
    if len(uids) > 1:
        raise ActionError("files", _("The files belong to %(n)d different studies (StudyInstanceUID); send one "
                                     "study at a time.") % {"n": len(uids)})
    sops = [d["sop_uid"] for d in dicom]
    if len(set(sops)) != len(sops):
        raise ActionError("files", _("The same DICOM instance (SOPInstanceUID) was attached twice."))
    (uid,) = uids
    first = dicom[0]
    return {"study_uid": uid, "modality": first["modality"], "body_part": first["body_part"],
            "study_date": first["study_date"], "image_count": len(dicom)}


def do_submit(actor: Actor, data: NewStudy, files=()) -> Study:
    """Submit a study to a centre: the study, its files, the grant to the centre, the events and the
    audit row, all or nothing. The files go to disk only if everything else was written."""
    files = list(files)
    patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE, object_type="study")
    now = timezone.now()
    centre, exam = check_submit(actor, data, len(files), now)
    staged = uploads.stage(files, centre.kind, exam.modalities) if files else []
    placed: list[Path] = []
    imaging: dict = {}
    try:
        imaging = _imaging(staged, centre) if centre.kind == CentreKind.IMAGING else {}
        with transaction.atomic():
            study = _create(actor, data, centre, exam, patient.pk, imaging, now)
            do_grant(actor, patient_id=patient.pk, kind=GrantKind.DIAGNOSTIC, to_institution_id=centre.institution_id,
                     valid_from=now, valid_to=now + OPEN_ENDED, reason=study.number, source_type="study",
                     source_id=study.pk)
            local = timezone.localtime(now)
            paths = [uploads.destination(study.number, local, i, s.content_type) for i, s in enumerate(staged)]
            StudyFile.objects.bulk_create([
                StudyFile(study=study, role=uploads.ROLE[centre.kind], content_type=s.content_type, path=path,
                          name=s.name, size=s.size, sha256=s.sha256, sop_instance_uid=s.dicom.get("sop_uid", ""),
                          created_at=now) for s, path in zip(staged, paths, strict=True)])
            _event(actor, study, "submitted", now, centre=centre.pk, exam_type=exam.code, priority=study.priority,
                   files=len(staged))
            if study.collected_at:
                _event(actor, study, "specimen_collected", study.collected_at)
            _audit(actor, study, Action.CREATE, decision)
            placed = uploads.place(staged, paths)  # last: the files exist only if the rows do
    except IntegrityError:  # the centre holds this StudyInstanceUID already (constraint diag_study_uid_once)
        uploads.remove(placed)
        held = Study.objects.filter(centre=centre, study_uid=imaging.get("study_uid") or "-",
                                    status__in=HOLDS_UID).first()
        raise ActionError("files", _("This study was already submitted to the centre as %(number)s.")
                          % {"number": held.number if held else "—"}) from None
    except BaseException:
        uploads.remove(placed)
        raise
    finally:
        uploads.discard(staged)
    return study


def _create(actor: Actor, data: NewStudy, centre: Centre, exam: ExamType, patient_id: int, imaging: dict,
            now) -> Study:
    specimen = centre.kind in SPECIMEN_KINDS
    return Study.objects.create(
        kind=centre.kind, centre=centre, exam_type=exam.code, exam_name=exam.name,
        priority=data.priority, patient_id=patient_id, requesting_institution_id=actor.institution_id,
        requesting_department_id=actor.membership.department_id, requesting_staff_id=actor.membership.staff_id,
        encounter_id=data.encounter_id, clinical_info=(data.clinical_info or "").strip(), submitted_at=now,
        specimen_barcode=(data.specimen_barcode or "").strip() if specimen else "",
        specimen_type=(data.specimen_type or "").strip() if specimen else "",
        specimen_site=(data.specimen_site or "").strip() if specimen else "",
        specimen_count=data.specimen_count if specimen else 0,
        collected_at=data.collected_at if specimen else None,
        metadata={k: str(v)[:200] for k, v in list((data.metadata or {}).items())[:20]}, **imaging)


# --- finding a study --------------------------------------------------------------------------------------


def study_for(actor: Actor, study_id, *, side: str, action: str = Action.UPDATE,
              audit_success: bool = False) -> tuple[Study, Decision | None]:
    """A study the actor's institution reads (`side="centre"`), requested (`"requester"`), or either
    (`"any"`), whose patient the actor may see; 404 (audited) otherwise."""
    mine = {"centre": Q(centre__institution_id=actor.institution_id),
            "requester": Q(requesting_institution_id=actor.institution_id)}
    mine["any"] = mine["centre"] | mine["requester"]
    queryset = Study.objects.filter(mine[side]).select_related("centre", "requesting_institution", "reader")
    study = access_object(actor, queryset, study_id, object_type="study", action=action,
                          audit_success=audit_success)
    return study, decide(actor, study.patient_id)


def works_for(actor: Actor, centre: Centre) -> bool:
    """The actor acts at the centre's institution, in its reading department when it names one."""
    membership = actor.membership
    return membership is not None and membership.institution_id == centre.institution_id and (
        centre.department_id is None or membership.department_id == centre.department_id)


def may_report(actor: Actor, centre: Centre) -> bool:
    return works_for(actor, centre) and actor.can(Cap.CLINICAL) and actor.role in REPORTERS[centre.kind]


def _centre_staff(actor: Actor, centre: Centre) -> None:
    if not works_for(actor, centre) or not actor.can(Cap.CLINICAL):
        raise ActionError("role", _("Only the centre's staff may do this."))


def _reporter(actor: Actor, centre: Centre) -> None:
    if not may_report(actor, centre):
        raise ActionError("role", _("Only the centre's reporting doctors may read, report and sign."))


def _moved_on(study: Study) -> ActionError:
    status = Study.objects.get(pk=study.pk).get_status_display()
    return ActionError("status", _("This study has moved on meanwhile (now: %(status)s); reload it.")
                       % {"status": status})


def _move(study: Study, condition: Q, **changes) -> None:
    if not Study.objects.filter(condition, pk=study.pk).update(**changes):
        raise _moved_on(study)
    for name, value in changes.items():
        if not hasattr(value, "resolve_expression"):
            setattr(study, name, value)


def _reason(reason: str, limit: int = 200) -> str:
    reason = (reason or "").strip()
    if not reason or len(reason) > limit:
        raise ActionError("reason", _("Reason: required, at most %(n)d characters.") % {"n": limit})
    return reason


def grants_of(study: Study):
    """The grant the study's submission gave the centre (found by its source; the patient's index finds it)."""
    return Grant.objects.filter(patient_id=study.patient_id, source_type="study", source_id=study.pk)


def _end_grant(study: Study, now) -> None:
    grants_of(study).filter(revoked_at__isnull=True).update(revoked_at=now)


# --- the specimen's journey -----------------------------------------------------------------------------


def do_send_specimen(actor: Actor, study_id) -> Study:
    """The requesting institution hands the specimen to the courier."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not send specimens."))
    study, decision = study_for(actor, study_id, side="requester")
    if study.centre.kind not in SPECIMEN_KINDS:
        raise ActionError("status", _("This study has no specimen."))
    now = timezone.now()
    with transaction.atomic():
        _move(study, Q(status=Status.SUBMITTED, sent_at__isnull=True, received_at__isnull=True), sent_at=now)
        _event(actor, study, "specimen_sent", now)
        _audit(actor, study, Action.UPDATE, decision, reason="specimen sent")
    return study


def do_receive_specimen(actor: Actor, study_id) -> Study:
    """The centre has the specimen (a specimen not marked as sent is taken as sent now)."""
    study, decision = study_for(actor, study_id, side="centre")
    _centre_staff(actor, study.centre)
    if study.centre.kind not in SPECIMEN_KINDS:
        raise ActionError("status", _("This study has no specimen."))
    now = timezone.now()
    with transaction.atomic():
        _move(study, Q(status=Status.SUBMITTED, received_at__isnull=True), received_at=now,
              sent_at=Coalesce(F("sent_at"), Value(now)))
        study.sent_at = study.sent_at or now
        _event(actor, study, "specimen_received", now)
        _audit(actor, study, Action.UPDATE, decision, reason="specimen received")
    return study


# --- reading --------------------------------------------------------------------------------------------


def do_claim(actor: Actor, study_id) -> Study:
    """Take a waiting study from the worklist to read it: one reader wins; claiming one's own again is
    a no-op."""
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    staff_id = actor.membership.staff_id
    if study.status == Status.READING and study.reader_id == staff_id:
        return study
    if study.centre.kind in SPECIMEN_KINDS and study.received_at is None:
        raise ActionError("status", _("The specimen has not been received yet."))
    now = timezone.now()
    with transaction.atomic():
        if not Study.objects.filter(pk=study.pk, status=Status.SUBMITTED).update(
                status=Status.READING, reader_id=staff_id, claimed_at=now):
            current = Study.objects.select_related("reader").get(pk=study.pk)
            if current.status == Status.READING and current.reader_id == staff_id:
                return current
            if current.status == Status.READING:
                raise ActionError("status", _("%(reader)s is reading this study.") % {"reader": current.reader})
            raise _moved_on(study)
        study.status, study.reader_id, study.claimed_at = Status.READING, staff_id, now
        _event(actor, study, "claimed", now)
        _audit(actor, study, Action.UPDATE, decision, reason="claimed")
    return study


def do_release(actor: Actor, study_id) -> Study:
    """The reader puts the study back on the worklist (a draft stays for the next reader)."""
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    now = timezone.now()
    with transaction.atomic():
        _move(study, Q(status=Status.READING, reader_id=actor.membership.staff_id), status=Status.SUBMITTED,
              reader=None, claimed_at=None)
        _event(actor, study, "released", now)
        _audit(actor, study, Action.UPDATE, decision, reason="released")
    return study


def check_report_text(findings: str, impression: str) -> tuple[str, str]:
    errors = {}
    if len(findings or "") > 8000:
        errors["findings"] = _("Findings: at most 8000 characters.")
    if len(impression or "") > 2000:
        errors["impression"] = _("Impression: at most 2000 characters.")
    if errors:
        raise ActionError(errors=errors)
    return (findings or "").strip(), (impression or "").strip()


def do_save_draft(actor: Actor, study_id, findings: str, impression: str) -> Report:
    """Write the draft: the first report of a study being read (by its reader), or an open amendment."""
    findings, impression = check_report_text(findings, impression)
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    staff_id, now = actor.membership.staff_id, timezone.now()
    draft = Report.objects.filter(study=study, status=ReportStatus.DRAFT).first()
    if study.status == Status.READING:
        if study.reader_id != staff_id:
            raise ActionError("status", _("Claim the study before writing its report."))
    elif study.status == Status.SIGNED:
        if draft is None:
            raise ActionError("status", _("The report is signed; open an amendment to change it."))
    else:
        raise _moved_on(study)
    with transaction.atomic():
        if draft is None:
            try:
                with transaction.atomic():
                    draft = Report.objects.create(study=study, version=1, findings=findings, impression=impression,
                                                  author_id=staff_id, created_at=now, updated_at=now)
            except IntegrityError:
                raise ActionError("status", _("Someone else has written this report meanwhile; reload it.")) from None
        elif not Report.objects.filter(pk=draft.pk, status=ReportStatus.DRAFT).update(
                findings=findings, impression=impression, author_id=staff_id, updated_at=now):
            raise ActionError("status", _("This report has been signed meanwhile; open an amendment to change it."))
        draft.findings, draft.impression, draft.author_id, draft.updated_at = findings, impression, staff_id, now
        _event(actor, study, "drafted", now, version=draft.version)
        _audit(actor, study, Action.UPDATE, decision, reason=f"report v{draft.version} drafted")
    return draft


def do_sign(actor: Actor, study_id) -> Report:
    """Sign the draft. A conditional UPDATE from draft: a report is signed once; a second signature (or a
    racing one) is refused. The first signature reports the study and sets the centre's grant to end
    `GRANT_DAYS` later; signing an amendment records the study as amended."""
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    draft = Report.objects.filter(study=study, status=ReportStatus.DRAFT).first()
    if draft is None:
        if Report.objects.filter(study=study, status=ReportStatus.SIGNED).exists():
            raise ActionError("status", _("This report has already been signed."))
        raise ActionError("findings", _("Write the report before signing it."))
    errors = {}
    if not draft.findings.strip():
        errors["findings"] = _("Findings: required before signing.")
    if not draft.impression.strip():
        errors["impression"] = _("Impression: required before signing.")
    if errors:
        raise ActionError(errors=errors)
    now, membership = timezone.now(), actor.membership
    with transaction.atomic():
        if not Report.objects.filter(pk=draft.pk, status=ReportStatus.DRAFT).update(
                status=ReportStatus.SIGNED, signed_by_id=membership.staff_id, signed_membership_id=membership.pk,
                signed_at=now):
            raise ActionError("status", _("This report has already been signed."))
        if draft.version == 1:
            _move(study, Q(status=Status.READING), status=Status.SIGNED, signed_at=now)
            _event(actor, study, "signed", now, version=1)
        else:
            _move(study, Q(status=Status.SIGNED), amended_at=now)
            _event(actor, study, "amended", now, version=draft.version, reason=draft.amendment_reason)
        grants_of(study).filter(revoked_at__isnull=True).update(valid_to=now + timedelta(days=GRANT_DAYS))
        _audit(actor, study, Action.UPDATE, decision, reason=f"report v{draft.version} signed",
               object_type="report", object_id=draft.pk)
    draft.status, draft.signed_by_id, draft.signed_at = ReportStatus.SIGNED, membership.staff_id, now
    return draft


def do_amend(actor: Actor, study_id, reason: str) -> Report:
    """Open an amendment: a new draft version, starting from the last signed text, naming the version it
    amends and why. The signed versions stay as they were."""
    reason = _reason(reason, 500)
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    if study.status != Status.SIGNED:
        raise ActionError("status", _("Only a signed report can be amended."))
    latest = Report.objects.filter(study=study, status=ReportStatus.SIGNED).order_by("-version").first()
    now = timezone.now()
    try:
        with transaction.atomic():
            draft = Report.objects.create(study=study, version=latest.version + 1, findings=latest.findings,
                                          impression=latest.impression, author_id=actor.membership.staff_id,
                                          created_at=now, updated_at=now, amends=latest, amendment_reason=reason)
            _event(actor, study, "amendment_opened", now, version=draft.version, reason=reason)
            _audit(actor, study, Action.UPDATE, decision, reason=f"amendment v{draft.version} opened")
    except IntegrityError:
        raise ActionError("status", _("An amendment of this report is already open.")) from None
    return draft


def do_reject(actor: Actor, study_id, reason: str) -> Study:
    """The centre cannot read the study (images unusable, specimen haemolysed or insufficient, wrong
    exam): closed with the reason, the grant ends at once."""
    reason = _reason(reason)
    study, decision = study_for(actor, study_id, side="centre")
    _centre_staff(actor, study.centre)
    now = timezone.now()
    with transaction.atomic():
        _move(study, Q(status__in=OPEN), status=Status.REJECTED, closed_at=now, close_reason=reason)
        _end_grant(study, now)
        _event(actor, study, "rejected", now, reason=reason, specimen=study.centre.kind in SPECIMEN_KINDS)
        _audit(actor, study, Action.UPDATE, decision, reason="rejected")
    return study


def do_cancel(actor: Actor, study_id, reason: str) -> Study:
    """The requesting institution withdraws a study nobody is reading yet; the grant ends at once."""
    require_cap(actor, Cap.RECORD_VISIT, _("Your role may not cancel remote diagnoses."))
    reason = _reason(reason)
    study, decision = study_for(actor, study_id, side="requester")
    now = timezone.now()
    with transaction.atomic():
        _move(study, Q(status=Status.SUBMITTED), status=Status.CANCELLED, closed_at=now, close_reason=reason)
        _end_grant(study, now)
        _event(actor, study, "cancelled", now, reason=reason)
        _audit(actor, study, Action.UPDATE, decision, reason="cancelled")
    return study


# --- critical values (危急值) -------------------------------------------------------------------------------


def do_flag_critical(actor: Actor, study_id, description: str) -> CriticalValue:
    """Flag a critical value on the report being written (or signed): the requesting institution is
    notified at once — the row is the notice on its pages and in its API."""
    description = (description or "").strip()
    if not 2 <= len(description) <= 200:
        raise ActionError("description", _("Critical value: say what it is (2 to 200 characters)."))
    study, decision = study_for(actor, study_id, side="centre")
    _reporter(actor, study.centre)
    if study.status not in (Status.READING, Status.SIGNED):
        raise ActionError("status", _("Claim the study before flagging a critical value."))
    now = timezone.now()
    report = Report.objects.filter(study=study).order_by("-version").first()
    with transaction.atomic():
        critical = CriticalValue.objects.create(study=study, report=report, description=description,
                                                to_institution_id=study.requesting_institution_id,
                                                flagged_by_id=actor.membership.staff_id, flagged_at=now)
        _event(actor, study, "critical_flagged", now, critical=critical.pk, description=description)
        _audit(actor, study, Action.CREATE, decision, reason="critical value flagged", object_type="critical-value",
               object_id=critical.pk)
    return critical


def critical_for(actor: Actor, critical_id, *, action: str = Action.UPDATE, audit_success: bool = False):
    """A critical value sent to the actor's institution, whose patient the actor may see; 404 otherwise."""
    queryset = (CriticalValue.objects.filter(to_institution_id=actor.institution_id)
                .annotate(patient_id=F("study__patient_id")).select_related("study", "acknowledged_by"))
    critical = access_object(actor, queryset, critical_id, object_type="critical-value", action=action,
                             audit_success=audit_success)
    return critical, decide(actor, critical.patient_id)


def do_acknowledge(actor: Actor, critical_id, note: str) -> CriticalValue:
    """A clinician of the requesting institution acknowledges the critical value in their own name,
    saying what was done (复读、确认、记录 — 医疗质量安全核心制度要点 危急值报告制度 (五))."""
    require_cap(actor, Cap.CLINICAL, _("Your role may not acknowledge critical values."))
    note = (note or "").strip()
    if not 2 <= len(note) <= 500:
        raise ActionError("note", _("Say what was done (2 to 500 characters): who was told, what was ordered."))
    critical, decision = critical_for(actor, critical_id)
    now, membership = timezone.now(), actor.membership
    with transaction.atomic():
        if not CriticalValue.objects.filter(pk=critical.pk, acknowledged_at__isnull=True).update(
                acknowledged_at=now, acknowledged_by_id=membership.staff_id, acknowledged_membership_id=membership.pk,
                acknowledgement=note):
            done = CriticalValue.objects.select_related("acknowledged_by").get(pk=critical.pk)
            raise ActionError("status", _("Already acknowledged by %(who)s at %(when)s.") % {
                "who": done.acknowledged_by, "when": f"{timezone.localtime(done.acknowledged_at):%H:%M}"})
        critical.acknowledged_at, critical.acknowledged_by_id, critical.acknowledgement = now, membership.staff_id, note
        minutes = round((now - critical.flagged_at).total_seconds() / 60, 1)
        _event(actor, critical.study, "critical_acknowledged", now, critical=critical.pk, minutes=minutes)
        _audit(actor, critical.study, Action.UPDATE, decision, reason="critical value acknowledged",
               object_type="critical-value", object_id=critical.pk)
    return critical


def do_escalate_critical(now=None) -> int:
    """Escalate every critical value nobody acknowledged within `ACK_MINUTES` (once each): it shows on the
    consortium manager's page and on the centre's worklist, which then telephones. Returns how many. Run
    by `yilian diagnostics escalate` every minute."""
    now = now or timezone.now()
    overdue = CriticalValue.objects.filter(acknowledged_at__isnull=True, escalated_at__isnull=True,
                                           flagged_at__lt=now - timedelta(minutes=ACK_MINUTES))
    count = 0
    for critical in overdue.select_related("study").order_by("flagged_at")[:1000]:
        with transaction.atomic():
            if CriticalValue.objects.filter(pk=critical.pk, acknowledged_at__isnull=True,
                                            escalated_at__isnull=True).update(escalated_at=now):
                _event(SYSTEM, critical.study, "critical_escalated", now, critical=critical.pk,
                       minutes=int((now - critical.flagged_at).total_seconds() // 60))
                count += 1
    return count
