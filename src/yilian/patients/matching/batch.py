"""Batch linkage over the whole register, in DuckDB: the records' features as one table, blocking on the
same keys as the online search, two interchangeable scorers that give the same agreement levels, then the
cluster rules (`cluster.py`) over the strong pairs. The scorers:

- `splink` (the default): Splink 5 on DuckDB, its comparisons written in SQL (`splink_model.py`) to mirror
  `model.py`;
- `python`: DuckDB finds the blocked pairs, `model.score_records` scores each one in Python.

Either way the weight, the twins/newborn/two-IDs rules and the band come from `model.py`, so a pair scores
the same in the batch as in the online search (until a cluster rule holds it back). docs/mpi.md compares the two on the benchmark.

Input rows are `(name, sex, birth_date, resident_id, phone, address)`; results name them by row index.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from yilian.patients.matching import cluster
from yilian.patients.matching.keys import KINDS, keys_by_kind
from yilian.patients.matching.model import (
    FIELDS,
    LOWER,
    probability,
    score_records,
    weigh,
    weigh_levels,
)
from yilian.patients.matching.record import Builder, Rec

MAX_BLOCK = 200  # a blocking key shared by more records than this is left out (a placeholder phone, …)
ENGINES = ("splink", "python")
Progress = Callable[[str], None]
Row = tuple  # (name, sex, birth_date, resident_id, phone, address)


@dataclass(frozen=True)
class Scored:
    left: int  # row index
    right: int
    weight: float
    probability: float
    agreement: dict[str, str]


def _columns(recs: Sequence[Rec], offset: int = 0) -> dict[str, list]:
    columns = {
        "unique_id": list(range(offset, offset + len(recs))),
        "name": [r.name or None for r in recs],
        "pinyin": [r.pinyin for r in recs],
        "fuzzy": [r.fuzzy for r in recs],
        "sound": [r.sound for r in recs],
        "sex": [r.sex or None for r in recs],
        "born": [r.born or None for r in recs],
        "phone": [r.phone or None for r in recs],
        "addr": [None if r.address is None else "1" for r in recs],
        "town": [r.address.town if r.address else "" for r in recs],
        "village": [r.address.village if r.address else "" for r in recs],
        "place": [r.address.place if r.address else "" for r in recs],
        "rid": [r.resident_id or None for r in recs],
    }
    keys = [keys_by_kind(r) for r in recs]
    for kind in KINDS:
        columns[f"k_{kind}"] = [k.get(kind) for k in keys]
    return columns


def features_table(recs: Sequence[Rec]) -> pa.Table:
    """One row per record: `unique_id` (the index), the compared features, the blocking keys."""
    return pa.table(_columns(recs))


def _scalar(con: duckdb.DuckDBPyConnection, sql: str):
    return con.execute(sql).fetchall()[0][0]  # fetchall: DuckDB 2 refuses new work while a result is open


def load(con: duckdb.DuckDBPyConnection, table: pa.Table) -> dict[str, int]:
    """Create table `recs` in `con`; keys shared by more than MAX_BLOCK records are dropped. Returns the
    number of dropped keys per kind."""
    con.register("features", table)
    con.execute("CREATE OR REPLACE TABLE recs AS SELECT * FROM features")
    con.unregister("features")
    dropped = {}
    for kind in KINDS:
        column = f"k_{kind}"
        big = (f"SELECT {column} FROM recs WHERE {column} IS NOT NULL "  # noqa: S608
               f"GROUP BY {column} HAVING count(*) > {MAX_BLOCK}")
        dropped[kind] = _scalar(con, f"SELECT count(*) FROM ({big})")  # noqa: S608
        if dropped[kind]:
            con.execute(f"UPDATE recs SET {column} = NULL WHERE {column} IN ({big})")  # noqa: S608
    return dropped


def blocked_pairs(con: duckdb.DuckDBPyConnection) -> int:
    """Table `pairs (l, r)`: every pair of records (l < r) that shares at least one blocking key."""
    union = " UNION ALL ".join(
        f"SELECT a.unique_id AS l, b.unique_id AS r FROM recs a JOIN recs b "  # noqa: S608
        f"ON a.k_{kind} = b.k_{kind} AND a.unique_id < b.unique_id" for kind in KINDS)
    con.execute(f"CREATE OR REPLACE TABLE pairs AS SELECT DISTINCT l, r FROM ({union})")  # noqa: S608
    return _scalar(con, "SELECT count(*) FROM pairs")


def score_python(con: duckdb.DuckDBPyConnection, recs: Sequence[Rec], progress: Progress) -> list[Scored]:
    started = time.perf_counter()
    total = blocked_pairs(con)
    progress(f"blocked pairs: {total} ({time.perf_counter() - started:.1f} s)")
    out: list[Scored] = []
    cursor = con.execute("SELECT l, r FROM pairs")
    while batch := cursor.fetchmany(200_000):
        for left, right in batch:
            weight, prob, agreement = score_records(recs[left], recs[right])
            if weight >= LOWER:
                out.append(Scored(left, right, weight, prob, agreement))
    return out


def score_splink(con: duckdb.DuckDBPyConnection, recs: Sequence[Rec], progress: Progress) -> list[Scored]:
    from splink import DuckDBAPI, Linker

    from yilian.patients.matching.splink_model import LEVELS, THRESHOLD, settings

    logging.getLogger("splink").setLevel(logging.WARNING)
    linker = Linker(DuckDBAPI(con).register("recs"), settings(), log_level=None)
    started = time.perf_counter()
    predictions = linker.inference.predict(threshold_match_weight=THRESHOLD, warning_mode="never")
    gammas = ", ".join(f"gamma_{f}" for f in FIELDS)
    rows = con.execute(f"SELECT unique_id_l, unique_id_r, {gammas} "  # noqa: S608
                       f"FROM {predictions.physical_name}").fetchall()
    progress(f"splink predict: {len(rows)} pairs at or above the review threshold "
             f"({time.perf_counter() - started:.1f} s)")
    out: list[Scored] = []
    for left, right, *gamma in rows:
        agreement = {f: LEVELS[f][g] for f, g in zip(FIELDS, gamma, strict=True)}
        weight, prob, agreement = weigh_levels(recs[left], recs[right], agreement)
        if weight >= LOWER:
            out.append(Scored(min(left, right), max(left, right), weight, prob, agreement))
    predictions.drop_table_from_database_and_remove_from_cache()
    return out


def link(rows: Sequence[Row], *, engine: str = "splink", progress: Progress = lambda _line: None,
         threads: int | None = None) -> list[Scored]:
    """Every pair of rows (indices, left < right) whose weight reaches the review threshold."""
    if engine not in ENGINES:
        raise ValueError(engine)
    started = time.perf_counter()
    build = Builder().record  # remembers every name and address for the run
    recs = [build(*row) for row in rows]
    table = features_table(recs)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        dropped = load(con, table)
        del table
        progress(f"features: {len(rows)} records, keys over {MAX_BLOCK} records left out: "
                 + ", ".join(f"{k} {v}" for k, v in dropped.items()) + f" ({time.perf_counter() - started:.1f} s)")
        scored = score_python(con, recs, progress) if engine == "python" else score_splink(con, recs, progress)
    finally:
        con.close()
    return hold(scored, recs, progress)


def hold(scored: list[Scored], recs: Sequence[Rec], progress: Progress) -> list[Scored]:
    """The cluster rules (`cluster.resolve`): a strong pair that would join two records the rules keep apart
    is capped below the upper threshold, with the rule, like a pair the model holds back."""
    started = time.perf_counter()
    decided = cluster.resolve(((s.left, s.right, s.weight, s.agreement) for s in scored), recs)
    out = []
    for s in scored:
        rule = decided.get((s.left, s.right), "")
        if rule:
            weight = weigh(s.agreement, rule)
            s = Scored(s.left, s.right, weight, probability(weight), s.agreement | {"rule": rule})
        out.append(s)
    held = sum(1 for rule in decided.values() if rule)
    progress(f"clusters: {len(decided) - held} strong pairs linked, {held} held for review "
             f"({time.perf_counter() - started:.1f} s)")
    return out
