"""Merge and unmerge: two records found to be one person.

A merge keeps the survivor and moves every row that points at the merged record to it — found generically
from the foreign keys to `Patient` (encounters, care relationships, grants, break-glass, identifiers, records
merged earlier into the merged one, and whatever later apps add) — and records each row moved in
`Merge.moved` (model label → [[pk, field], …]), so that unmerge puts exactly those rows back. The merged
record stays, with `merged_into` pointing at the survivor: lookups of it answer with that pointer.

Not moved: `Merge` rows (the history itself), `LinkCandidate` rows (decisions stay as they were taken),
`MatchKey` rows (derived: both records are re-indexed) and `QrToken` rows (the card in the person's pocket
keeps working: a scan follows `merged_into`).

Who: the master patient index desk (`patients.stewardship`); the batch linkage applies its automatic links
as the SYSTEM actor (`do_apply_links`). Twins, newborn placeholder names, resident IDs that no typing error
explains and different sexes with different names are never merged without a person confirming.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.apps import apps
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.access.gate import audit_row
from yilian.access.models import Action, AuditEvent
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM, Actor
from yilian.network.roles import Cap
from yilian.patients.matching import cluster
from yilian.patients.matching.model import CAPPED, score_records, trusted_id
from yilian.patients.matching.record import record_of
from yilian.patients.models import Identifier, IdentifierType, LinkCandidate, LinkStatus, Merge, Patient
from yilian.patients.stewardship import check_steward

NOT_MOVED = frozenset({"patients.Merge", "patients.LinkCandidate", "patients.MatchKey", "patients.QrToken"})
CHUNK = 500


def references() -> list[tuple[type[models.Model], models.ForeignKey]]:
    """Every (model, foreign key) that points at a patient and follows a merge."""
    out = []
    for rel in Patient._meta.get_fields(include_hidden=True):
        if not (rel.auto_created and not rel.concrete and (rel.one_to_many or rel.one_to_one)):
            continue
        if rel.related_model._meta.label in NOT_MOVED:
            continue
        out.append((rel.related_model, rel.field))
    return sorted(out, key=lambda mf: (mf[0]._meta.label, mf[1].name))


def survivor_id(patient_id: int) -> int:
    """The record that stands for `patient_id` now: itself, or the one it was merged into."""
    current = patient_id
    for _hop in range(20):  # merges are kept one hop deep (see `_move`); the bound only guards a cycle
        nxt = Patient.objects.filter(pk=current).values_list("merged_into_id", flat=True).first()
        if nxt is None:
            return current
        current = nxt
    return current


# --- checks -------------------------------------------------------------------------------------------------


def _ids(patient: Patient, rec) -> set[tuple[str, bool]]:
    """(resident ID, trusted) of the record and of the resident IDs it took over in earlier merges."""
    values = set(Identifier.objects.filter(patient=patient, type=IdentifierType.RESIDENT_ID)
                 .values_list("value", flat=True))
    if rec.resident_id:
        values.add(rec.resident_id)
    return {(v, trusted_id(v, rec.born, rec.sex)) for v in values}


def concerns(survivor: Patient, merged: Patient) -> list[str]:
    """Why two records may be two people although they look alike; each needs a person to confirm. The rules
    are the batch linkage's (`matching.model.rule_for` for the pair, `matching.cluster` for what the merged
    patient would hold), so the merge step never refuses a link the linkage made."""
    a, b = record_of(survivor), record_of(merged)
    _weight, _probability, agreement = score_records(a, b)
    out = []
    if agreement.get("rule") == "twins":
        out.append(_("Same birth date and the same address or phone, but names no typing error explains: "
                     "these may be twins."))
    if agreement.get("rule") == "newborn":
        out.append(_("A name is a placeholder (a newborn not yet named, or an unknown person)."))
    rule = cluster.conflict({a.sex, b.sex} - {""}, _ids(survivor, a) | _ids(merged, b),
                            names_agree=agreement["name"] in cluster.NAMES_AGREE)
    if agreement.get("rule") == "two_ids" or rule == "ids":
        out.append(_("The records carry different resident IDs that no typing error explains."))
    if rule == "sexes":
        out.append(_("The records have different sexes and different names."))
    return out


@dataclass(frozen=True)
class Plan:
    survivor: Patient
    merged: Patient
    reason: str
    concerns: tuple[str, ...]


def _id(value) -> int | None:
    try:
        value = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return value if 0 < value < 2**63 else None


def check_merge(actor: Actor, survivor_id, merged_id, reason: str = "", confirm: bool = False, *,
                system: bool = False) -> Plan:
    if not system:
        check_steward(actor, Cap.MERGE)
    errors: dict[str, str] = {}
    ids = {"survivor_id": _id(survivor_id), "merged_id": _id(merged_id)}
    found = {p.pk: p for p in Patient.objects.filter(pk__in=[i for i in ids.values() if i])}
    records = {}
    for field, pk in ids.items():
        if pk is None or pk not in found:
            errors[field] = _("No such patient record.")
        elif found[pk].merged_into_id is not None:
            errors[field] = _("This record has already been merged into another one.")
        else:
            records[field] = found[pk]
    if ids["survivor_id"] is not None and ids["survivor_id"] == ids["merged_id"]:
        errors["merged_id"] = _("A record cannot be merged into itself.")
    reason = (reason or "").strip()
    if len(reason) > 200:
        errors["reason"] = _("Reason: at most 200 characters.")
    elif any(ord(c) < 32 for c in reason):
        errors["reason"] = _("Reason: text only, without control characters.")
    if errors:
        raise ActionError(errors=errors)
    survivor, merged = records["survivor_id"], records["merged_id"]
    if merged.resident_id and not survivor.resident_id:
        raise ActionError("survivor_id", _("Keep the record that carries the resident ID."))
    worries = concerns(survivor, merged)
    if worries and not confirm:
        raise ActionError("confirm", " ".join(worries) + " " + _("Confirm to merge anyway."))
    return Plan(survivor, merged, reason, tuple(worries))


# --- merge --------------------------------------------------------------------------------------------------


def _move(merged_id: int, survivor_id: int) -> dict[str, list[list]]:
    moved: dict[str, list[list]] = {}
    for model, field in references():
        manager = model._base_manager
        pks = sorted(manager.filter(**{field.attname: merged_id}).values_list("pk", flat=True))
        for start in range(0, len(pks), CHUNK):
            manager.filter(pk__in=pks[start:start + CHUNK]).update(**{field.attname: survivor_id})
        if pks:
            moved.setdefault(model._meta.label, []).extend([pk, field.name] for pk in pks)
    return moved


def _reindex(*patient_ids: int) -> None:
    from yilian.patients import matching

    matching.do_index_patients(list(patient_ids))


def _audit_both(actor: Actor, merge: Merge, reason: str) -> None:
    AuditEvent.objects.bulk_create([
        audit_row(actor, patient_id=pid, object_type="merge", object_id=merge.pk, action=Action.UPDATE,
                  reason=reason)
        for pid in (merge.survivor_id, merge.merged_id)
    ])


def _lock(*patient_ids: int) -> dict[int, Patient]:
    """Lock both records, always in id order (no deadlock between two merges of the same pair)."""
    return {p.pk: p for p in Patient.objects.select_for_update().filter(pk__in=patient_ids).order_by("pk")}


def apply_merge(actor: Actor, plan: Plan) -> Merge:
    """The write of a merge whose checks passed (`check_merge`): lock, move, record, audit, re-index."""
    s_id, m_id = plan.survivor.pk, plan.merged.pk
    with transaction.atomic():
        locked = _lock(s_id, m_id)
        if any(p.merged_into_id is not None for p in locked.values()):  # another merge got there first
            raise ActionError("merged_id", _("This record has already been merged into another one."))
        moved = _move(m_id, s_id)
        Patient.objects.filter(pk=m_id).update(merged_into_id=s_id)
        m = actor.membership
        try:
            with transaction.atomic():
                merge = Merge.objects.create(survivor_id=s_id, merged_id=m_id, reason=plan.reason, moved=moved,
                                             merged_at=timezone.now(), merged_by_membership_id=m.pk if m else None)
        except IntegrityError:
            raise ActionError("merged_id", _("This record has already been merged into another one.")) from None
        _audit_both(actor, merge, f"merged #{m_id} into #{s_id}" + (" (confirmed)" if plan.concerns else ""))
        _reindex(s_id, m_id)
    return merge


def do_merge(actor: Actor, survivor_id, merged_id, reason: str = "", confirm: bool = False) -> Merge:
    """Merge `merged_id` into `survivor_id`: every row that pointed at it now points at the survivor."""
    return apply_merge(actor, check_merge(actor, survivor_id, merged_id, reason, confirm))


def do_unmerge(actor: Actor, merge_id) -> Merge:
    """Undo a merge: the rows it moved point at the merged record again, which is a record of its own once
    more. Rows created on the survivor since stay with it. The last merge into a record is undone first."""
    check_steward(actor, Cap.MERGE)
    pk = _id(merge_id)
    with transaction.atomic():
        merge = Merge.objects.select_for_update().filter(pk=pk).first() if pk else None
        if merge is None:
            raise ActionError("merge_id", _("No such merge."))
        if merge.unmerged_at is not None:
            raise ActionError("merge_id", _("This merge has already been undone."))
        locked = _lock(merge.survivor_id, merge.merged_id)
        if locked[merge.survivor_id].merged_into_id is not None:
            raise ActionError("merge_id", _("The surviving record has since been merged into another one; undo "
                                            "that merge first."))
        for label, rows in merge.moved.items():
            model = apps.get_model(label)
            by_field: dict[str, list[int]] = defaultdict(list)
            for row_pk, field in rows:
                by_field[field].append(row_pk)
            for field, pks in by_field.items():
                attname = model._meta.get_field(field).attname
                for start in range(0, len(pks), CHUNK):
                    model._base_manager.filter(pk__in=pks[start:start + CHUNK], **{attname: merge.survivor_id}
                                               ).update(**{attname: merge.merged_id})
        Patient.objects.filter(pk=merge.merged_id).update(merged_into_id=None)
        m = actor.membership
        merge.unmerged_at = timezone.now()
        merge.unmerged_by_membership_id = m.pk if m else None
        merge.save(update_fields=["unmerged_at", "unmerged_by_membership_id"])
        _audit_both(actor, merge, f"unmerged #{merge.merged_id} from #{merge.survivor_id}")
        _reindex(merge.survivor_id, merge.merged_id)
    return merge


# --- the batch linkage's automatic links ------------------------------------------------------------------


def choose_survivor(a: Patient, b: Patient) -> tuple[Patient, Patient]:
    """(survivor, merged): the record with a trusted resident ID, else one with any resident ID, else the one
    registered first."""
    def rank(p: Patient) -> tuple:
        rec = record_of(p)
        return (not (rec.resident_id and cluster.trusted_id(rec)), not rec.resident_id, p.created_at, p.pk)

    return (a, b) if rank(a) <= rank(b) else (b, a)


@dataclass
class Applied:
    merged: int = 0
    to_review: int = 0  # refused for a concern: sent to the review queue
    skipped: int = 0  # already one record


def _refuse(pk: int) -> None:
    """A linked pair the merge refuses goes to the review queue with the rule "refused", which later runs of
    the linkage keep (`linkage._write`): it is never linked again without a person."""
    candidate = LinkCandidate.objects.filter(pk=pk, status=LinkStatus.LINKED).first()
    if candidate is not None:
        candidate.status = LinkStatus.PENDING
        candidate.match_weight = min(candidate.match_weight, CAPPED)
        candidate.agreement = {**candidate.agreement, "rule": "refused"}
        candidate.save(update_fields=["status", "match_weight", "agreement"])


def do_apply_links(actor: Actor = SYSTEM) -> Applied:
    """Merge the pairs the batch linkage linked automatically (status "linked"), strongest first. The linkage
    already kept apart what a merge refuses (`matching.cluster`), so refusals are rare (the register changed
    since the run); a refused pair goes to the review queue: it is never merged without a person."""
    out = Applied()
    pairs = list(LinkCandidate.objects.filter(status=LinkStatus.LINKED).order_by("-match_weight", "pk")
                 .values_list("pk", "left_id", "right_id"))
    for pk, left, right in pairs:
        a, b = survivor_id(left), survivor_id(right)
        if a == b:
            out.skipped += 1
            continue
        records = {p.pk: p for p in Patient.objects.filter(pk__in=[a, b])}
        survivor, merged = choose_survivor(records[a], records[b])
        try:
            plan = check_merge(actor, survivor.pk, merged.pk, reason="batch linkage", system=True)
        except ActionError:
            _refuse(pk)
            out.to_review += 1
            continue
        try:
            apply_merge(actor, plan)
        except ActionError:  # merged meanwhile by someone else
            out.skipped += 1
            continue
        out.merged += 1
    return out
