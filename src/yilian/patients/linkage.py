"""Batch linkage (`yilian mpi link`): score every pair of live records that shares a blocking key, record the
pairs above the review threshold as link candidates.

- weight ≥ UPPER: status "linked" (`merging.do_apply_links` merges them; `yilian mpi link` runs it next);
- LOWER ≤ weight < UPPER: status "pending" (the review queue), including strong pairs a rule holds back
  (the model's and the cluster rules', `matching.cluster`) and pairs a merge once refused;
- a pair that already has a decision ("same" / "different") is never rewritten: the decision is kept and
  never asked again; an undecided pair gets the new scores; a pending pair this run no longer finds is
  removed from the queue;
- merged records (`merged_into` set) take no part.

Progress lines carry counts and seconds only, never a name, an identifier or a phone.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from yilian.access.gate import audit
from yilian.access.models import Action
from yilian.network.acting import SYSTEM, Actor
from yilian.patients.matching import batch, estimate
from yilian.patients.matching.model import CAPPED, UPPER, probability
from yilian.patients.models import LinkCandidate, LinkStatus, Patient

DECIDED = (LinkStatus.SAME, LinkStatus.DIFFERENT)
WRITE_BATCH = 10_000


@dataclass
class LinkRun:
    records: int = 0
    pairs: int = 0  # pairs at or above the review threshold
    linked: int = 0
    pending: int = 0
    kept: int = 0  # pairs found again that already had a decision: left as they were
    removed: int = 0  # pending pairs this run no longer finds
    seconds: float = 0.0


def load_rows() -> tuple[list[int], list[tuple]]:
    """Ids and matched fields (name, sex, birth date, resident ID, phone, address) of every live (not
    merged) patient, in id order."""
    table = Patient._meta.db_table
    ids: list[int] = []
    rows: list[tuple] = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, name, sex, birth_date, resident_id, phone, address FROM {table} "  # noqa: S608
                       "WHERE merged_into_id IS NULL ORDER BY id")
        while chunk := cursor.fetchmany(50_000):
            for pk, *values in chunk:
                ids.append(pk)
                rows.append(tuple(values))
    return ids, rows


def _json_param() -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def _write(ids: list[int], scored: list[batch.Scored], run: LinkRun) -> None:
    """Insert new candidates, refresh undecided ones, keep decided ones, drop pending ones not found again."""
    table = LinkCandidate._meta.db_table
    existing = {(left, right): (pk, status, source) for pk, left, right, status, source in
                LinkCandidate.objects.values_list("pk", "left_id", "right_id", "status", "source").iterator(10_000)}
    refused = set(LinkCandidate.objects.filter(status=LinkStatus.PENDING, agreement__rule="refused")
                  .values_list("left_id", "right_id"))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    inserts, updates, found = [], [], set()
    for s in scored:
        pair = (ids[s.left], ids[s.right]) if ids[s.left] < ids[s.right] else (ids[s.right], ids[s.left])
        found.add(pair)
        if pair in refused and s.weight >= UPPER:  # the merge refused it once: it waits for a person
            s = batch.Scored(s.left, s.right, CAPPED, probability(CAPPED), s.agreement | {"rule": "refused"})
        status = LinkStatus.LINKED if s.weight >= UPPER else LinkStatus.PENDING
        values = (s.weight, s.probability, json.dumps(s.agreement, sort_keys=True), str(status))
        if pair in existing:
            pk, old_status, _source = existing[pair]
            if old_status in DECIDED:
                run.kept += 1
                continue
            updates.append((*values, pk))
        else:
            inserts.append((*pair, *values, "batch", now))
        run.linked += status == LinkStatus.LINKED
        run.pending += status == LinkStatus.PENDING
    live = set(ids)
    stale = [pk for pair, (pk, status, source) in existing.items()
             if status == LinkStatus.PENDING and source == "batch" and pair not in found
             and pair[0] in live and pair[1] in live]
    inserts.sort()  # in key order: SQLite appends to its indexes instead of scattering pages
    json_param = _json_param()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":  # a big page cache for the bulk writes of this connection
            cursor.execute("PRAGMA cache_size = -262144")
        for start in range(0, len(inserts), WRITE_BATCH):
            cursor.executemany(
                f"INSERT INTO {table} (left_id, right_id, match_weight, probability, agreement, status, source, "  # noqa: S608
                f"created_at) VALUES (%s, %s, %s, %s, {json_param}, %s, %s, %s)", inserts[start:start + WRITE_BATCH])
        for start in range(0, len(updates), WRITE_BATCH):
            cursor.executemany(
                f"UPDATE {table} SET match_weight = %s, probability = %s, agreement = {json_param}, status = %s "  # noqa: S608
                "WHERE id = %s", updates[start:start + WRITE_BATCH])
    for start in range(0, len(stale), WRITE_BATCH):
        LinkCandidate.objects.filter(pk__in=stale[start:start + WRITE_BATCH]).delete()
    run.removed = len(stale)


def do_link_all(actor: Actor = SYSTEM, *, engine: str = "splink", threads: int | None = None,
                progress: Callable[[str], None] | None = None) -> LinkRun:
    """Link the whole register (see the module docstring); one audit row for the run."""
    say = progress or (lambda _line: None)
    run = LinkRun()
    started = time.perf_counter()
    ids, rows = load_rows()
    run.records = len(ids)
    say(f"read {run.records} records ({time.perf_counter() - started:.1f} s)")
    scored = batch.link(rows, engine=engine, progress=say, threads=threads)
    del rows
    run.pairs = len(scored)
    step = time.perf_counter()
    with transaction.atomic():
        _write(ids, scored, run)
        audit(actor, patient_id=None, object_type="mpi_link", object_id="", action=Action.UPDATE,
              reason=f"batch linkage ({engine}): {run.records} records, {run.linked} linked, "
                     f"{run.pending} for review, {run.kept} decided pairs kept, {run.removed} removed")
    say(f"wrote {run.linked} linked and {run.pending} pending pairs, kept {run.kept} decided, removed "
        f"{run.removed} stale ({time.perf_counter() - step:.1f} s)")
    run.seconds = time.perf_counter() - started
    return run


def estimate_parameters(pairs: int = 200_000, seed: int = 0) -> tuple[list[estimate.Estimate], str]:
    """m and u re-estimated from the register (see `matching.estimate`), and where m came from: "decided"
    (pairs reviewers found to be one person) or "decided+linked" (too few decisions yet)."""
    ids, rows = load_rows()
    index = {pk: i for i, pk in enumerate(ids)}
    statuses = [LinkStatus.SAME]
    if LinkCandidate.objects.filter(status=LinkStatus.SAME).count() < estimate.MIN_DECIDED:
        statuses.append(LinkStatus.LINKED)
    matched = [(index[left], index[right]) for left, right in
               LinkCandidate.objects.filter(status__in=statuses).values_list("left_id", "right_id")
               if left in index and right in index]
    source = "decided" if len(statuses) == 1 else "decided+linked"
    return estimate.estimate(rows, matched, pairs=pairs, seed=seed), source
