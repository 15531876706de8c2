"""Reads of green-channel cases, with the access scope.

A case with an identified patient is seen under the gate's rules for that patient (care relationship,
grant — the pre-arrival notice grants one —, break-glass). A case whose patient is not identified yet
holds no identity: it is seen by the receiving institution and by the institution that opened it (the
crew's station or the sending member), and by nobody else. Either way one audit row per access, and
missing and forbidden answer the same 404.
"""

from django.http import Http404

from yilian.access.gate import MAX_ID, Decision, audit, decide
from yilian.access.models import Action, Basis, Outcome
from yilian.emergency.models import Case, CaseEvent, NodeTime, PrearrivalNotice
from yilian.emergency.nodes import nodes_of
from yilian.network.acting import Actor
from yilian.network.roles import Cap

OBJECT = "green-channel"
UNIDENTIFIED = "green channel, patient not identified yet"


def decide_case(actor: Actor, case: Case) -> Decision | None:
    """Why the actor may see the case now, or None."""
    if not actor.can(Cap.CLINICAL):
        return None
    if case.patient_id is not None:
        return decide(actor, case.patient_id)
    if actor.institution_id in (case.institution_id, case.opened_by_institution_id):
        return Decision(Basis.NONE, reason=UNIDENTIFIED)
    return None


def _parse(case_id) -> int | None:
    try:
        value = int(case_id)
    except (TypeError, ValueError):
        return None
    return value if 0 < value <= MAX_ID else None


def case_for(actor: Actor, case_id, *, action: str = Action.READ, audit_success: bool = True,
             object_type: str = OBJECT) -> tuple[Case, Decision]:
    """The case and why the actor may see it; Http404 (audited as denied) when it is missing or not theirs.

    `audit_success=False` for a write: the action writes the audit row of the write itself."""
    pk = _parse(case_id)
    case = Case.objects.filter(pk=pk).first() if pk is not None else None
    decision = decide_case(actor, case) if case is not None else None
    if case is None or decision is None:
        audit(actor, patient_id=case.patient_id if case else None, object_type=object_type,
              object_id=pk if pk is not None else str(case_id)[:40], action=action, outcome=Outcome.DENIED)
        raise Http404
    if audit_success:
        audit(actor, patient_id=case.patient_id, object_type=object_type, object_id=case.pk, action=action,
              decision=decision)
    return case, decision


def current_nodes(case_id: int) -> dict[str, NodeTime]:
    """The current value of each recorded node of a case: the rows nobody corrected."""
    return {row.node: row for row in NodeTime.objects.filter(case_id=case_id, corrected_by__isnull=True)}


def timeline(case: Case) -> list[dict]:
    """Each node of the case's centre in order: its current row (or None) and its history (every row,
    corrections included, oldest first)."""
    rows = list(NodeTime.objects.filter(case=case).order_by("recorded_at", "pk"))
    corrected = {r.supersedes_id for r in rows if r.supersedes_id}
    out = []
    for node in nodes_of(case.centre):
        history = [r for r in rows if r.node == node.code]
        current = next((r for r in history if r.pk not in corrected), None)
        out.append({"node": node, "current": current, "history": history})
    return out


def case_events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case))


def notices(case: Case) -> list[PrearrivalNotice]:
    return list(PrearrivalNotice.objects.filter(case=case))


def call_of(case: Case):
    """The 120 call linked to the case, or None."""
    from yilian.emergency.models import EmsCall

    return EmsCall.objects.filter(case=case).first()
