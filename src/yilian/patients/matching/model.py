"""The Fellegi–Sunter model: agreement levels per field, their m and u probabilities, two thresholds.

For each field the pair falls into one level; the level adds log2(m/u) to the match weight (m: how often
two records of one person fall into it, u: how often two records of different people do). A missing value
adds 0. The weight maps to a probability through the prior (how likely two random records are one person).
docs/mpi.md explains every figure and how to re-estimate them.

Three rules cap the weight below the upper threshold, whatever the fields say:
- twins: the same birth date (or one slip away) and the same address or phone, but names that no
  registration error explains (a different surname before the same given name is explained: siblings
  share a surname, never a given name);
- placeholder names: a newborn registered as 张某之子/之女/男婴, or an unknown 无名氏;
- two IDs: both records hold a trusted resident ID (right check digit, agreeing with the birth date and
  sex recorded beside it) and the two differ by more than one slip — a father and a son of the same name
  at one address.

`cluster.py` adds the rules that look at whole clusters of linked records.
"""

from math import log2

from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler

from yilian.patients import residentid
from yilian.patients.matching.record import Rec

MISSING = "missing"
FIELDS = ("name", "birth_date", "sex", "phone", "address", "resident_id")
SIMILAR_NAME = 0.88  # Jaro–Winkler over the tone-less pinyin

# field → level → (m, u). Levels in order of decreasing agreement; `missing` (weight 0) is implicit.
PARAMETERS: dict[str, dict[str, tuple[float, float]]] = {
    "name": {
        "exact": (0.76, 4e-5),
        "pinyin": (0.10, 3e-5),  # same syllables, other characters (张/章, 王/汪)
        "fuzzy": (0.065, 3e-5),  # fuzzy pinyin or look-alike characters (陈/程, 王/玉)
        "similar": (0.015, 7e-3),  # Jaro–Winkler of the pinyin ≥ 0.88
        "different": (0.06, 0.993),
    },
    "birth_date": {
        "exact": (0.91, 4.5e-5),
        "swapped": (0.023, 2e-5),  # day and month exchanged
        "one_off": (0.064, 4.5e-3),  # one of year, month, day differs
        "different": (0.003, 0.9955),
    },
    "sex": {
        "same": (0.99, 0.5),
        "different": (0.01, 0.5),
    },
    "phone": {
        "exact": (0.65, 1e-5),
        "last8": (0.07, 5e-6),  # the prefix mistyped
        "different": (0.28, 0.999985),
    },
    "address": {
        "village": (0.75, 2.1e-3),
        "township": (0.13, 0.03),
        "different": (0.12, 0.9679),
    },
    "resident_id": {
        "exact": (0.80, 1e-9),
        "close": (0.14, 1e-5),  # one digit off, or two adjacent digits exchanged (check digit ignored)
        "different": (0.06, 0.99999),
    },
}
PRIOR = 1e-6  # probability that two records drawn at random are one person (county scale)
UPPER = 24.0  # at or above: linked automatically
LOWER = 17.0  # at or above (and below UPPER): sent to review
CAPPED = UPPER - 1.0  # where the rules (twins, newborn, two IDs) leave a pair that scored higher

WEIGHTS: dict[str, dict[str, float]] = {
    field: {level: log2(m / u) for level, (m, u) in levels.items()} | {MISSING: 0.0}
    for field, levels in PARAMETERS.items()
}
PRIOR_WEIGHT = log2(PRIOR / (1 - PRIOR))


def name_level(a: Rec, b: Rec) -> str:
    if not a.name or not b.name:
        return MISSING
    if a.name == b.name:
        return "exact"
    if a.pinyin == b.pinyin:
        return "pinyin"
    if a.fuzzy == b.fuzzy or a.sound == b.sound:
        return "fuzzy"
    if JaroWinkler.similarity(a.pinyin, b.pinyin) >= SIMILAR_NAME:
        return "similar"
    return "different"


def birth_date_level(a: Rec, b: Rec) -> str:
    x, y = a.born, b.born
    if not x or not y:
        return MISSING
    if x == y:
        return "exact"
    if x[:4] == y[:4] and x[4:6] == y[6:8] and x[6:8] == y[4:6]:
        return "swapped"
    if (x[:4] == y[:4]) + (x[4:6] == y[4:6]) + (x[6:8] == y[6:8]) == 2:
        return "one_off"
    return "different"


def sex_level(a: Rec, b: Rec) -> str:
    if not a.sex or not b.sex:
        return MISSING
    return "same" if a.sex == b.sex else "different"


def phone_level(a: Rec, b: Rec) -> str:
    if not a.phone or not b.phone:
        return MISSING
    if a.phone == b.phone:
        return "exact"
    if len(a.phone) >= 8 and len(b.phone) >= 8 and a.phone[-8:] == b.phone[-8:]:
        return "last8"
    return "different"


