"""The clocks of the live board and the tablet page, and the board's rows (reads only).

Each centre has one clock that matters most, from the hospital door to its target node, with the
standard's limits: chest pain door → wire crossing, amber at 60 and red at 90 minutes (D-to-W ≤ 90,
中国胸痛中心认证标准); stroke door → thrombolysis bolus, amber at 45 and red at 60 (DNT ≤ 60, advanced
≤ 45); trauma, critical maternal and neonatal door → key intervention, amber at 30 and red at 60 (the
"golden hour": Yilian's default, no national limit). Before the door the clock counts from the
pre-arrival notice (or the opening) and stays neutral.

The board lists every open case of the consortium. A case the acting member may see shows the patient's
masked name and links to its tablet page (each such patient audited, one row per patient shown); any
other case shows only its centre, institution, arrival mode and clock — no patient data.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone

from yilian.access.gate import audit_many, decide_many
from yilian.emergency.models import Case, NodeTime, PrearrivalNotice
from yilian.emergency.nodes import next_nodes, node
from yilian.network.acting import Actor
from yilian.network.models import Institution
from yilian.network.roles import Cap

BOARD_LIMIT = 200


@dataclass(frozen=True)
class Clock:
    end: str
    amber: int
    red: int


CLOCKS = {
    "chest_pain": Clock("wire_crossing", 60, 90),
    "stroke": Clock("thrombolysis_bolus", 45, 60),
    "trauma": Clock("key_intervention", 30, 60),
    "maternal": Clock("key_intervention", 30, 60),
    "neonatal": Clock("key_intervention", 30, 60),
}


def clock(case: Case, nodes: dict[str, datetime], now: datetime, before_door: datetime | None = None) -> dict:
    """The case's clock: from the door (or, before it, from `before_door`) to now or to the target node."""
    rule = CLOCKS[case.centre]
    door = nodes.get("door")
    start = door or before_door or case.opened_at
    end = nodes.get(rule.end) if door else None
    minutes = max(0, int(((end or now) - start).total_seconds() // 60))
    state = "waiting" if door is None else "red" if minutes >= rule.red else "amber" if minutes >= rule.amber else "ok"
    target = node(case.centre, rule.end)
    return {"since": start, "since_iso": start.astimezone(UTC).replace(microsecond=0).isoformat(), "minutes": minutes, "running": end is None, "state": state, "arrived": door is not None,
            "target": target.name if target else "", "amber": rule.amber, "red": rule.red}


def current_times(case_ids) -> dict[int, dict[str, datetime]]:
    out: dict[int, dict[str, datetime]] = {pk: {} for pk in case_ids}
    rows = NodeTime.objects.filter(case_id__in=list(out), corrected_by__isnull=True).values_list("case_id", "node", "at")
    for case_id, code, at in rows:
        out[case_id][code] = at
    return out


def first_notices(case_ids) -> dict[int, datetime]:
    out: dict[int, datetime] = {}
    for case_id, sent_at in PrearrivalNotice.objects.filter(case_id__in=list(case_ids)).order_by("sent_at").values_list(
            "case_id", "sent_at"):
        out.setdefault(case_id, sent_at)
    return out


def board_rows(actor: Actor) -> list[dict]:
    """Every open case of the actor's consortium, oldest first, with its clock; patient details only where
    the actor may see them."""
    from yilian.patients.models import Patient

    consortium = Institution.objects.filter(pk=actor.institution_id).values("consortium_id")[:1]
    cases = list(Case.objects.filter(closed_at__isnull=True, institution__consortium_id__in=consortium)
                 .select_related("institution").order_by("opened_at", "pk")[:BOARD_LIMIT])
    ids = [c.pk for c in cases]
    times, notices, now = current_times(ids), first_notices(ids), timezone.now()
    clinical = actor.can(Cap.CLINICAL)
    seen = decide_many(actor, {c.patient_id for c in cases if c.patient_id}) if clinical else {}
    names = {p.pk: p.masked_name for p in Patient.objects.filter(pk__in=list(seen))}
    rows = []
    for case in cases:
        if case.patient_id:
            visible = case.patient_id in seen
        else:
            visible = clinical and actor.institution_id in (case.institution_id, case.opened_by_institution_id)
        nodes = times[case.pk]
        rows.append({
            "case": case, "visible": visible, "href": reverse("emergency:case", args=[case.pk]) if visible else "", "name": names.get(case.patient_id, "") if visible else "",
            "unidentified": case.patient_id is None, "clock": clock(case, nodes, now, notices.get(case.pk)),
            "next": [n.name for n in next_nodes(case.centre, nodes)[:2]] if visible else [],
        })
    shown = [r["case"].patient_id for r in rows if r["visible"] and r["case"].patient_id]
    if shown:  # an unidentified case carries no patient: nothing to audit
        audit_many(actor, shown, object_type="green-channel-board", decisions=seen)
    return rows
