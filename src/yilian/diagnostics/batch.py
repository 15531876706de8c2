"""Batch form of the diagnostic-centre actions, for the demo generator and importers of past activity (the rules
of `scheduling/batch.py`): every step carries the time it happened (with a time zone, not in the future, in
the order of the steps); the checks of the single forms run on every item at those times; a failing item is
named by its index (`studies.3.signed_at`); a patient the requesting side may not see is audited as denied
and answered "not found". One transaction, with the events, the centre's grant and the audit rows.

`do_record_studies` records whole past studies as the requesting doctor's side imports them: the submission
(`actions.do_submit`'s checks at its time: the centre serves the institution, the exam is the centre's, the
visit is the patient's there, the specimen's fields, collected in the 30 days before), the specimen received
(`do_receive_specimen`), the claim, draft and signature by a reporting doctor of the centre (`do_claim`,
`do_save_draft`, `do_sign`: findings and impression required), an amendment (`do_amend` then `do_sign`, with
its reason), a critical value flagged by the reader (`do_flag_critical`), acknowledged by a named clinician
of the requesting institution (`do_acknowledge`) and escalated after `ACK_MINUTES` (`do_escalate_critical`),
or the centre's rejection (`do_reject`) or the requester's cancellation before a claim (`do_cancel`). Each
step of the centre is written as its staff member (their membership), the acknowledgement as the clinician,
the escalation as the system.

**Metadata only.** An imported imaging or ECG study carries the DICOM header fields of its instances as a PACS
or an ECG system reports them (StudyInstanceUID, SOPInstanceUID, Modality, body part, study date), checked as
`uploads` checks a file's header (one study, distinct instances, the exam's modality); no file is stored,
the files stay where they were read.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import Decision, decide_many
from yilian.access.models import Action, AuditEvent, Basis, Grant, GrantKind
from yilian.diagnostics.actions import (
    ACK_MINUTES,
    GRANT_DAYS,
    OPEN_ENDED,
    NewStudy,
    check_report_text,
    check_submit,
    may_report,
    works_for,
)
from yilian.diagnostics.models import (
    SPECIMEN_KINDS,
    CentreKind,
    CriticalValue,
    Report,
    ReportStatus,
    Status,
    Study,
    StudyEvent,
)
from yilian.diagnostics.uploads import DICOM_MODALITIES, UID
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor, actor_for_membership
from yilian.network.models import Membership
from yilian.network.roles import Cap
from yilian.scheduling.batch import audit_for, bad_time, not_found, require, valid_id


@dataclass
class Instance:
    """One DICOM instance's header, as read by pydicom (`uploads._read_dicom`) or reported by a PACS."""

    study_uid: str
    sop_uid: str
    modality: str
    body_part: str = ""
    study_date: date | None = None


@dataclass
class PastStudy:
    data: NewStudy
    at: datetime  # submitted
    instances: list[Instance] = field(default_factory=list)  # imaging and ECG
    reader: Membership | None = None  # the reporting doctor (or, in the lab, technician) of the centre
    received_at: datetime | None = None  # the specimen, by the reader's centre
    claimed_at: datetime | None = None
    drafted_at: datetime | None = None
    findings: str = ""
    impression: str = ""
    signed_at: datetime | None = None
    critical: tuple[str, datetime] | None = None  # (description, flagged at)
    acknowledged: tuple[Membership, datetime, str] | None = None  # (clinician, at, what was done)
    escalated_at: datetime | None = None
    amendment: tuple[datetime, str, str, datetime] | None = None  # (opened, reason, impression, signed)
    rejected: tuple[datetime, str] | None = None  # by the reader's centre, before signing
    cancelled: tuple[datetime, str] | None = None  # by the requester, before a claim


def _times(item: PastStudy) -> list[tuple[str, datetime | None]]:
    return [("at", item.at), ("received_at", item.received_at), ("claimed_at", item.claimed_at),
            ("drafted_at", item.drafted_at), ("signed_at", item.signed_at),
            ("amendment", item.amendment[0] if item.amendment else None),
            ("amendment", item.amendment[3] if item.amendment else None),
            ("rejected", item.rejected[0] if item.rejected else None),
            ("cancelled", item.cancelled[0] if item.cancelled else None)]


