"""Blocking keys: the few values two records of one person very likely share even when typed differently.

Online search reads only the patients that share a key with the probe (table `patients.MatchKey`); the
batch linkage compares only the pairs that share one. Each key tolerates the common errors of the others:

| key | made of | survives |
|---|---|---|
| `id:` | resident ID, first 17 characters | a wrong check digit |
| `ph:` | last 8 digits of the phone | a mistyped prefix |
| `sb:` | sound of the surname + birth date (day/month in sorted order) | given-name errors, day/month swap |
| `gb:` | sound of the given name + birth date (sorted) | surname errors beyond the tables, swap |
| `ny:` | sound of the whole name + birth year | month or day wrong, swap |
| `nm:` | sound of the whole name + month and day (sorted) | year wrong, swap |

"Sound" is the look-alike-folded fuzzy pinyin of `names.sound_tokens`, so homophones (张/章), fuzzy
pairs (陈/程, 刘/牛) and look-alikes (王/玉) share every name key. Keys hold identifiers: they live only in
the MatchKey table (and the batch linkage's memory) and are never logged or printed.
"""

from yilian.patients.matching.record import Rec

MAX_KEY = 80
KINDS = ("id", "ph", "sb", "gb", "ny", "nm")


def _md(born: str) -> str:
    month, day = born[4:6], born[6:8]
    return month + day if month <= day else day + month


def _squash(sound: str) -> str:
    return sound.replace(" ", "")[:60]


def keys_by_kind(rec: Rec) -> dict[str, str]:
    """Kind → key (kinds a record lacks the fields for are left out)."""
    out: dict[str, str] = {}
    if len(rec.resident_id) >= 15:
        out["id"] = "id:" + rec.resident_id[:17]
    if len(rec.phone) >= 8:
        out["ph"] = "ph:" + rec.phone[-8:]
    born = rec.born
    if born:
        md = _md(born)
        if rec.surname_sound:
            out["sb"] = f"sb:{_squash(rec.surname_sound)}:{born[:4]}{md}"
        if rec.given_sound:
            out["gb"] = f"gb:{_squash(rec.given_sound)}:{born[:4]}{md}"
        if rec.sound:
            out["ny"] = f"ny:{_squash(rec.sound)}:{born[:4]}"
            out["nm"] = f"nm:{_squash(rec.sound)}:{md}"
    return {kind: key[:MAX_KEY] for kind, key in out.items()}


def keys_of(rec: Rec) -> set[str]:
    return set(keys_by_kind(rec).values())