def address_level(a: Rec, b: Rec) -> str:
    x, y = a.address, b.address
    if x is None or y is None:
        return MISSING
    if x.village and x.village == y.village and (not x.town or not y.town or x.town == y.town):
        return "village"
    if not (x.village or y.village or x.town or y.town) and x.place == y.place:
        return "village"  # the same street address in the county seat
    if x.town and x.town == y.town:
        return "township"
    return "different"


def resident_id_level(a: Rec, b: Rec) -> str:
    x, y = a.resident_id, b.resident_id
    if not x or not y:
        return MISSING
    if x == y:
        return "exact"
    if len(x) == len(y) == 18 and (x[:17] == y[:17] or (
            x[:14] != y[:14] and DamerauLevenshtein.distance(x[:17], y[:17], score_cutoff=1) <= 1)):
        # A slip in the region or date part, or in the check digit. One digit apart in the sequence code
        # (characters 15–17) is what two people born the same day in the same county look like: no evidence.
        return "close"
    return "different"


COMPARE = {
    "name": name_level, "birth_date": birth_date_level, "sex": sex_level, "phone": phone_level,
    "address": address_level, "resident_id": resident_id_level,
}


def trusted_id(rid: str, born: str, sex: str) -> bool:
    """The resident ID could be right: its check digit is right and it agrees with the birth date ("YYYYMMDD")
    and sex ("1"/"2") recorded beside it, where they are recorded (GB 11643 writes both into the number). An
    ID that fails this was mistyped, here or there: it is nobody's number as it stands."""
    if not (len(rid) == 18 and rid[:17].isdigit() and residentid.check_char(rid[:17]) == rid[17]):
        return False
    if born and rid[6:14] != born:
        return False
    return not sex or sex == ("1" if int(rid[16]) % 2 else "2")


def distinct_ids(a: Rec, b: Rec) -> bool:
    """Two trusted resident IDs more than one slip apart: two national numbers, two people. (One slip in the
    sequence code could be a neighbour born the same day or a mistyped number: the fields decide.)"""
    x, y = a.resident_id, b.resident_id
    return (x != y and trusted_id(x, a.born, a.sex) and trusted_id(y, b.born, b.sex)
            and DamerauLevenshtein.distance(x[:17], y[:17], score_cutoff=2) > 1)


def surname_slip(a: Rec, b: Rec) -> bool:
    """The given names sound alike and the surnames do not: a slip in the surname, not two siblings."""
    return bool(a.given_sound) and a.given_sound == b.given_sound and a.surname_sound != b.surname_sound


def rule_for(agreement: dict[str, str], *, placeholder: bool, two_ids: bool, surname_slip: bool = False) -> str:
    """The rule that keeps the pair below the upper threshold, or "": "newborn" (`placeholder`: either record
    has a placeholder name), "twins" (unless `surname_slip`), or "two_ids" (`two_ids`: `distinct_ids`)."""
    if placeholder:
        return "newborn"
    if (agreement["birth_date"] in ("exact", "swapped", "one_off") and agreement["name"] in ("similar", "different")
            and (agreement["address"] in ("village", "township") or agreement["phone"] in ("exact", "last8"))
            and not surname_slip):
        return "twins"  # (a slip in one twin's birth date must not defeat the rule)
    if two_ids:
        return "two_ids"
    return ""


def weigh(agreement: dict[str, str], rule: str = "") -> float:
    weight = sum(WEIGHTS[field][agreement[field]] for field in FIELDS)
    return min(weight, CAPPED) if rule else weight


def probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** -(weight + PRIOR_WEIGHT))


def band(weight: float) -> str:
    return "link" if weight >= UPPER else "review" if weight >= LOWER else "weak"


def score_records(a: Rec, b: Rec) -> tuple[float, float, dict[str, str]]:
    """(match weight, probability, agreement) of two records; agreement names the level of each field, and
    "rule" ("twins" / "newborn") when a rule capped the weight."""
    return weigh_levels(a, b, {field: COMPARE[field](a, b) for field in FIELDS})


def weigh_levels(a: Rec, b: Rec, agreement: dict[str, str]) -> tuple[float, float, dict[str, str]]:
    """(match weight, probability, agreement) of two records whose levels are known (`agreement`, field →
    level, as `score_records` or Splink's comparison vectors give them): the rules applied, "rule" added
    to the agreement when one capped the weight."""
    rule = rule_for(agreement, placeholder=a.placeholder or b.placeholder,
                    two_ids=agreement["resident_id"] == "different" and distinct_ids(a, b),
                    surname_slip=surname_slip(a, b))
    weight = weigh(agreement, rule)
    if rule:
        agreement["rule"] = rule
    return weight, probability(weight), agreement
