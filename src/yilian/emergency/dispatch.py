"""120 dispatch and the pre-arrival notice: an action module like `actions.py`.

A call is taken by an institution's emergency station (its 120 分站); the station's staff record the
ambulance's run (dispatched, departed, on scene, left the scene, arrived) and the crew's pre-hospital record
(each update a new row). A pre-arrival notice (院前预警) from the crew or from a member sending a patient up
opens the green channel at the receiving institution before arrival and grants that institution access to
the patient (`actions.grant_receiving` → `access.actions.do_grant`, kind green channel, for
`actions.GRANT_HOURS`). Once a call is linked to its case, the run's and the record's times that are time
nodes are copied onto the case (`actions.mirror_nodes`), never over a value already there.

The caller's phone is stored for calling back; it is never logged and is shown masked.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import MAX_ID, Decision, access_patient_for_write, audit
from yilian.access.models import Action, Basis, Outcome
from yilian.emergency.actions import (
    EARLIEST,
    NewCase,
    _event,
    _require,
    check_case_details,
    check_since,
    check_time,
    clean_text,
    create_case,
    grant_receiving,
    local,
    mirror_nodes,
)
from yilian.emergency.models import (
    ArrivalMode,
    CallEvent,
    Case,
    CentreType,
    EmsCall,
    PrearrivalNotice,
    PrehospitalRecord,
    RunStep,
)
from yilian.emergency.queries import case_for
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Institution

CALL_OBJECT = "ems-call"
RECORD_OBJECT = "prehospital-record"
NOTICE_OBJECT = "prearrival-notice"
PHONE = re.compile(r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$", re.ASCII)
STEPS = list(RunStep.values)
# The run's steps that are also time nodes of the case: the crew reaching the patient is the first medical
# contact (首次医疗接触, for a 120 patient), the ambulance's arrival is the hospital door.
STEP_NODES = {RunStep.ON_SCENE: "first_medical_contact", RunStep.ARRIVED: "door"}
BE_FAST = ("balance", "eyes", "face", "arm", "speech")
MAX_TREATMENTS = 30
ETA_HORIZON = timedelta(hours=24)


# --- the call -------------------------------------------------------------------------------------------


@dataclass
class NewCall:
    received_at: datetime
    address: str
    complaint: str
    caller_phone: str = ""
    suspected: str = ""


def check_call(actor: Actor, data: NewCall) -> NewCall:
    _require(actor)
    errors: dict[str, str] = {}
    check_time("received_at", data.received_at, errors=errors)
    address = clean_text("address", data.address, 200, errors, required=True)
    complaint = clean_text("complaint", data.complaint, 200, errors, required=True)
    phone = clean_text("caller_phone", data.caller_phone, 20, errors).replace(" ", "")
    if "caller_phone" not in errors and phone and not PHONE.match(phone):
        errors["caller_phone"] = _("Phone: an 11-digit mobile number or a landline with area code.")
    if data.suspected and data.suspected not in CentreType.values:
        errors["suspected"] = _("Centre: choose chest pain, stroke, trauma, critical maternal or critical neonatal.")
    if errors:
        raise ActionError(errors=errors)
    return NewCall(received_at=data.received_at, address=address, complaint=complaint, caller_phone=phone,
                   suspected=data.suspected or "")


def do_take_call(actor: Actor, data: NewCall) -> EmsCall:
    """A 120 call taken by the acting institution's station."""
    clean = check_call(actor, data)
    with transaction.atomic():
        call = EmsCall.objects.create(
            institution_id=actor.institution_id, received_at=clean.received_at, caller_phone=clean.caller_phone,
            address=clean.address, complaint=clean.complaint, suspected=clean.suspected, created_at=timezone.now(),
            user_id=actor.user_id, membership_id=actor.membership.pk,
        )
        audit(actor, patient_id=None, object_type=CALL_OBJECT, object_id=call.pk, action=Action.CREATE,
              decision=Decision(Basis.NONE, reason="120 call"))
    return call


def call_patient_id(call: EmsCall) -> int | None:
    return Case.objects.filter(pk=call.case_id).values_list("patient_id", flat=True).first() if call.case_id else None


def own_call(actor: Actor, call_id, *, action: str = Action.UPDATE, object_type: str = CALL_OBJECT) -> EmsCall:
    """A call of the acting institution's station; any other (or none) is a 404, audited as denied."""
    _require(actor)
    try:
        pk = int(call_id)
    except (TypeError, ValueError):
        pk = None
    call = (EmsCall.objects.filter(pk=pk, institution_id=actor.institution_id).first()
            if pk is not None and 0 < pk <= MAX_ID else None)
    if call is None:
        audit(actor, patient_id=None, object_type=object_type, object_id=str(call_id)[:40], action=action,
              outcome=Outcome.DENIED)
        raise Http404
    return call


