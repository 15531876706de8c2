"""Re-estimating the model's m and u from the register (`yilian mpi estimate`).

- u: the share of each level among random pairs of live records (two records drawn at random are almost
  always two people), counted over the pairs where the field is present on both sides;
- m: the same shares among the pairs reviewers decided were one person (`LinkCandidate` "same"); while
  there are fewer than `MIN_DECIDED` of them, among the automatically linked pairs too — flagged, because
  those agree by construction and overstate the agreeing levels.

The figures are printed next to the current ones (`model.PARAMETERS`); changing the model stays a
reviewed code change.
"""

import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from yilian.patients.matching.model import COMPARE, FIELDS, MISSING, PARAMETERS
from yilian.patients.matching.record import Builder, Rec

MIN_DECIDED = 200


@dataclass
class Estimate:
    field: str
    level: str
    m: float | None
    u: float | None
    m_pairs: int  # pairs the m share is counted over (field present on both sides)
    u_pairs: int


def _shares(pairs: Sequence[tuple[Rec, Rec]]) -> dict[str, tuple[Counter, int]]:
    out = {}
    for field in FIELDS:
        counts = Counter(COMPARE[field](a, b) for a, b in pairs)
        present = sum(n for level, n in counts.items() if level != MISSING)
        out[field] = (counts, present)
    return out


def estimate(rows: Sequence[tuple], matched: Sequence[tuple[int, int]], *, pairs: int = 200_000,
             seed: int = 0) -> list[Estimate]:
    """`rows`: (name, sex, birth date, resident ID, phone, address) of the live records; `matched`: pairs
    of row indices known (or taken) to be one person."""
    build = Builder().record
    recs = [build(*row) for row in rows]
    rng = random.Random(seed)
    randoms = []
    while len(recs) > 1 and len(randoms) < pairs:
        i, j = rng.randrange(len(recs)), rng.randrange(len(recs))
        if i != j:
            randoms.append((recs[i], recs[j]))
    u_shares = _shares(randoms)
    m_shares = _shares([(recs[i], recs[j]) for i, j in matched])
    out = []
    for field in FIELDS:
        (u_counts, u_present), (m_counts, m_present) = u_shares[field], m_shares[field]
        for level in PARAMETERS[field]:
            out.append(Estimate(field, level, m_counts[level] / m_present if m_present else None,
                                u_counts[level] / u_present if u_present else None, m_present, u_present))
    return out
