"""From scored pairs to people: which automatic links the merge step may follow.

Links are transitive: when A–B and B–C are linked, the merges make A, B and C one patient, even if A and C
alone looked too different (each extra registration brings its own typing errors). So the linkage decides
per *cluster*, not per pair. Pairs at or above the upper threshold are taken strongest first, and each joins
two clusters unless the joined cluster would hold

- both sexes ("sexes"), unless the pair that joins them agrees on the name (a typing error in the sex:
  a brother and a sister are never given one name), or
- two resident IDs that cannot both be this person's ("ids"): two different IDs that are both *trusted*
  (right check digit, and agreeing with the birth date and sex recorded beside them), or an untrusted one
  more than two slips away from another (or one, if the other is trusted). An untrusted ID near the
  person's ID is a typing error of it; the merge keeps it on the survivor, as lookups by it found this
  person's record before the merge too; or
- a pair the model holds back ("apart": twins, a placeholder name or two IDs, `model.rule_for`) among the
  scored pairs.

A pair that would join such clusters stays below the upper threshold: it goes to the review queue, with the
reason, and a person decides. A pair whose two records are already in one cluster is linked (the merges make
them one patient anyway). The same rules guard every merge (`merging.concerns`), so the merge step follows
the links without surprises, and a later run reaches the same decisions.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz.distance import DamerauLevenshtein

from yilian.patients.matching import model
from yilian.patients.matching.record import Rec

CLUSTER_RULES = ("sexes", "ids", "apart")
NAMES_AGREE = ("exact", "pinyin", "fuzzy")


def trusted_id(rec: Rec) -> bool:
    return model.trusted_id(rec.resident_id, rec.born, rec.sex)


def ids_compatible(x: tuple[str, bool], y: tuple[str, bool]) -> bool:
    """Two (resident ID, trusted) that one person's records may carry: the same ID, or two IDs that typing
    errors explain — one slip apart, or two slips apart when at most one of them is trusted. Two trusted IDs
    more than one slip apart are two national numbers: two people."""
    if x[0] == y[0]:
        return True
    slips = 1 if x[1] and y[1] else 2
    return len(x[0]) == len(y[0]) and DamerauLevenshtein.distance(x[0][:17], y[0][:17], score_cutoff=slips) <= slips


def conflict(sexes: set[str], ids: set[tuple[str, bool]], *, names_agree: bool = False) -> str:
    """The cluster rule that a group of records with these sexes and (resident ID, trusted) breaks, or "".
    Both sexes are allowed when the names agree (`names_agree`): a brother and a sister never share a name."""
    if {"1", "2"} <= sexes and not names_agree:
        return "sexes"
    listed = sorted(ids)
    for i, x in enumerate(listed):
        for y in listed[i + 1:]:
            if not ids_compatible(x, y):
                return "ids"
    return ""


@dataclass
class _Group:
    members: list[int]
    sexes: set[str]
    ids: set[tuple[str, bool]]


class Clusters:
    """Union–find over record indices, each group with what the rules look at."""

    def __init__(self, recs: Sequence[Rec]) -> None:
        self.recs = recs
        self.parent: dict[int, int] = {}
        self.groups: dict[int, _Group] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        if x not in parent:
            rec = self.recs[x]
            parent[x] = x
            ids = {(rec.resident_id, trusted_id(rec))} if rec.resident_id else set()
            self.groups[x] = _Group([x], {rec.sex} if rec.sex else set(), ids)
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def join(self, a: int, b: int, held: set[tuple[int, int]], *, names_agree: bool = False) -> str:
        """Join the clusters of a and b; "" when joined (or already one), else the rule that forbids it.
        `names_agree`: the names of a and b agree (same, same sound, or look-alike)."""
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ""
        ga, gb = self.groups[ra], self.groups[rb]
        if ga.sexes != gb.sexes and ga.sexes and gb.sexes and not names_agree:  # (most joins skip both tests)
            return "sexes"
        if ga.ids != gb.ids and ga.ids and gb.ids and conflict(set(), ga.ids | gb.ids):
            return "ids"
        if held:
            for x in ga.members:
                for y in gb.members:
                    if (x, y) in held or (y, x) in held:
                        return "apart"
        if len(ga.members) < len(gb.members):
            ra, rb, ga, gb = rb, ra, gb, ga
        self.parent[rb] = ra
        ga.members += gb.members
        ga.sexes |= gb.sexes
        ga.ids |= gb.ids
        del self.groups[rb]
        return ""


def resolve(pairs: Iterable[tuple[int, int, float, dict[str, str]]], recs: Sequence[Rec]
            ) -> dict[tuple[int, int], str]:
    """For every pair (left, right, weight, agreement) at or above the upper threshold without a rule: "" if
    it links, or the rule that sends it to review: "sexes", "ids", or "apart" (the joined cluster would
    contain a pair the model holds back: twins, a placeholder name, two IDs). Pairs below the threshold or
    with a rule are left out of the answer."""
    held: set[tuple[int, int]] = set()
    strong = []
    upper = model.UPPER
    for a, b, w, agreement in pairs:
        if a > b:
            a, b = b, a
        if agreement.get("rule"):
            held.add((a, b))
        elif w >= upper:
            strong.append((-w, a, b, agreement["name"] in NAMES_AGREE))
    strong.sort()
    clusters = Clusters(recs)
    return {(a, b): clusters.join(a, b, held, names_agree=agree) for _w, a, b, agree in strong}