CALL_DECISION = Decision(Basis.NONE, reason="120 call of the acting station")


def do_record_run_step(actor: Actor, call_id, kind, at, vehicle: str = "") -> CallEvent:
    """One step of the ambulance's run, in order: not before the call, not before an earlier step, not
    after a later one. A step is recorded once; a second recording is refused naming the time kept."""
    call = own_call(actor, call_id)
    errors: dict[str, str] = {}
    if kind not in STEPS:
        errors["kind"] = _("Step: choose dispatched, departed, on scene, left the scene or arrived.")
    check_time("at", at, errors=errors)
    vehicle = clean_text("vehicle", vehicle, 20, errors)
    if errors:
        raise ActionError(errors=errors)
    label = RunStep(kind).label
    try:
        with transaction.atomic():
            EmsCall.objects.select_for_update().filter(pk=call.pk).values_list("pk", flat=True).first()
            recorded = {e.kind: e for e in CallEvent.objects.filter(call=call)}
            if kind in recorded:
                raise ActionError("kind", _("%(step)s was already recorded: %(time)s is kept.") % {
                    "step": label, "time": local(recorded[kind].at)})
            if at < call.received_at:
                raise ActionError("at", _("%(step)s (%(time)s) cannot be earlier than the call (%(other_time)s).") % {
                    "step": label, "time": local(at), "other_time": local(call.received_at)})
            index = STEPS.index(kind)
            for other, event in recorded.items():
                j = STEPS.index(other)
                if (j < index and at < event.at) or (j > index and at > event.at):
                    raise ActionError("at", _("%(step)s (%(time)s) is out of order with %(other)s (%(other_time)s).") % {
                        "step": label, "time": local(at), "other": RunStep(other).label,
                        "other_time": local(event.at)})
            event = CallEvent.objects.create(call=call, kind=kind, at=at, vehicle=vehicle, recorded_at=timezone.now(),
                                             user_id=actor.user_id, membership_id=actor.membership.pk)
            if call.case_id and kind in STEP_NODES:
                mirror_nodes(actor, call.case_id, {STEP_NODES[kind]: at}, source="120")
            audit(actor, patient_id=call_patient_id(call), object_type=CALL_OBJECT, object_id=call.pk,
                  action=Action.UPDATE, decision=CALL_DECISION, reason=kind)
    except IntegrityError:
        kept = CallEvent.objects.filter(call=call, kind=kind).first()
        raise ActionError("kind", _("%(step)s was already recorded: %(time)s is kept.") % {
            "step": label, "time": local(kept.at) if kept else "—"}) from None
    return event


# --- the crew's pre-hospital record ---------------------------------------------------------------------


@dataclass
class Treatment:
    what: str
    at: datetime | None = None


@dataclass
class Prehospital:
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    respiratory_rate: int | None = None
    spo2: int | None = None
    temperature: Decimal | str | float | None = None
    glucose: Decimal | str | float | None = None
    gcs_eye: int | None = None
    gcs_verbal: int | None = None
    gcs_motor: int | None = None
    be_fast: dict[str, bool] = field(default_factory=dict)
    ecg_file: str = ""
    ecg_at: datetime | None = None
    ecg_transmitted_at: datetime | None = None
    working_diagnosis: str = ""
    treatments: list[Treatment] = field(default_factory=list)


RANGES = {
    "systolic": (0, 300), "diastolic": (0, 250), "heart_rate": (0, 300), "respiratory_rate": (0, 80),
    "spo2": (0, 100), "gcs_eye": (1, 4), "gcs_verbal": (1, 5), "gcs_motor": (1, 6),
}
DECIMALS = {"temperature": (Decimal("25.0"), Decimal("45.0")), "glucose": (Decimal("0.5"), Decimal("60.0"))}


