"""Patient matching for the master patient index: normalised names and pinyin, agreement levels, a
Fellegi–Sunter score, blocking keys, and online candidate search (docs/mpi.md).

The public names:
- `match_keys(patient_like) -> set[str]`
- `do_index_patients(patient_ids)`
- `Probe`, `Candidate`, `search_candidates(probe, *, limit=10, exclude_ids=())`
- `score_pair(a, b) -> (match_weight, probability, agreement)`
- `UPPER`, `LOWER` (thresholds), `FIELDS`
"""

from yilian.patients.matching.model import FIELDS, LOWER, UPPER
from yilian.patients.matching.search import (
    Candidate,
    Probe,
    do_index_patients,
    match_keys,
    score_pair,
    search_candidates,
)

__all__ = ["FIELDS", "LOWER", "UPPER", "Candidate", "Probe", "do_index_patients", "match_keys", "score_pair",
           "search_candidates"]
