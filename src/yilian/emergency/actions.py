"""Green-channel cases and their timelines: the only code that changes them.

`check_*` validates and raises `ActionError` naming the field; `do_*` writes in a transaction with its
event row and its audit row. Patient data is reached through the access gate (`queries.case_for`,
`gate.access_patient_for_write`): missing and forbidden are the same 404.

Recording a node locks the case row, so the order rule is checked against a timeline nobody else is
changing; the unique constraints on `NodeTime` (one first value per node, one correction per row) are the
database's last guard. Two tablets recording one node at once keep one value: the other gets
`NodeConflict`, which names the value kept. The 120 side (calls, the ambulance's run, the crew's record,
pre-arrival notices) is in `dispatch.py`.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.actions import do_grant, do_record_care
from yilian.access.gate import Decision, access_patient_for_write, audit
from yilian.access.models import Action, Basis, Grant, GrantKind
from yilian.emergency.models import ArrivalMode, Case, CaseEvent, CentreType, Disposition, NodeTime
from yilian.emergency.nodes import Node, node, predecessors, successors
from yilian.emergency.queries import OBJECT, case_for, current_nodes
from yilian.errors import ActionError
from yilian.network.acting import Actor, require_cap
from yilian.network.models import Institution
from yilian.network.roles import Cap
from yilian.patients.models import Sex

NODE_OBJECT = "green-channel-node"
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
CLOCK_SKEW = timedelta(minutes=5)  # a tablet's clock may run a little ahead of the server's
MAX_AGE = 130
GRANT_HOURS = 72  # the receiving institution's access on a pre-arrival notice (then care, from the door)
BYPASS_TARGETS = {
    CentreType.CHEST_PAIN: ("cath_lab",),
    CentreType.STROKE: ("ct", "cath_lab"),
    CentreType.TRAUMA: ("ct", "operating_room"),
    CentreType.MATERNAL: ("operating_room",),
    CentreType.NEONATAL: ("nicu",),
}


def local(at: datetime) -> str:
    """A time as shown to people: Asia/Shanghai, to the second (nodes a minute apart must read apart)."""
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


class NodeConflict(ActionError):
    """The node already has a value (recorded, or corrected, by someone else meanwhile): `kept` is the row
    that stands."""

    def __init__(self, node_: Node, kept: NodeTime):
        self.kept = kept
        super().__init__("node", _("%(node)s was already recorded: %(time)s is kept. If it is wrong, correct it "
                                   "with a reason.") % {"node": node_.name, "time": local(kept.at)})


def _require(actor: Actor, cap: str = Cap.CLINICAL) -> None:
    require_cap(actor, cap, _("Your role may not record green-channel data."))


def check_time(field: str, at, *, errors: dict[str, str] | None = None) -> datetime | None:
    """An aware time between 2000 and a few minutes from now; the message goes to `errors[field]` when a
    dict is given, else it is raised."""
    message = None
    if not isinstance(at, datetime) or timezone.is_naive(at):
        message = _("The time must carry a time zone, e.g. +08:00.")
    elif at < EARLIEST:
        message = _("The time is too far in the past.")
    elif at > timezone.now() + CLOCK_SKEW:
        message = _("The time cannot be in the future.")
    if message is None:
        return at
    if errors is None:
        raise ActionError(field, message)
    errors[field] = message
    return None


def check_since(field: str, at, since: datetime | None) -> datetime:
    """An explicit time for an action that otherwise takes the server's clock (a record entered
    afterwards, the demo's history): checked as `check_time` does (aware, after 2000, not in the future),
    and not before `since` (the call, the opening of the case) when given."""
    check_time(field, at)
    if since is not None and at < since:
        raise ActionError(field, _("The time cannot be earlier than %(time)s.") % {"time": local(since)})
    return at


def clean_text(field: str, value, max_length: int, errors: dict[str, str], *, required: bool = False) -> str:
    """Stripped text without control characters (PostgreSQL refuses NUL; no field here needs one)."""
    text = (value or "").strip() if isinstance(value, str) or value is None else None
    if text is None or any(ord(c) < 32 for c in text):
        errors[field] = _("Text only, without control characters.")
    elif len(text) > max_length:
        errors[field] = _("At most %(n)d characters.") % {"n": max_length}
    elif required and not text:
        errors[field] = _("This field is required.")
    return text or ""


def _event(actor: Actor, case: Case, kind: str, at: datetime | None = None, **data) -> CaseEvent:
    return CaseEvent.objects.create(case=case, kind=kind, at=at or timezone.now(), user_id=actor.user_id,
                                    membership_id=actor.membership.pk if actor.membership else None, data=data)


# --- opening a case -------------------------------------------------------------------------------------


@dataclass
class NewCase:
    centre: str
    arrival_mode: str
    patient_id: int | None = None
    transferred_from_id: int | None = None
    in_hospital_onset: bool = False
    provisional_sex: str = ""
    provisional_age: int | None = None


def check_case_details(actor: Actor, data: NewCase, receiving_id: int) -> NewCase:
    """Every bad field at once (the patient is checked by the gate, separately)."""
    errors: dict[str, str] = {}
    if data.centre not in CentreType.values:
        errors["centre"] = _("Centre: choose chest pain, stroke, trauma, critical maternal or critical neonatal.")
    if data.arrival_mode not in ArrivalMode.values:
        errors["arrival_mode"] = _("Arrival mode: choose 120 ambulance, by themselves, or transfer.")
    elif data.arrival_mode == ArrivalMode.TRANSFER:
        consortium = Institution.objects.filter(pk=receiving_id).values("consortium_id")[:1]
        origin = data.transferred_from_id
        if not (isinstance(origin, int) and 0 < origin < 2**63 and origin != receiving_id
                and Institution.objects.filter(pk=origin, consortium_id__in=consortium).exists()):
            errors["transferred_from_id"] = _("Transferred from: choose another member of the consortium.")
    elif data.transferred_from_id is not None:
        errors["transferred_from_id"] = _("Only a transfer comes from another institution.")
    if data.provisional_sex and data.provisional_sex not in Sex.values:
        errors["provisional_sex"] = _("Sex: choose one of unknown, male, female, unspecified.")
    if data.provisional_age is not None and not (isinstance(data.provisional_age, int)
                                                 and 0 <= data.provisional_age <= MAX_AGE):
        errors["provisional_age"] = _("Estimated age: 0 to 130 years.")
    if errors:
        raise ActionError(errors=errors)
    return data


def create_case(actor: Actor, data: NewCase, receiving_id: int, decision=None, at: datetime | None = None) -> Case:
    """Insert a checked case with its "opened" event and audit row (inside the caller's transaction).
    The receiving institution gets its care relationship when the patient is known and it opened the
    case itself (a case opened by another institution reaches it through the notice's grant). `at`, checked
    by the caller, is the opening time when it is not now."""
    now = at or timezone.now()
    try:
        with transaction.atomic():
            case = Case.objects.create(
                centre=data.centre, patient_id=data.patient_id, institution_id=receiving_id,
                opened_by_institution_id=actor.institution_id, arrival_mode=data.arrival_mode,
                transferred_from_id=data.transferred_from_id, in_hospital_onset=bool(data.in_hospital_onset),
                provisional_sex=data.provisional_sex or "", provisional_age=data.provisional_age, opened_at=now,
                opened_by_user_id=actor.user_id, opened_by_membership_id=actor.membership.pk,
            )
    except IntegrityError:
        raise ActionError("patient_id", _("This patient already has an open green channel of this centre.")) from None
    _event(actor, case, "opened", now, centre=case.centre, arrival_mode=case.arrival_mode)
    if case.patient_id and receiving_id == actor.institution_id:
        do_record_care(case.patient_id, receiving_id, "green_channel", case.pk, now, new=True)
    audit(actor, patient_id=case.patient_id, object_type=OBJECT, object_id=case.pk, action=Action.CREATE,
          decision=decision)
    return case


def do_open_case(actor: Actor, data: NewCase, *, at: datetime | None = None) -> Case:
    """Open a green channel at the acting institution (a walk-in, an in-hospital onset, or an ambulance of
    the hospital's own 120 station). Another institution's channel is opened by a pre-arrival notice
    (`dispatch.do_send_notice`). The patient may be left out and identified later. `at`: when it was
    opened, if not now (entered afterwards; aware, not in the future)."""
    _require(actor)
    if at is not None:
        check_since("at", at, None)
    check_case_details(actor, data, actor.institution_id)
    decision = None
    if data.patient_id is not None:
        _patient, decision = access_patient_for_write(actor, data.patient_id, Action.CREATE, object_type=OBJECT)
    with transaction.atomic():
        return create_case(actor, data, actor.institution_id, decision, at)


def do_identify_patient(actor: Actor, case_id, patient_id, *, at: datetime | None = None) -> Case:
    """The unidentified patient of a case is this patient (whom the actor may see). The receiving
    institution then cares for them; identified by the institution that sent them, the receiving one gets
    the green-channel grant the notice would have given. `at`: when, if not now (not before the case was
    opened)."""
    _require(actor)
    case, _case_decision = case_for(actor, case_id, action=Action.UPDATE, audit_success=False)
    if at is not None:
        check_since("at", at, case.opened_at)
    patient, decision = access_patient_for_write(actor, patient_id, Action.UPDATE, object_type=OBJECT,
                                                 object_id=case.pk)
    try:
        with transaction.atomic():
            if not Case.objects.filter(pk=case.pk, patient__isnull=True).update(patient_id=patient.pk):
                raise ActionError("patient_id", _("This green channel's patient is already identified."))
            case.patient_id = patient.pk
            _event(actor, case, "identified", at)
            if actor.institution_id == case.institution_id:
                do_record_care(case.patient_id, case.institution_id, "green_channel", case.pk, at or timezone.now())
            else:
                grant_receiving(actor, case, reason="green channel: patient identified by the sender", at=at)
            audit(actor, patient_id=case.patient_id, object_type=OBJECT, object_id=case.pk, action=Action.UPDATE,
                  decision=decision, reason="patient identified")
    except IntegrityError:
        case.patient_id = None
        raise ActionError("patient_id", _("This patient already has an open green channel of this centre.")) from None
    return case


def grant_receiving(actor: Actor, case: Case, *, reason: str, at: datetime | None = None) -> Grant | None:
    """Grant the receiving institution access to the case's patient (green channel, `GRANT_HOURS` from
    `at`, now by default), unless the patient is not identified yet or the sender is the receiving
    institution itself."""
    if case.patient_id is None or case.institution_id == actor.institution_id:
        return None
    since = at or timezone.now()
    return do_grant(actor, patient_id=case.patient_id, kind=GrantKind.GREEN_CHANNEL,
                    to_institution_id=case.institution_id, valid_from=at,
                    valid_to=since + timedelta(hours=GRANT_HOURS), reason=reason, source_type="green-channel",
                    source_id=case.pk)


# --- time nodes -----------------------------------------------------------------------------------------


def _node_of(case: Case, code) -> Node:
    found = node(case.centre, code) if isinstance(code, str) else None
    if found is None:
        raise ActionError("node", _("Not a time node of this green channel."))
    return found


def check_order(case: Case, n: Node, at: datetime, current: dict[str, NodeTime]) -> None:
    """Refuse a time earlier than a node it must follow, or later than a recorded node that must follow
    it; the message names both nodes and both times."""
    others = {code: row for code, row in current.items() if code != n.code}
    for before in predecessors(case.centre, n.code, others):
        if at < others[before].at:
            raise ActionError("at", _("%(node)s (%(time)s) cannot be earlier than %(other)s (%(other_time)s).") % {
                "node": n.name, "time": local(at), "other": node(case.centre, before).name,
                "other_time": local(others[before].at)})
    for after in successors(case.centre, n.code, others):
        if others[after].at < at:
            raise ActionError("at", _("%(node)s (%(time)s) cannot be later than %(other)s (%(other_time)s).") % {
                "node": n.name, "time": local(at), "other": node(case.centre, after).name,
                "other_time": local(others[after].at)})


def _open_for_nodes(actor: Actor, case_id) -> tuple[Case, object]:
    _require(actor)
    case, decision = case_for(actor, case_id, action=Action.UPDATE, audit_success=False, object_type=NODE_OBJECT)
    if case.closed_at is not None:
        raise ActionError("case", _("This green channel is closed."))
    return case, decision


def _insert(actor: Actor, case: Case, n: Node, at: datetime, *, supersedes: NodeTime | None = None,
            reason: str = "", source: str = "") -> NodeTime:
    m = actor.membership
    return NodeTime.objects.create(case=case, node=n.code, at=at, recorded_at=timezone.now(),
                                   user_id=actor.user_id, membership_id=m.pk if m else None,
                                   institution_id=actor.institution_id, supersedes=supersedes, reason=reason,
                                   source=source[:20])


def _conflict_after_race(case: Case, n: Node) -> ActionError:
    kept = current_nodes(case.pk).get(n.code)
    if kept is None:  # the other writer's transaction failed after all: ask to try again
        return ActionError("node", _("Someone else was recording this node at the same moment; try again."))
    return NodeConflict(n, kept)


def do_record_node(actor: Actor, case_id, code, at, *, source: str = "") -> NodeTime:
    """Record the time of a node that has no value yet (one tap on the tablet)."""
    case, decision = _open_for_nodes(actor, case_id)
    n = _node_of(case, code)
    check_time("at", at)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
            current = current_nodes(case.pk)
            if n.code in current:
                raise NodeConflict(n, current[n.code])
            check_order(case, n, at, current)
            row = _insert(actor, case, n, at, source=source)
            if n.code == "door" and case.patient_id and actor.institution_id == case.institution_id:
                do_record_care(case.patient_id, case.institution_id, "green_channel", case.pk, at)
            audit(actor, patient_id=case.patient_id, object_type=NODE_OBJECT, object_id=row.pk,
                  action=Action.CREATE, decision=decision, reason=n.code)
    except IntegrityError:
        raise _conflict_after_race(case, n) from None
    return row


def do_correct_node(actor: Actor, case_id, code, at, reason, *, supersedes_id=None, source: str = "") -> NodeTime:
    """A new value for a node, with a reason. The original stays in the history. `supersedes_id` names
    the value being corrected (the one the user saw): when someone corrected it meanwhile, the correction
    is refused as a conflict showing the value now kept, rather than silently overwriting it. A node
    without a value may be recorded this way too (out of order, with the reason)."""
    case, decision = _open_for_nodes(actor, case_id)
    n = _node_of(case, code)
    errors: dict[str, str] = {}
    check_time("at", at, errors=errors)
    reason = clean_text("reason", reason, 200, errors, required=True)
    if "reason" not in errors and len(reason) < 2:
        errors["reason"] = _("Give the reason for the correction.")
    if errors:
        raise ActionError(errors=errors)
    try:
        with transaction.atomic():
            Case.objects.select_for_update().filter(pk=case.pk).values_list("pk", flat=True).first()
            previous = current_nodes(case.pk).get(n.code)
            if previous is not None and supersedes_id != previous.pk:
                if supersedes_id is None:
                    raise ActionError("supersedes_id", _("Name the value you are correcting: %(time)s is "
                                                         "recorded now.") % {"time": local(previous.at)})
                raise NodeConflict(n, previous)
            if previous is None and supersedes_id is not None:
                raise ActionError("supersedes_id", _("This node has no value to correct."))
            if previous is not None and previous.at == at:
                raise ActionError("at", _("That is the time already recorded."))
            row = _insert(actor, case, n, at, supersedes=previous, reason=reason, source=source)
            audit(actor, patient_id=case.patient_id, object_type=NODE_OBJECT, object_id=row.pk,
                  action=Action.UPDATE if previous else Action.CREATE, decision=decision,
                  reason=f"correction of {n.code}")
    except IntegrityError:
        raise _conflict_after_race(case, n) from None
    return row


def mirror_nodes(actor: Actor, case_id: int, times: dict[str, datetime], *, source: str,
                 at: datetime | None = None) -> dict[str, str]:
    """Copy times the 120 side recorded (crew on scene → first medical contact, ambulance arrived → door,
    the crew's ECG taken and transmitted) onto the linked case, so that nothing is typed twice. Called by
    `dispatch` for the station whose call is linked to the case, inside its transaction. A node that has a
    value keeps it, and a time that breaks the order rule is not copied: nothing is overwritten. Returns
    code → "recorded", "kept" (it had a value) or "out_of_order" (also written to the case's events)."""
    outcome: dict[str, str] = {}
    case = Case.objects.select_for_update().filter(pk=case_id, closed_at__isnull=True).first()
    if case is None:
        return outcome
    current = current_nodes(case.pk)
    for code, at in times.items():
        n = node(case.centre, code)
        if n is None or at is None:
            continue
        if code in current:
            outcome[code] = "kept"
            continue
        try:
            check_order(case, n, at, current)
        except ActionError:
            outcome[code] = "out_of_order"
            continue
        try:
            with transaction.atomic():
                current[code] = _insert(actor, case, n, at, source=source)
        except IntegrityError:  # a tablet recorded it a moment ago: that value stands
            outcome[code] = "kept"
            continue
        outcome[code] = "recorded"
        audit(actor, patient_id=case.patient_id, object_type=NODE_OBJECT, object_id=current[code].pk,
              action=Action.CREATE, decision=Decision(Basis.NONE, reason="120 call linked to the case"),
              reason=code)
    if outcome:
        _event(actor, case, "mirrored", at, source=source, nodes=outcome)
    return outcome


# --- direction and closing ------------------------------------------------------------------------------


def _receiving(actor: Actor, case_id) -> tuple[Case, object]:
    _require(actor)
    case, decision = case_for(actor, case_id, action=Action.UPDATE, audit_success=False)
    if case.institution_id != actor.institution_id:
        raise ActionError("case", _("Only the receiving institution may do this."))
    if case.closed_at is not None:
        raise ActionError("case", _("This green channel is closed."))
    return case, decision


def do_direct_bypass(actor: Actor, case_id, to, *, at: datetime | None = None) -> CaseEvent:
    """The receiving team directs the ambulance past the emergency department, straight to the cath lab
    or CT (绕行急诊): an event on the case, read by the bypass indicator. `at`: when it was decided, if not
    now (not before the case was opened)."""
    case, decision = _receiving(actor, case_id)
    if to not in BYPASS_TARGETS[case.centre]:
        raise ActionError("to", _("Not a destination this green channel can go to directly."))
    if at is not None:
        check_since("at", at, case.opened_at)
    with transaction.atomic():
        event = _event(actor, case, "bypass", at, to=to)
        audit(actor, patient_id=case.patient_id, object_type=OBJECT, object_id=case.pk, action=Action.UPDATE,
              decision=decision, reason=f"bypass to {to}")
    return event


def do_close_case(actor: Actor, case_id, disposition, at=None) -> Case:
    """Close the green channel with the patient's disposition; it leaves the live board."""
    case, decision = _receiving(actor, case_id)
    errors: dict[str, str] = {}
    if disposition not in Disposition.values:
        errors["disposition"] = _("Disposition: choose one of the listed outcomes.")
    at = timezone.now() if at is None else check_time("at", at, errors=errors)
    first = min([case.opened_at, *(row.at for row in current_nodes(case.pk).values())])
    if at is not None and at < first:
        errors["at"] = _("A green channel cannot close before its first recorded time.")
    if errors:
        raise ActionError(errors=errors)
    with transaction.atomic():
        if not Case.objects.filter(pk=case.pk, closed_at__isnull=True).update(closed_at=at, disposition=disposition):
            raise ActionError("case", _("This green channel is closed."))
        _event(actor, case, "closed", at, disposition=disposition)
        audit(actor, patient_id=case.patient_id, object_type=OBJECT, object_id=case.pk, action=Action.UPDATE,
              decision=decision, reason="closed")
    case.closed_at, case.disposition = at, disposition
    return case