def _check_instances(item: PastStudy, kind: str, modalities: tuple[str, ...], errors: dict) -> dict:
    """`uploads._check` and `actions._imaging` on the headers: the study-level metadata of an imaging study."""
    allowed = modalities or DICOM_MODALITIES.get(kind, ())
    for k, inst in enumerate(item.instances):
        if not (UID.match(inst.study_uid or "") and UID.match(inst.sop_uid or "")) or max(
                len(inst.study_uid), len(inst.sop_uid)) > 64:
            errors[f"instances.{k}"] = _("Not a readable DICOM header (it needs a StudyInstanceUID, a SOPInstanceUID "
                                         "and a Modality).")
        elif inst.modality not in allowed:
            errors[f"instances.{k}"] = _("A %(modality)s image; this exam takes %(allowed)s.") % {
                "modality": inst.modality, "allowed": "/".join(allowed)}
    if {i.study_uid for i in item.instances}.__len__() > 1:
        errors["instances"] = _("The instances belong to different studies (StudyInstanceUID); one study at a time.")
    sops = [i.sop_uid for i in item.instances]
    if len(set(sops)) != len(sops):
        errors["instances"] = _("The same DICOM instance (SOPInstanceUID) was attached twice.")
    if kind != CentreKind.IMAGING or not item.instances:
        return {}
    first = item.instances[0]
    return {"study_uid": first.study_uid, "modality": first.modality, "body_part": first.body_part[:64],
            "study_date": first.study_date, "image_count": len(item.instances)}


def check_past(actor: Actor, item: PastStudy, now):
    """Every rule of the single steps for one past study; returns (centre, exam, imaging metadata)."""
    errors: dict[str, str] = {}
    if item.instances and item.data.centre_id and not isinstance(item.instances[0], Instance):
        errors["instances"] = _("Instances: DICOM headers.")
    try:
        centre, exam = check_submit(actor, item.data, len(item.instances), item.at)
    except ActionError as exc:
        raise ActionError(errors={**exc.errors, **errors}) from None
    imaging = _check_instances(item, centre.kind, exam.modalities, errors)
    previous = None
    for name, at in _times(item):
        if at is None:
            continue
        bad = bad_time(at, now)
        if bad or (previous is not None and at < previous):
            errors[name] = bad or _("A step cannot come before the one it follows.")
        previous = at
    reader = actor_for_membership(item.reader) if item.reader else None
    if (item.received_at or item.claimed_at or item.rejected) and reader is None:
        errors["reader"] = _("Only the centre's staff may do this.")
    if item.received_at and (centre.kind not in SPECIMEN_KINDS or not works_for(reader, centre)
                             or not reader.can(Cap.CLINICAL)):
        errors["received_at"] = _("This study has no specimen.") if centre.kind not in SPECIMEN_KINDS else _(
            "Only the centre's staff may do this.")
    if item.claimed_at:
        if not may_report(reader, centre):
            errors["reader"] = _("Only the centre's reporting doctors may read, report and sign.")
        if centre.kind in SPECIMEN_KINDS and not item.received_at:
            errors["claimed_at"] = _("The specimen has not been received yet.")
    if item.drafted_at and not item.claimed_at:
        errors["drafted_at"] = _("Claim the study before writing its report.")
    try:
        check_report_text(item.findings, item.impression)
    except ActionError as exc:
        errors.update(exc.errors)
    if item.signed_at and not (item.drafted_at and item.findings.strip() and item.impression.strip()):
        errors["signed_at"] = _("Findings and impression: required before signing.")
    if item.amendment:
        opened, reason, impression, _signed = item.amendment
        if not item.signed_at or not (reason or "").strip() or len(reason) > 500 or not impression.strip():
            errors["amendment"] = _("Only a signed report can be amended, with a reason of at most 500 characters.")
    if item.critical:
        description, flagged = item.critical
        if not item.claimed_at or flagged < item.claimed_at or bad_time(flagged, now):
            errors["critical"] = _("Claim the study before flagging a critical value.")
        if not 2 <= len((description or "").strip()) <= 200:
            errors["critical"] = _("Critical value: say what it is (2 to 200 characters).")
        if item.acknowledged:
            who, at, note = item.acknowledged
            clinician = actor_for_membership(who)
            if who.institution_id != actor.institution_id or not clinician.can(Cap.CLINICAL):
                errors["acknowledged"] = _("Your role may not acknowledge critical values.")
            if at < flagged or bad_time(at, now) or not 2 <= len((note or "").strip()) <= 500:
                errors["acknowledged"] = _("Say what was done (2 to 500 characters): who was told, what was ordered.")
        if item.escalated_at and (item.escalated_at < flagged + timedelta(minutes=ACK_MINUTES)
                                  or bad_time(item.escalated_at, now)
                                  or (item.acknowledged and item.acknowledged[1] <= item.escalated_at)):
            errors["escalated_at"] = _("Only a critical value not acknowledged within 15 minutes is escalated.")
    elif item.acknowledged or item.escalated_at:
        errors["critical"] = _("No critical value was flagged.")
    if item.rejected:
        if item.signed_at or reader is None or not works_for(reader, centre) or not reader.can(Cap.CLINICAL):
            errors["rejected"] = _("Only the centre's staff may reject an open study.")
        if not (item.rejected[1] or "").strip() or len(item.rejected[1]) > 200:
            errors["rejected"] = _("Reason: required, at most 200 characters.")
    if item.cancelled:
        if item.claimed_at or not (item.cancelled[1] or "").strip() or len(item.cancelled[1]) > 200:
            errors["cancelled"] = _("A study nobody reads yet is cancelled with a reason (at most 200 characters).")
    if errors:
        raise ActionError(errors=errors)
    return centre, exam, imaging


