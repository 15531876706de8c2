"""Names: normalisation, surname split, pinyin and the "fuzzy" pinyin of southern speakers.

- `normalise("  欧阳　小明 ")` → "欧阳小明": NFKC (full-width letters, digits and spaces become half-width),
  every space removed, the minority-name separators (· • ・ ‧ ∙ ⋅ . ． -) unified as "·".
- `split("欧阳小明")` → ("欧阳", "小明"); `split("阿依古丽·买买提")` → ("买买提", "阿依古丽").
- `syllables(name)`: tone-less pinyin per character (surname readings for the surname: 单 shan, 曾 zeng),
  a run of Latin letters as one lower-case token.
- `fuzzy(syllable)` folds what southern speakers and registrars confuse: zh/z, ch/c, sh/s, n/l,
  ang/an, eng/en, ing/in.
- `sound_key(name)`: each character replaced by its look-alike group's first character (形近字, `data.py`),
  then read and folded: 张/章, 陈/程, 王/汪, 王/玉, 未/末 all get the same key.
"""

import re
import unicodedata
from functools import lru_cache

from pypinyin import Style, lazy_pinyin

from yilian.patients.matching.data import COMPOUND_SURNAMES, GIVEN_READINGS, LOOKALIKE, SURNAME_READINGS

SEPARATORS = re.compile(r"[·•・‧∙⋅.\-‐‑–—]+")
SPACES = re.compile(r"\s+")
# Placeholder names: a newborn registered before naming (张某之子, 张某某之女, 李红之子, 男婴), or an
# unknown person (无名氏). Such a record is never linked automatically.
PLACEHOLDER = re.compile(r"(之子|之女|之男|婴儿?|新生儿)$|^(无名氏|不详|未知)|某")


def is_cjk(ch: str) -> bool:
    return "\u3400" <= ch <= "\u9fff" or "\U00020000" <= ch <= "\U0002ffff"


@lru_cache(maxsize=200_000)
def normalise(raw: str | None) -> str:
    """The name as it should have been typed: half-width, no spaces, one kind of separator dot."""
    if not raw:
        return ""
    text = SPACES.sub("", unicodedata.normalize("NFKC", raw))
    return SEPARATORS.sub("·", text).strip("·")


def bare(name: str) -> str:
    """The normalised name without separators, Latin letters in lower case: what "exact" compares."""
    return name.replace("·", "").lower()


def split(name: str) -> tuple[str, str]:
    """(surname, given name) of a normalised name. A minority name (阿依古丽·买买提) takes its last part as
    the family part; a compound surname (欧阳, 司马, 诸葛, …) keeps two characters."""
    if "·" in name:
        parts = name.split("·")
        return parts[-1], "".join(parts[:-1])
    if not name or not is_cjk(name[0]):
        return "", name
    if len(name) > 2 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    return name[:1], name[1:]


@lru_cache(maxsize=50_000)
def _reading(ch: str, surname: bool) -> str:
    if surname and ch in SURNAME_READINGS:
        return SURNAME_READINGS[ch]
    if not surname and ch in GIVEN_READINGS:
        return GIVEN_READINGS[ch]
    return lazy_pinyin(ch, style=Style.NORMAL, errors="ignore")[0] if is_cjk(ch) else ch


@lru_cache(maxsize=50_000)
def _char(ch: str, surname: bool) -> tuple[str, str]:
    """(pinyin, sound) of one character: its reading, and its look-alike group's reading folded."""
    looks = LOOKALIKE.get(ch, ch)
    return _reading(ch, surname), fuzzy(_reading(looks, surname and looks == ch))


def tokens(name: str) -> tuple[list[str], list[str]]:
    """(pinyin, sound) of a normalised name, one token per character (a Latin run is one token)."""
    if "·" in name:
        surname_length = 0
    else:
        surname, _given = split(name)
        surname_length = len(surname)
    pinyin: list[str] = []
    sound: list[str] = []
    latin = ""
    position = 0
    for ch in name:
        if ch == "·":
            continue
        if is_cjk(ch):
            if latin:
                pinyin.append(latin)
                sound.append(latin)
                latin = ""
            py, so = _char(ch, position < surname_length)
            pinyin.append(py)
            sound.append(so)
        elif ch.isalnum():
            latin += ch.lower()
        position += 1
    if latin:
        pinyin.append(latin)
        sound.append(latin)
    return pinyin, sound


def syllables(name: str) -> list[str]:
    """Tone-less pinyin of a normalised name, one token per character (a Latin run is one token)."""
    return tokens(name)[0]


_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ang", "an"), ("eng", "en"), ("ing", "in"))


@lru_cache(maxsize=5_000)
def fuzzy(syllable: str) -> str:
    """zh/z, ch/c, sh/s, n/l, ang/an, eng/en, ing/in folded (the "fuzzy pinyin" of input methods)."""
    s = syllable
    for long, short in _INITIALS:
        if s.startswith(long):
            s = short + s[2:]
            break
    else:
        if s.startswith("n") and s not in ("n", "ng"):  # 嗯 (n, ng) is no initial
            s = "l" + s[1:]
    for long, short in _FINALS:
        if s.endswith(long):
            return s[: -len(long)] + short
    return s


def sound_tokens(name: str) -> list[str]:
    """Per character: the look-alike group's first character, read, folded."""
    return tokens(name)[1]


def is_placeholder(name: str) -> bool:
    """A temporary name (张某之子, 李红之女, 男婴, 无名氏): never enough for an automatic link."""
    return bool(PLACEHOLDER.search(name))