def _decimal(value, low: Decimal, high: Decimal) -> Decimal | None:
    try:
        number = Decimal(str(value)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and low <= number <= high else None


def check_prehospital(data: Prehospital) -> dict:
    """The record's fields, checked: numbers in their physiological ranges, GCS parts all or none, BE-FAST
    findings as true/false, ECG transmitted not before it was taken. Every bad field at once."""
    errors: dict[str, str] = {}
    out: dict = {}
    for name, (low, high) in RANGES.items():
        value = getattr(data, name)
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            errors[name] = _("Must be a whole number from %(low)d to %(high)d.") % {"low": low, "high": high}
        out[name] = value
    for name, (low, high) in DECIMALS.items():
        value = getattr(data, name)
        out[name] = None if value is None else _decimal(value, low, high)
        if value is not None and out[name] is None:
            errors[name] = _("Must be a number from %(low)s to %(high)s.") % {"low": low, "high": high}
    gcs = [data.gcs_eye, data.gcs_verbal, data.gcs_motor]
    if any(p is not None for p in gcs) and any(p is None for p in gcs):
        errors.setdefault("gcs_eye", _("GCS: give eye, verbal and motor together."))
    if not isinstance(data.be_fast, dict) or any(k not in BE_FAST or not isinstance(v, bool)
                                                 for k, v in data.be_fast.items()):
        errors["be_fast"] = _("BE-FAST: balance, eyes, face, arm, speech, each true (abnormal) or false.")
    out["be_fast"] = dict(data.be_fast) if "be_fast" not in errors else {}
    out["ecg_file"] = clean_text("ecg_file", data.ecg_file, 200, errors)
    out["working_diagnosis"] = clean_text("working_diagnosis", data.working_diagnosis, 200, errors)
    for name in ("ecg_at", "ecg_transmitted_at"):
        value = getattr(data, name)
        out[name] = None if value is None else check_time(name, value, errors=errors)
    if out["ecg_at"] and out["ecg_transmitted_at"] and out["ecg_transmitted_at"] < out["ecg_at"]:
        errors["ecg_transmitted_at"] = _("The ECG cannot be transmitted before it was taken.")
    if out["ecg_transmitted_at"] and not out["ecg_file"] and "ecg_file" not in errors:
        errors["ecg_file"] = _("Name the ECG file that was transmitted.")
    treatments = []
    if len(data.treatments) > MAX_TREATMENTS:
        errors["treatments"] = _("At most %(n)d treatments.") % {"n": MAX_TREATMENTS}
    for i, t in enumerate(data.treatments[:MAX_TREATMENTS]):
        what = clean_text(f"treatments.{i}.what", t.what, 100, errors, required=True)
        at = None if t.at is None else check_time(f"treatments.{i}.at", t.at, errors=errors)
        treatments.append({"what": what, "at": at.isoformat() if at else None})
    out["treatments"] = treatments
    if errors:
        raise ActionError(errors=errors)
    return out


def do_record_prehospital(actor: Actor, call_id, data: Prehospital, *, at: datetime | None = None) -> PrehospitalRecord:
    """The crew's record as of now (or as of `at`, when entered afterwards: not before the call, not in the
    future): a new row each time, the latest is current (the receiving team sees it through the case)."""
    call = own_call(actor, call_id, object_type=RECORD_OBJECT)
    if at is not None:
        check_since("at", at, call.received_at)
    fields = check_prehospital(data)
    with transaction.atomic():
        record = PrehospitalRecord.objects.create(call=call, recorded_at=at or timezone.now(), user_id=actor.user_id,
                                                  membership_id=actor.membership.pk, **fields)
        if call.case_id:
            mirror_nodes(actor, call.case_id, record_times(record), source="prehospital", at=at)
        audit(actor, patient_id=call_patient_id(call), object_type=RECORD_OBJECT, object_id=record.pk,
              action=Action.CREATE, decision=CALL_DECISION)
    return record


def record_times(record: PrehospitalRecord) -> dict[str, datetime]:
    """The crew's record's times that are time nodes of a chest-pain case."""
    return {"first_ecg": record.ecg_at, "ecg_transmitted": record.ecg_transmitted_at}


def call_times(call: EmsCall) -> dict[str, datetime]:
    """Everything the call holds that is a time node, for a call linked to its case after the fact."""
    times = {STEP_NODES[e.kind]: e.at for e in CallEvent.objects.filter(call=call, kind__in=list(STEP_NODES))}
    latest = PrehospitalRecord.objects.filter(call=call).order_by("recorded_at", "pk").last()
    if latest is not None:
        times.update(record_times(latest))
    return times


# --- the pre-arrival notice -----------------------------------------------------------------------------


@dataclass
class Notice:
    """To an existing case (`case_id`), or opening one at `to_institution_id` (`centre` needed). With a
    `call_id` the patient comes by 120; without, a member sends them up (a transfer)."""

    to_institution_id: int
    centre: str = ""
    call_id: int | None = None
    case_id: int | None = None
    patient_id: int | None = None
    eta: datetime | None = None
    summary: str = ""
    in_hospital_onset: bool = False
    provisional_sex: str = ""
    provisional_age: int | None = None


def _check_notice(actor: Actor, notice: Notice) -> tuple[dict[str, str], str, datetime | None]:
    errors: dict[str, str] = {}
    consortium = Institution.objects.filter(pk=actor.institution_id).values("consortium_id")[:1]
    target = notice.to_institution_id
    if not (isinstance(target, int) and 0 < target <= MAX_ID
            and Institution.objects.filter(pk=target, consortium_id__in=consortium).exists()):
        errors["to_institution_id"] = _("Institution: choose a member of your consortium.")
    summary = clean_text("summary", notice.summary, 200, errors)
    eta = notice.eta
    if eta is not None:
        if not isinstance(eta, datetime) or timezone.is_naive(eta):
            errors["eta"] = _("The time must carry a time zone, e.g. +08:00.")
        elif not EARLIEST <= eta <= timezone.now() + ETA_HORIZON:
            errors["eta"] = _("Expected arrival: within the next 24 hours.")
    if notice.case_id is not None and notice.patient_id is not None:
        errors["patient_id"] = _("The case exists: identify its patient on the case instead.")
    if notice.case_id is None and notice.call_id is None and target == actor.institution_id:
        errors["to_institution_id"] = _("A patient sent up goes to another institution.")
    return errors, summary, eta


def do_send_notice(actor: Actor, notice: Notice, *, at: datetime | None = None) -> PrearrivalNotice:
    """Notify the receiving institution before arrival: the green channel opens there (or the notice is
    added to an open one), the call is linked to it, and the receiving institution is granted access to
    the patient when the patient is known. `at`: when it was sent, if not now (entered afterwards: not in
    the future, not before the call or the case it goes to)."""
    _require(actor)
    errors, summary, eta = _check_notice(actor, notice)
    if at is not None:
        check_time("at", at, errors=errors)
    call = None
    if notice.call_id is not None:
        call = own_call(actor, notice.call_id)
        if call.case_id is not None and call.case_id != notice.case_id:
            errors["call_id"] = _("This call already has its green channel.")
        elif "at" not in errors and at is not None and at < call.received_at:
            errors["at"] = _("The time cannot be earlier than %(time)s.") % {"time": local(call.received_at)}
    case, decision, new = None, None, None
    if notice.case_id is not None:
        case, decision = case_for(actor, notice.case_id, action=Action.UPDATE, audit_success=False)
        if case.closed_at is not None:
            errors["case_id"] = _("This green channel is closed.")
        elif "at" not in errors and at is not None and at < case.opened_at:
            errors["at"] = _("The time cannot be earlier than %(time)s.") % {"time": local(case.opened_at)}
        elif "to_institution_id" not in errors and case.institution_id != notice.to_institution_id:
            errors["to_institution_id"] = _("A notice goes to the case's receiving institution.")
    else:
        arrival = ArrivalMode.EMS if call is not None else ArrivalMode.TRANSFER
        new = NewCase(centre=notice.centre, arrival_mode=arrival, patient_id=notice.patient_id,
                      transferred_from_id=actor.institution_id if arrival == ArrivalMode.TRANSFER else None,
                      in_hospital_onset=notice.in_hospital_onset, provisional_sex=notice.provisional_sex,
                      provisional_age=notice.provisional_age)
        if "to_institution_id" not in errors:
            try:
                check_case_details(actor, new, notice.to_institution_id)
            except ActionError as exc:
                errors.update(exc.errors)
        elif notice.centre not in CentreType.values:
            errors["centre"] = _("Centre: choose chest pain, stroke, trauma, critical maternal or critical neonatal.")
    if errors:
        raise ActionError(errors=errors)
    if new is not None and new.patient_id is not None:
        _patient, decision = access_patient_for_write(actor, new.patient_id, Action.CREATE,
                                                      object_type=NOTICE_OBJECT)
    with transaction.atomic():
        if case is None:
            case = create_case(actor, new, notice.to_institution_id, decision, at)
        now = at or timezone.now()
        if call is not None and call.case_id is None:
            if not EmsCall.objects.filter(pk=call.pk, case__isnull=True).update(case=case):
                raise ActionError("call_id", _("This call already has its green channel."))
            call.case_id = case.pk
            mirror_nodes(actor, case.pk, call_times(call), source="120", at=at)
        grant = grant_receiving(actor, case, reason="pre-arrival notice", at=at)
        sent = PrearrivalNotice.objects.create(
            case=case, call=call, from_institution_id=actor.institution_id, to_institution_id=case.institution_id,
            sent_at=now, eta=eta, summary=summary, grant_id=grant.pk if grant else None, user_id=actor.user_id,
            membership_id=actor.membership.pk,
        )
        _event(actor, case, "notice", now, notice=sent.pk, call=call.pk if call else None,
               grant=grant.pk if grant else None)
        audit(actor, patient_id=case.patient_id, object_type=NOTICE_OBJECT, object_id=sent.pk, action=Action.CREATE,
              decision=decision)
    return sent
