"""Online matching: index patients' blocking keys, find and score the candidates for a probe.

These functions return ids and scores only, never patient data: the caller decides what the acting user
may see and writes the audit rows.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from django.db import connection, transaction

from yilian.patients.matching.keys import keys_of
from yilian.patients.matching.model import band, score_records
from yilian.patients.matching.record import Builder, Rec, record_from_values, record_of
from yilian.patients.models import MatchKey, Patient

MAX_BLOCK = 200  # a key shared by more patients than this (a clinic's own phone typed for everyone) is skipped
CHUNK = 5000
VALUES = ("pk", "name", "sex", "birth_date", "resident_id", "phone", "address")


@dataclass
class Probe:
    """What a registrar typed: search before create."""

    name: str
    sex: str = ""
    birth_date: date | None = None
    resident_id: str = ""
    phone: str = ""
    address: str = ""


@dataclass(frozen=True)
class Candidate:
    patient_id: int
    match_weight: float
    probability: float
    agreement: dict[str, str] = field(default_factory=dict)  # field → level name (+ "rule" if one applied)
    band: str = "weak"  # "link" | "review" | "weak"


def _rec(x) -> Rec:
    return x if isinstance(x, Rec) else record_of(x)


def match_keys(patient_like) -> set[str]:
    """The blocking keys of a record (anything with the Patient attributes), as the MatchKey table stores them."""
    return keys_of(_rec(patient_like))


def score_pair(a, b) -> tuple[float, float, dict[str, str]]:
    """(match weight, probability, agreement) of two Patient-like records."""
    return score_records(_rec(a), _rec(b))


def _chunks(ids: list[int], size: int = CHUNK):
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def do_index_patients(patient_ids: Iterable[int]) -> int:
    """(Re)write the MatchKey rows of these patients, in one transaction; a merged record gets none (it is
    found through its survivor). Returns the number of keys written."""
    ids = sorted(set(patient_ids))
    table, column = MatchKey._meta.db_table, connection.ops.quote_name("key")
    written = 0
    with transaction.atomic():
        for chunk in _chunks(ids):
            MatchKey.objects.filter(patient_id__in=chunk).delete()
            rows = (Patient.objects.filter(pk__in=chunk, merged_into__isnull=True).values_list(*VALUES)
                    .order_by("pk"))
            pairs = [(pk, key) for pk, *values in rows for key in sorted(keys_of(record_from_values(*values)))]
            if pairs:
                with connection.cursor() as cursor:
                    cursor.executemany(f"INSERT INTO {table} (patient_id, {column}) VALUES (%s, %s)", pairs)  # noqa: S608
            written += len(pairs)
    return written


def do_index_all(progress=None, chunk: int = 50_000) -> int:
    """Rewrite the whole MatchKey table (`yilian mpi index`), in one transaction. Returns the keys written."""
    table, column = MatchKey._meta.db_table, connection.ops.quote_name("key")
    written = 0
    build = Builder().record  # remembers every name and address for the run
    with transaction.atomic():
        if connection.vendor == "sqlite":  # a big page cache for the bulk writes of this connection
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA cache_size = -262144")
        MatchKey.objects.all().delete()
        last = 0
        while True:
            rows = list(Patient.objects.filter(pk__gt=last, merged_into__isnull=True).order_by("pk")
                        .values_list(*VALUES)[:chunk])
            if not rows:
                break
            last = rows[-1][0]
            pairs = [(pk, key) for pk, *values in rows for key in sorted(keys_of(build(*values)))]
            with connection.cursor() as cursor:
                cursor.executemany(f"INSERT INTO {table} (patient_id, {column}) VALUES (%s, %s)", pairs)  # noqa: S608
            written += len(pairs)
            if progress:
                progress(f"indexed up to patient #{last}: {written} keys")
    return written


def _sharing(keys: set[str]) -> set[int]:
    found: set[int] = set()
    for key in sorted(keys):
        ids = list(MatchKey.objects.filter(key=key).values_list("patient_id", flat=True)[:MAX_BLOCK + 1])
        if len(ids) <= MAX_BLOCK:
            found.update(ids)
    return found


def search_candidates(probe, *, limit: int = 10, exclude_ids: Iterable[int] = ()) -> list[Candidate]:
    """The patients (not merged) that share a blocking key with the probe, scored, best first."""
    rec = _rec(probe)
    ids = _sharing(keys_of(rec)) - set(exclude_ids)
    if not ids:
        return []
    candidates = []
    for chunk in _chunks(sorted(ids)):
        for pk, *values in Patient.objects.filter(pk__in=chunk, merged_into__isnull=True).values_list(*VALUES):
            weight, probability, agreement = score_records(rec, record_from_values(*values))
            candidates.append(Candidate(pk, weight, probability, agreement, band(weight)))
    candidates.sort(key=lambda c: (-c.match_weight, c.patient_id))
    return candidates[:limit]
