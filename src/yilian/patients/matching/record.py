"""What the matcher knows about one record: its fields normalised once, ready to compare and to block on.

`record_of(x)` takes anything with the Patient attributes (`name`, `sex`, `birth_date`, `resident_id`,
`phone`, `address`): a Patient, a `Probe`, a `NewPatient`. `record_from_values(...)` takes the raw values.
A `Builder` remembers the names and addresses it has analysed: the batch linkage and the index builder use
one for a run; online calls share one that remembers the last 20,000.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from yilian.patients import residentid
from yilian.patients.matching import names

_NON_DIGITS = re.compile(r"\D")
# Administrative parts of an address, in order: 河北省 邯郸市 杏林县 柳营镇 张家庄村 (then the house number).
_ADDRESS_PART = re.compile(
    r".+?(?:特别行政区|自治区|自治州|自治县|自治旗|街道办事处|街道|居委会|村委会|社区|省|市|州|盟|县|区|旗|镇|乡|苏木|村|嘎查)")
_TOWN_SUFFIXES = ("镇", "乡", "街道", "街道办事处", "苏木")
_VILLAGE_SUFFIXES = ("村", "社区", "居委会", "村委会", "嘎查")


@dataclass(slots=True, frozen=True)
class Address:
    town: str  # 柳营镇, or ""
    village: str  # 张家庄村, or ""
    place: str  # what follows the county when neither was found (人民路118号), or ""


@dataclass(slots=True)
class Rec:
    name: str  # normalised, no separators: what "exact" compares
    pinyin: str  # tone-less syllables, space-separated
    fuzzy: str  # fuzzy syllables (zh/z, n/l, ang/an, …), space-separated
    sound: str  # look-alikes folded first, then fuzzy syllables: what the name keys are made of
    surname_sound: str
    given_sound: str
    placeholder: bool  # 张某之子, 男婴, 无名氏
    sex: str  # "1" / "2", or "" when unknown
    born: str  # "YYYYMMDD", or ""
    phone: str  # digits only, or ""
    address: Address | None
    resident_id: str  # normalised, or ""


NameParts = tuple[str, str, str, str, str, str, bool]


def name_parts(raw: str) -> NameParts:
    name = names.normalise(raw)
    surname, given = names.split(name)
    syllables, sound = names.tokens(name)
    if "·" in name:  # family part last: 阿依古丽·买买提 → given 阿依古丽, surname 买买提
        surname_sound = " ".join(names.sound_tokens(surname))
        given_sound = " ".join(names.sound_tokens(given))
    else:
        cut = len(surname)
        surname_sound, given_sound = " ".join(sound[:cut]), " ".join(sound[cut:])
    return (names.bare(name), " ".join(syllables), " ".join(names.fuzzy(s) for s in syllables), " ".join(sound),
            surname_sound, given_sound, names.is_placeholder(name))


def parse_address(raw: str) -> Address | None:
    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw or ""))
    if not text:
        return None
    town = village = ""
    position = 0
    while village == "":
        match = _ADDRESS_PART.match(text, position)
        if match is None:
            break
        part = match.group()
        if part.endswith(_VILLAGE_SUFFIXES):
            village = part
        elif part.endswith(_TOWN_SUFFIXES):
            town = part
        position = match.end()
    place = "" if town or village else (text[position:] or text)
    return Address(town=town, village=village, place=place)


def _phone(raw: str | None) -> str:
    if not raw:
        return ""
    digits = raw if raw.isascii() and raw.isdigit() else _NON_DIGITS.sub("", unicodedata.normalize("NFKC", raw))
    if len(digits) < 7 or len(set(digits)) == 1:  # 00000000000: a placeholder, not a phone
        return ""
    return digits


def _born(value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str) and len(value) >= 10 and value[4] == "-":  # "1980-05-12", as SQLite returns it
        return value[:4] + value[5:7] + value[8:10]
    if isinstance(value, date):
        return f"{value.year:04d}{value.month:02d}{value.day:02d}"
    return str(value)[:10].replace("-", "")


def _resident_id(raw: str | None) -> str:
    if not raw:
        return ""
    if len(raw) == 18 and raw.isascii() and raw[:17].isdigit() and raw[17] in "0123456789X":
        return raw
    return residentid.normalise(raw)


class Builder:
    """Builds records, remembering the names and addresses it has seen: the batch linkage and the index
    builder keep one for a run (each name is analysed once); online calls share a bounded one."""

    def __init__(self, remember: int | None = None) -> None:
        self.name_parts = lru_cache(maxsize=remember)(name_parts)
        self.parse_address = lru_cache(maxsize=remember)(parse_address)

    def record(self, name, sex, birth_date, resident_id, phone, address) -> Rec:
        rid = _resident_id(resident_id)
        born, sex = _born(birth_date), sex if sex in ("1", "2") else ""
        if rid and (not born or not sex):  # a probe with only the ID card: take the date and sex from it
            try:
                parsed = residentid.parse(rid)
            except residentid.InvalidResidentId:
                pass
            else:
                born, sex = born or f"{parsed.birth_date:%Y%m%d}", sex or parsed.sex
        bare, pinyin, fuzzy, sound, surname_sound, given_sound, placeholder = self.name_parts(name or "")
        return Rec(name=bare, pinyin=pinyin, fuzzy=fuzzy, sound=sound, surname_sound=surname_sound,
                   given_sound=given_sound, placeholder=placeholder, sex=sex, born=born, phone=_phone(phone),
                   address=self.parse_address(address or ""), resident_id=rid)


_online = Builder(remember=20_000)


def record_from_values(name, sex, birth_date, resident_id, phone, address) -> Rec:
    return _online.record(name, sex, birth_date, resident_id, phone, address)


def record_of(x) -> Rec:
    return record_from_values(x.name, x.sex, x.birth_date, x.resident_id, x.phone, x.address)
