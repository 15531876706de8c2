"""The guided-operation record (远程/现场手术指导) and the partner hospitals: check then do, in a
transaction, with the audit row (and, for an operation that followed a consultation, an event on it)."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import access_patient_for_write, audit, audit_row
from yilian.access.models import Action
from yilian.consults.actions import event
from yilian.consults.experts import consortium_of, expert_institutions, is_doctor_at, require
from yilian.consults.models import Consultation, GuidedOperation, GuidingMode, PartnerInstitution, Status
from yilian.consults.models import Outcome as OperationOutcome
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import GRASSROOTS_KINDS, Department, Institution
from yilian.network.roles import Cap

BACKDATE_DAYS = 366  # a guided operation may be recorded up to a year after it was performed


@dataclass
class NewGuidedOperation:
    patient_id: int
    procedure: str
    performed_on: date
    mode: str
    expert_staff_id: int
    expert_institution_id: int
    operator_staff_id: int
    outcome: str
    notes: str = ""
    consultation_id: int | None = None
    department_id: int | None = None


def do_register_partner(actor: Actor, institution_id, since: date, note: str = "") -> PartnerInstitution:
    """The system administrator marks an institution of the consortium as a partner hospital outside the
    county (its experts answer consultations; it is never the consultation centre)."""
    require(actor, Cap.CONFIGURE, _("Only the system administrator registers partner hospitals."))
    institution = Institution.objects.filter(pk=institution_id).first() if isinstance(institution_id, int) else None
    errors = {}
    if institution is None or institution.kind in GRASSROOTS_KINDS:
        errors["institution_id"] = _("Partner: choose a hospital (not a grassroots institution).")
    elif PartnerInstitution.objects.filter(institution=institution).exists():
        errors["institution_id"] = _("This hospital is already a partner.")
    if len(note or "") > 200:
        errors["note"] = _("Agreement: at most 200 characters.")
    if errors:
        raise ActionError(errors=errors)
    with transaction.atomic():
        partner = PartnerInstitution.objects.create(institution=institution, since=since, note=(note or "").strip())
        audit(actor, patient_id=None, object_type="partner-hospital", object_id=institution.pk,
              action=Action.CREATE, reason="partner hospital registered")
    return partner


def check_guided_operation(actor: Actor, data: NewGuidedOperation) -> None:
    require(actor, Cap.RECORD_VISIT, _("Your role may not record guided operations."))
    errors: dict[str, str] = {}
    if not (data.procedure or "").strip() or len(data.procedure) > 100:
        errors["procedure"] = _("Procedure: required, at most 100 characters.")
    today = timezone.localdate()
    if not isinstance(data.performed_on, date) or not (
            today - timedelta(days=BACKDATE_DAYS) <= data.performed_on <= today):
        errors["performed_on"] = _("Date: today or a day of the past year.")
    if data.mode not in GuidingMode.values:
        errors["mode"] = _("Guidance: remote or on site.")
    if data.outcome not in OperationOutcome.values:
        errors["outcome"] = _("Outcome: choose one of the list.")
    if len(data.notes or "") > 1000:
        errors["notes"] = _("Notes: at most 1000 characters.")
    allowed = expert_institutions(consortium_of(actor.institution_id)).exclude(pk=actor.institution_id)
    if not (isinstance(data.expert_institution_id, int) and allowed.filter(pk=data.expert_institution_id).exists()
            and is_doctor_at(data.expert_staff_id, data.expert_institution_id)):
        errors["expert_staff_id"] = _("Guiding expert: choose a doctor of another hospital of the consortium or of "
                                      "a partner hospital.")
    if not is_doctor_at(data.operator_staff_id, actor.institution_id):
        errors["operator_staff_id"] = _("Local operator: choose a doctor of your institution.")
    if data.department_id is not None and not (isinstance(data.department_id, int) and Department.objects.filter(
            pk=data.department_id, institution_id=actor.institution_id).exists()):
        errors["department_id"] = _("Department: choose a department of your institution.")
    if data.consultation_id is not None and not (isinstance(data.consultation_id, int) and Consultation.objects.filter(
            pk=data.consultation_id, patient_id=data.patient_id, from_institution_id=actor.institution_id)
            .exclude(status=Status.CANCELLED).exists()):
        errors["consultation_id"] = _("Consultation: choose one of this patient's consultations asked by your "
                                      "institution.")
    if errors:
        raise ActionError(errors=errors)


def do_record_guided_operation(actor: Actor, data: NewGuidedOperation) -> GuidedOperation:
    """The member where the procedure was performed records it (procedure, date, guiding expert, local
    operator, outcome); linked to the consultation that led to it, if any."""
    patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE,
                                                 object_type="guided-operation")
    check_guided_operation(actor, data)
    now = timezone.now()
    with transaction.atomic():
        operation = GuidedOperation.objects.create(
            patient=patient, consultation_id=data.consultation_id, institution_id=actor.institution_id,
            department_id=data.department_id, procedure=data.procedure.strip(), performed_on=data.performed_on,
            mode=data.mode, expert_id=data.expert_staff_id, expert_institution_id=data.expert_institution_id,
            operator_id=data.operator_staff_id, outcome=data.outcome, notes=(data.notes or "").strip(),
            recorded_by_id=actor.membership.staff_id, recorded_at=now)
        if operation.consultation_id:
            event(actor, operation.consultation, "guided_operation", now, operation=operation.pk)
        audit_row(actor, patient_id=patient.pk, object_type="guided-operation", object_id=operation.pk,
                  action=Action.CREATE, decision=decision).save()
    return operation