def _event(actor: Actor, study: Study, kind: str, at, **data) -> StudyEvent:
    return StudyEvent(study=study, kind=kind, at=at, user_id=actor.user_id,
                      membership_id=actor.membership.pk if actor.membership else None, data=data)


def do_record_studies(actor: Actor, items: list[PastStudy]) -> list[Study]:
    """Record many past studies requested by the actor's institution, each step at its time (see the module)."""
    require(actor, Cap.RECORD_VISIT, _("Your role may not request remote diagnoses."))
    now = timezone.now()
    decisions = decide_many(actor, {item.data.patient_id for item in items if valid_id(item.data.patient_id)})
    checked = []
    for i, item in enumerate(items):
        if item.data.patient_id not in decisions:
            not_found(actor, "studies", i, "patient_id", _("Patient not found."),
                      patient_id=item.data.patient_id if valid_id(item.data.patient_id) else None,
                      object_type="study", object_id="")
        try:
            checked.append(check_past(actor, item, now))
        except ActionError as exc:
            raise exc.prefixed(f"studies.{i}") from None
    out, events, audits, reports, criticals = [], [], [], [], []
    try:
        with transaction.atomic():
            for item, (centre, exam, imaging) in zip(items, checked, strict=True):
                study = _write(actor, item, centre, exam, imaging, decisions, events, audits, reports, criticals)
                out.append(study)
            Report.objects.bulk_create([r for r in reports if r.version == 1])
            Report.objects.bulk_create([r for r in reports if r.version > 1])  # they point to the first
            for row in audits:
                if getattr(row, "_report", None) is not None:
                    row.object_id = str(row._report.pk)
            for critical, report_of in criticals:
                critical.report = report_of.get(1) if report_of else None
            CriticalValue.objects.bulk_create([c for c, _r in criticals])
            for critical, _r in criticals:
                _critical_rows(critical, events, audits)
            StudyEvent.objects.bulk_create(events)
            AuditEvent.objects.bulk_create(audits)
    except IntegrityError:  # a StudyInstanceUID the centre holds (constraint diag_study_uid_once)
        raise ActionError("studies", _("A study of the batch was already submitted to the centre.")) from None
    return out


