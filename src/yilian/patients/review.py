"""The review queue: pairs the batch linkage scored between its two thresholds, decided by a person.

The master patient index desk (`patients.stewardship`) sees each pair side by side, masked, with the
agreement pattern, and decides *same person* (the pair is merged) or *different people*. The decision is
stored on the `LinkCandidate` and the pair is never asked again. Every record shown is audited (object type
"link-candidate"), and so is every decision.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import audit_row
from yilian.access.models import Action, AuditEvent
from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.roles import Cap
from yilian.patients.identifiers import masked_identifiers
from yilian.patients.masking import mask_address
from yilian.patients.merging import apply_merge, check_merge, choose_survivor
from yilian.patients.models import LinkCandidate, LinkStatus, Merge, Patient
from yilian.patients.stewardship import check_steward, consortium_id


@dataclass
class Masked:
    """One record as the desk sees it."""

    id: int
    name: str
    sex: str
    birth_date: object
    resident_id: str
    phone: str
    address: str
    registered_at: str
    registered_on: object
    identifiers: list[dict] = field(default_factory=list)


@dataclass
class Pair:
    candidate: LinkCandidate
    left: Masked  # the patients the pair's records stand for now (see `pending`)
    right: Masked
    suggested_survivor: int
    merged_since: list[tuple[int, int]] = field(default_factory=list)  # (record scored, merged into) since

    @property
    def agreement(self) -> list[tuple[str, str]]:
        return sorted((self.candidate.agreement or {}).items())


def masked(patient: Patient, identifiers: list[dict] | None = None) -> Masked:
    return Masked(
        id=patient.pk, name=patient.masked_name, sex=patient.get_sex_display(), birth_date=patient.birth_date,
        resident_id=patient.masked_resident_id, phone=patient.masked_phone, address=mask_address(patient.address),
        registered_at=patient.registered_at.short_name, registered_on=timezone.localtime(patient.created_at).date(),
        identifiers=identifiers or [],
    )


def pending(actor: Actor) -> QuerySet[LinkCandidate]:
    """The open pairs of the actor's consortium that are still two patients. A record merged since the pair
    was scored stands for its survivor (merges are one hop deep): the pair stays in the queue and is
    shown, and decided, as the two patients it is now."""
    merged_left, merged_right = Q(left__merged_into__isnull=False), Q(right__merged_into__isnull=False)
    one_patient = (Q(left__merged_into=F("right_id")) | Q(right__merged_into=F("left_id"))
                   | (merged_left & merged_right & Q(left__merged_into=F("right__merged_into"))))
    return (LinkCandidate.objects.filter(status=LinkStatus.PENDING,
                                         left__registered_at__consortium_id=consortium_id(actor))
            .exclude(one_patient)
            .select_related("left__registered_at", "right__registered_at", "left__merged_into__registered_at",
                            "right__merged_into__registered_at"))


def now(patient: Patient) -> Patient:
    """The patient a record stands for now: itself, or the survivor it was merged into."""
    return patient.merged_into if patient.merged_into_id else patient


def _pairs(candidates: list[LinkCandidate]) -> list[Pair]:
    sides = [(now(c.left), now(c.right)) for c in candidates]
    idents = masked_identifiers([p.pk for pair in sides for p in pair])
    out = []
    for c, (left, right) in zip(candidates, sides, strict=True):
        survivor, _merged = choose_survivor(left, right)
        out.append(Pair(c, masked(left, idents.get(left.pk)), masked(right, idents.get(right.pk)), survivor.pk,
                        merged_since=[(r.pk, r.merged_into_id) for r in (c.left, c.right) if r.merged_into_id]))
    return out


def _audit_shown(actor: Actor, candidates: list[LinkCandidate], action: str = Action.READ, reason: str = "") -> None:
    AuditEvent.objects.bulk_create([
        audit_row(actor, patient_id=pid, object_type="link-candidate", object_id=c.pk, action=action,
                  reason=reason or "link review (masked)")
        for c in candidates for pid in (now(c.left).pk, now(c.right).pk)
    ])


def review_queue(actor: Actor, limit: int = 50, offset: int = 0) -> tuple[list[Pair], int]:
    """A page of open pairs, strongest first, and how many are open; each record shown is audited."""
    check_steward(actor, Cap.LINK_REVIEW)
    queryset = pending(actor)
    page = list(queryset.order_by("-match_weight", "pk")[offset:offset + limit])
    _audit_shown(actor, page)
    return _pairs(page), queryset.count()


def _candidate(actor: Actor, candidate_id) -> LinkCandidate:
    try:
        pk = int(candidate_id)
    except (TypeError, ValueError):
        pk = 0
    candidate = pending(actor).filter(pk=pk).first() if 0 < pk < 2**63 else None
    if candidate is None:
        raise ActionError("candidate", _("This pair is not waiting for review (decided already, or unknown)."))
    return candidate


def review_pair(actor: Actor, candidate_id) -> Pair:
    """One open pair, side by side; both records shown are audited."""
    check_steward(actor, Cap.LINK_REVIEW)
    candidate = _candidate(actor, candidate_id)
    _audit_shown(actor, [candidate])
    return _pairs([candidate])[0]


def do_decide_link(actor: Actor, candidate_id, same: bool, survivor_id=None, confirm: bool = False) -> LinkCandidate:
    """Record the decision on the pair (one audit row per record); *same person* merges the pair, keeping
    `survivor_id` (by default the record with a resident ID, else the older one)."""
    check_steward(actor, Cap.LINK_REVIEW)
    candidate = _candidate(actor, candidate_id)
    plan = None
    if same:
        check_steward(actor, Cap.MERGE)
        left, right = now(candidate.left), now(candidate.right)
        pair = {left.pk: left, right.pk: right}
        if survivor_id in (None, ""):
            survivor = choose_survivor(left, right)[0]
        else:
            try:
                survivor = pair[int(survivor_id)]
            except (TypeError, ValueError, KeyError):
                raise ActionError("survivor_id", _("Keep one of the two records of the pair.")) from None
        merged = right if survivor.pk == left.pk else left
        plan = check_merge(actor, survivor.pk, merged.pk, reason=f"link review #{candidate.pk}", confirm=confirm)
    status = LinkStatus.SAME if same else LinkStatus.DIFFERENT
    m = actor.membership
    with transaction.atomic():
        updated = LinkCandidate.objects.filter(pk=candidate.pk, status=LinkStatus.PENDING).update(
            status=status, decided_at=timezone.now(), decided_by_membership_id=m.pk if m else None)
        if updated != 1:
            raise ActionError("candidate", _("This pair is not waiting for review (decided already, or unknown)."))
        _audit_shown(actor, [candidate], Action.UPDATE, "same person" if same else "different people")
        if plan is not None:
            apply_merge(actor, plan)
    candidate.refresh_from_db()
    return candidate


@dataclass
class MergeShown:
    merge: Merge
    survivor: Masked
    merged: Masked


def recent_merges(actor: Actor, limit: int = 50) -> list[MergeShown]:
    """The latest merges in the actor's consortium (undone ones included), masked; each record shown is
    audited (object type "merge")."""
    check_steward(actor, Cap.MERGE)
    rows = list(Merge.objects.filter(survivor__registered_at__consortium_id=consortium_id(actor))
                .select_related("survivor__registered_at", "merged__registered_at")
                .order_by("-merged_at", "-pk")[:limit])
    AuditEvent.objects.bulk_create([
        audit_row(actor, patient_id=pid, object_type="merge", object_id=m.pk, reason="merge list (masked)")
        for m in rows for pid in (m.survivor_id, m.merged_id)
    ])
    return [MergeShown(m, masked(m.survivor), masked(m.merged)) for m in rows]
