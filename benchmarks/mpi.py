"""Benchmark: the master patient index — batch linkage and online candidate search on a synthetic register.

Generates N patient records of a synthetic county with known duplicates (the error model is documented in
`yilian.patients.matching.synthetic`: homophone and look-alike characters, mistyped resident IDs with valid
and broken check digits, day/month swaps, changed phones, moved addresses, missing fields; 30 % of people
registered 2–4 times), writes them straight into a private SQLite database (benchmark data: a bulk insert,
not the registration action, so that a million rows load in seconds; the generator makes IDs that the
action would refuse, as legacy imports do), builds the blocking keys (`yilian mpi index`), runs the batch
linkage (`yilian mpi link`) and scores it against the ground truth, then times `search_candidates` for
new registrations of existing people against the full index.

Prints `key=value` lines (counts, seconds, rates; never a name, an ID or a phone):
records, people, true_pairs, index_seconds, seconds (batch linkage), linked, pending;
precision, recall, f1: pairwise over the patients the automatic links make — every pair of records that
the links join, directly or through others, as the merges that follow them do (`merged_pairs`,
`false_merged_pairs`) — against the truth; pair_precision, pair_recall, pair_f1: the linked pairs alone;
review_recall (true pairs merged or queued); p50_ms, p95_ms (online search), search_top1, search_top10
(the person among the candidates).

    .venv/bin/python benchmarks/mpi.py --quick                # 20,000 records, under a minute
    .venv/bin/python benchmarks/mpi.py --records 200000
    .venv/bin/python benchmarks/mpi.py                        # 1,000,000 records
    .venv/bin/python benchmarks/mpi.py --quick --engine python   # DuckDB blocking + the Python scorer
    .venv/bin/python benchmarks/mpi.py --quick --engine both     # both, on the same data
"""

import argparse
import collections
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def setup(var: Path) -> None:
    os.environ["YILIAN_VAR"] = str(var)
    os.environ.setdefault("YILIAN_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "yilian.settings"
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def insert(records) -> list[int]:
    """Bulk insert (benchmark data): ids 1..N in the order of `records`."""
    from django.db import connection, transaction
    from django.utils import timezone

    from yilian.patients.models import Patient
    from yilian.testing.factories import make_network

    institution = make_network().village.pk
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    rows = [(i, r.name, r.sex, r.birth_date.isoformat(), r.resident_id, r.phone, r.address, institution, now)
            for i, r in enumerate(records, start=1)]
    table = Patient._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            f"INSERT INTO {table} (id, name, sex, birth_date, resident_id, phone, address, registered_at_id, "  # noqa: S608
            "created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)", rows)
    return [row[0] for row in rows]


def ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def clusters(linked: set[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every pair of records the linked pairs make one patient (the merges follow the links transitively)."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in linked:
        parent[find(a)] = find(b)
    groups: dict[int, list[int]] = collections.defaultdict(list)
    for x in parent:
        groups[find(x)].append(x)
    out = set()
    for members in groups.values():
        members.sort()
        out.update((a, b) for i, a in enumerate(members) for b in members[i + 1:])
    return out


def scores(predicted: set, truth: set) -> tuple[float, float, float]:
    tp = len(predicted & truth)
    precision, recall = ratio(tp, len(predicted)), ratio(tp, len(truth))
    return precision, recall, f1(precision, recall)


def evaluate(records, ids, explain: bool) -> dict[str, str]:
    from yilian.patients.matching.synthetic import true_pairs
    from yilian.patients.models import LinkCandidate

    truth = true_pairs(records, ids)
    person = {pk: r.pid for r, pk in zip(records, ids, strict=True)}
    linked, pending = set(), set()
    patterns: dict[str, collections.Counter] = {"fp": collections.Counter(), "pending_true": collections.Counter()}
    rules: collections.Counter = collections.Counter()
    weights = []
    for left, right, status, agreement, weight in LinkCandidate.objects.values_list(
            "left_id", "right_id", "status", "agreement", "match_weight"):
        pair = (left, right)
        same = person[left] == person[right]
        weights.append((-1.0 if "rule" in agreement else weight, same))
        rules[(agreement.get("rule", "-"), same)] += 1
        if status == "linked":
            linked.add(pair)
            if not same:
                patterns["fp"][" ".join(f"{k}={v}" for k, v in sorted(agreement.items()))] += 1
        else:
            pending.add(pair)
            if same:
                patterns["pending_true"][" ".join(f"{k}={v}" for k, v in sorted(agreement.items()))] += 1
    merged = clusters(linked)
    precision, recall, f = scores(merged, truth)
    pair_precision, pair_recall, pair_f = scores(linked, truth)
    out = {
        "true_pairs": str(len(truth)),
        "linked": str(len(linked)),
        "pending": str(len(pending)),
        "pending_true": str(len(pending & truth)),
        "merged_pairs": str(len(merged)),
        "precision": f"{precision:.4f}",
        "recall": f"{recall:.4f}",
        "f1": f"{f:.4f}",
        "false_merged_pairs": str(len(merged - truth)),
        "pair_precision": f"{pair_precision:.4f}",
        "pair_recall": f"{pair_recall:.4f}",
        "pair_f1": f"{pair_f:.4f}",
        "review_recall": f"{ratio(len((merged | pending) & truth), len(truth)):.4f}",
    }
    if explain:
        for upper in range(20, 36):  # direct links only: the cluster rules are not re-run for each threshold
            tp_u = sum(1 for w, same in weights if w >= upper and same)
            all_u = sum(1 for w, _same in weights if w >= upper)
            p_u, r_u = ratio(tp_u, all_u), ratio(tp_u, len(truth))
            print(f"# sweep pairs upper={upper} fp={all_u - tp_u} precision={p_u:.5f} recall={r_u:.4f} "
                  f"f1={f1(p_u, r_u):.4f}")
        for (rule, same), count in sorted(rules.items()):
            print(f"# rule {rule} {'same person' if same else 'two people'}: {count}")
        missed = truth - merged - pending
        by_error: collections.Counter = collections.Counter()
        errors = {pk: tuple(r.errors) for r, pk in zip(records, ids, strict=True)}
        for a, b in missed:
            by_error[" + ".join(sorted(set(errors[a]) | set(errors[b]))) or "(none)"] += 1
        for kind, counter in (*patterns.items(), ("missed_by_errors", by_error)):
            for pattern, count in counter.most_common(12):
                print(f"# {kind} {count}: {pattern}")
    return out


def search(gen, records, ids, probes: int) -> dict[str, str]:
    from yilian.patients.matching import Probe, search_candidates

    person = {pk: r.pid for r, pk in zip(records, ids, strict=True)}
    present = sorted({r.pid for r in records})
    rng = random.Random(7)
    timings, top1, top10 = [], 0, 0
    for pid in rng.sample(present, min(probes, len(present))):
        r = gen.probe_of(gen.people[pid])
        probe = Probe(name=r.name, sex=r.sex, birth_date=r.birth_date, resident_id=r.resident_id or "",
                      phone=r.phone, address=r.address)
        started = time.perf_counter()
        found = search_candidates(probe, limit=10)
        timings.append((time.perf_counter() - started) * 1000)
        top1 += bool(found) and person[found[0].patient_id] == pid
        top10 += any(person[c.patient_id] == pid for c in found)
    timings.sort()
    return {
        "searches": str(len(timings)),
        "p50_ms": f"{statistics.median(timings):.2f}",
        "p95_ms": f"{timings[int(len(timings) * 0.95) - 1]:.2f}",
        "search_top1": f"{ratio(top1, len(timings)):.4f}",
        "search_top10": f"{ratio(top10, len(timings)):.4f}",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20,000 records")
    parser.add_argument("--records", type=int, default=None, help="number of records (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--engine", choices=("splink", "python", "both"), default="splink",
                        help="the batch scorer; both: Splink, then the Python scorer on the same data")
    parser.add_argument("--searches", type=int, default=None, help="online searches to time (default 1,000)")
    parser.add_argument("--explain", action="store_true", help="print agreement patterns of the errors")
    parser.add_argument("--keep", type=Path, default=None, help="keep the database in this directory")
    args = parser.parse_args()
    n = args.records or (20_000 if args.quick else 1_000_000)
    searches = args.searches or (300 if args.quick else 1000)
    with tempfile.TemporaryDirectory(prefix="yilian-mpi-") as tmp:
        var = args.keep or Path(tmp)
        var.mkdir(parents=True, exist_ok=True)
        setup(var)
        from yilian.patients.linkage import do_link_all
        from yilian.patients.matching.search import do_index_all
        from yilian.patients.matching.synthetic import generate
        from yilian.patients.models import LinkCandidate

        started = time.perf_counter()
        gen, records = generate(n, seed=args.seed)
        print(f"records={len(records)}")
        print(f"people={len({r.pid for r in records})}")
        print(f"generate_seconds={time.perf_counter() - started:.1f}", flush=True)
        started = time.perf_counter()
        ids = insert(records)
        print(f"insert_seconds={time.perf_counter() - started:.1f}", flush=True)
        started = time.perf_counter()
        keys = do_index_all()
        print(f"index_keys={keys}")
        print(f"index_seconds={time.perf_counter() - started:.1f}", flush=True)
        engines = ["splink", "python"] if args.engine == "both" else [args.engine]
        for n, engine in enumerate(engines):
            prefix = "" if n == 0 else f"{engine}_"  # the first engine's figures are the headline ones
            if n:
                LinkCandidate.objects.all().delete()  # benchmark data: the second engine starts afresh
            run = do_link_all(engine=engine, progress=lambda line: print(f"# {line}", flush=True))
            print(f"{prefix}engine={engine}")
            print(f"{prefix}seconds={run.seconds:.1f}", flush=True)
            for key, value in evaluate(records, ids, args.explain and not n).items():
                print(f"{prefix}{key}={value}")
        for key, value in search(gen, records, ids, searches).items():
            print(f"{key}={value}")
        size = sum(p.stat().st_size for p in var.glob("yilian.sqlite3*"))
        print(f"sqlite_megabytes={size / 1e6:.0f}")


if __name__ == "__main__":
    main()