def _write(actor, item: PastStudy, centre, exam, imaging, decisions, events, audits, reports, criticals) -> Study:
    data, at, pid = item.data, item.at, item.data.patient_id
    specimen = centre.kind in SPECIMEN_KINDS
    status = (Status.CANCELLED if item.cancelled else Status.REJECTED if item.rejected
              else Status.SIGNED if item.signed_at else Status.READING if item.claimed_at else Status.SUBMITTED)
    closed = item.cancelled or item.rejected
    reader = item.reader
    study = Study.objects.create(
        kind=centre.kind, centre=centre, exam_type=exam.code, exam_name=exam.name, priority=data.priority,
        patient_id=pid, requesting_institution_id=actor.institution_id,
        requesting_department_id=actor.membership.department_id, requesting_staff_id=actor.membership.staff_id,
        encounter_id=data.encounter_id, clinical_info=(data.clinical_info or "").strip(), submitted_at=at,
        status=status, reader_id=reader.staff_id if item.claimed_at else None, claimed_at=item.claimed_at,
        signed_at=item.signed_at, amended_at=item.amendment[3] if item.amendment else None,
        closed_at=closed[0] if closed else None, close_reason=closed[1].strip() if closed else "",
        specimen_barcode=(data.specimen_barcode or "").strip() if specimen else "",
        specimen_type=(data.specimen_type or "").strip() if specimen else "",
        specimen_site=(data.specimen_site or "").strip() if specimen else "",
        specimen_count=data.specimen_count if specimen else 0, collected_at=data.collected_at if specimen else None,
        sent_at=item.received_at, received_at=item.received_at,
        metadata={k: str(v)[:200] for k, v in list((data.metadata or {}).items())[:20]}, **imaging)
    last_signed = item.amendment[3] if item.amendment else item.signed_at
    grant = Grant.objects.create(
        patient_id=pid, kind=GrantKind.DIAGNOSTIC, scope="all", to_institution_id=centre.institution_id,
        valid_from=at, valid_to=last_signed + timedelta(days=GRANT_DAYS) if last_signed else at + OPEN_ENDED,
        revoked_at=closed[0] if closed else None, reason=study.number, source_type="study", source_id=study.pk)
    audits.append(audit_for(actor, pid, "grant", grant.pk, Action.CREATE, Decision(Basis.GRANT, grant.pk, study.number)))
    events.append(_event(actor, study, "submitted", at, centre=centre.pk, exam_type=exam.code, priority=data.priority,
                         files=0, instances=len(item.instances)))
    if study.collected_at:
        events.append(_event(actor, study, "specimen_collected", study.collected_at))
    audits.append(audit_for(actor, pid, "study", study.pk, Action.CREATE, decisions[pid]))
    staff = actor_for_membership(reader, source=actor.source) if reader else None
    basis = Decision(Basis.GRANT, grant.pk, "diagnostic")

    def step(who, kind, when, why, **extra):
        events.append(_event(who, study, kind, when, **extra))
        audits.append(audit_for(who, pid, "study", study.pk, Action.UPDATE, basis, why))

    if item.received_at:
        step(staff, "specimen_received", item.received_at, "specimen received")
    if item.claimed_at:
        step(staff, "claimed", item.claimed_at, "claimed")
    versions = {}
    if item.drafted_at:
        first = Report(study=study, version=1, findings=item.findings.strip(), impression=item.impression.strip(),
                       author_id=reader.staff_id, created_at=item.drafted_at, updated_at=item.drafted_at)
        if item.signed_at:
            first.status, first.signed_by_id = ReportStatus.SIGNED, reader.staff_id
            first.signed_membership_id, first.signed_at = reader.pk, item.signed_at
        reports.append(first)
        versions[1] = first
        step(staff, "drafted", item.drafted_at, "report v1 drafted", version=1)
    if item.signed_at:
        events.append(_event(staff, study, "signed", item.signed_at, version=1))
        audits.append(audit_for(staff, pid, "report", "", Action.UPDATE, basis, "report v1 signed"))
        audits[-1]._report = first
    if item.amendment:
        opened, reason, impression, signed = item.amendment
        second = Report(study=study, version=2, findings=versions[1].findings, impression=impression.strip(),
                        author_id=reader.staff_id, created_at=opened, updated_at=signed, amends=versions[1],
                        amendment_reason=reason.strip(), status=ReportStatus.SIGNED, signed_by_id=reader.staff_id,
                        signed_membership_id=reader.pk, signed_at=signed)
        reports.append(second)
        versions[2] = second
        step(staff, "amendment_opened", opened, "amendment v2 opened", version=2, reason=reason.strip())
        events.append(_event(staff, study, "amended", signed, version=2, reason=reason.strip()))
        audits.append(audit_for(staff, pid, "report", "", Action.UPDATE, basis, "report v2 signed"))
        audits[-1]._report = second
    if item.critical:
        description, flagged = item.critical
        critical = CriticalValue(study=study, description=description.strip(), to_institution_id=actor.institution_id,
                                 flagged_by_id=reader.staff_id, flagged_at=flagged, escalated_at=item.escalated_at)
        critical._staff, critical._basis, critical._ack = staff, basis, item.acknowledged
        if item.acknowledged:
            who, when, note = item.acknowledged
            critical.acknowledged_at, critical.acknowledged_by_id = when, who.staff_id
            critical.acknowledged_membership_id, critical.acknowledgement = who.pk, note.strip()
        criticals.append((critical, versions))
    if item.rejected:
        when, reason = item.rejected
        step(staff, "rejected", when, "rejected", reason=reason.strip(), specimen=centre.kind in SPECIMEN_KINDS)
    if item.cancelled:
        when, reason = item.cancelled
        events.append(_event(actor, study, "cancelled", when, reason=reason.strip()))
        audits.append(audit_for(actor, pid, "study", study.pk, Action.UPDATE, decisions[pid], "cancelled"))
    return study


def _critical_rows(critical: CriticalValue, events: list, audits: list) -> None:
    """The critical value's events and audit rows, once it has its id."""
    study, pid = critical.study, critical.study.patient_id
    events.append(_event(critical._staff, study, "critical_flagged", critical.flagged_at, critical=critical.pk,
                         description=critical.description))
    audits.append(audit_for(critical._staff, pid, "critical-value", critical.pk, Action.CREATE, critical._basis,
                            "critical value flagged"))
    if critical._ack:
        who, when, _note = critical._ack
        clinician = actor_for_membership(who, source=critical._staff.source)
        events.append(_event(clinician, study, "critical_acknowledged", when, critical=critical.pk,
                             minutes=round((when - critical.flagged_at).total_seconds() / 60, 1)))
        audits.append(audit_for(clinician, pid, "critical-value", critical.pk, Action.UPDATE, Decision(Basis.CARE),
                                "critical value acknowledged"))
    if critical.escalated_at:
        events.append(_event(SYSTEM, study, "critical_escalated", critical.escalated_at, critical=critical.pk,
                             minutes=int((critical.escalated_at - critical.flagged_at).total_seconds() // 60)))
