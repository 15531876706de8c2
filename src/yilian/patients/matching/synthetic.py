"""A synthetic county register with known duplicates, for the MPI benchmark and the linkage tests.

Everything here is invented (county code 130498 is assigned to no real county). Deterministic under the seed.

**People.** Households of a head, often a spouse, children and sometimes an elderly parent, living at one
address (township, village, house number) of a county of 30 townships and 12–24 villages each; children
take the father's surname; the household head's phone is given for the children and for half of the
elderly. 2 % of children have a twin (same birth date, surname, address and phone; another given name).
Surnames follow Faker zh_CN's frequency table, with compound surnames (欧阳, 司马, …) and Uyghur names
(阿依古丽·买买提) now and then; given names mix Faker's list, each generation's favourite characters and a
broad pool. Resident IDs are valid (GB 11643), unique, consistent with birth date and sex.

**Registrations.** 70 % of people are registered once, 30 % two to four times (1, 2 or 3 extra records
equally often). The first record is clean apart from what the person lacks (no phone 10 %, no resident ID
12 %, no address 3 %, a shorter address form 10 %). Each extra record draws its errors independently:

| field | error (share of extra records) |
|---|---|
| name | a homophone character, same tone-less pinyin (8 %); a "fuzzy" character: zh/z, n/l, ang/an … (4 %); a look-alike character (5 %, a fifth of them pairs not in the matcher's table); another character entirely (2 %); spaces, full-width or dot variants that normalisation undoes (6 %) |
| birth date | day and month swapped when the day is ≤ 12 (5 %); one of year, month or day off (5 %) |
| sex | unknown (2 %); the other sex (0.5 %) |
| resident ID | at most one record of a person holds the right ID (the column is unique); an extra record holds a mistyped one in 25 % of cases: two adjacent digits exchanged or one digit changed, with the check digit kept (broken) or recomputed (valid) |
| phone | missing (15 %); another number (15 %); the first three digits mistyped (5 %) |
| address | missing (10 %); another form of the same address (40 %: four forms are drawn at random); moved to another village of the township (5 %) or to another township (4 %) |

A newborn (under one year) is, for 40 % of them, first registered under a placeholder name (李红之子 /
李红之女) and again under the real name: a true duplicate the matcher must send to review, never link.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from faker.providers.person.zh_CN import Provider as FakerNames

from yilian.patients import residentid
from yilian.patients.matching.names import fuzzy
from yilian.patients.matching.names import syllables as _syllables

COUNTY_CODE = "130498"  # SYNTHETIC: no county has it
PROVINCE_CITY, COUNTY = "河北省邯郸市", "杏南县"
TODAY = date(2026, 11, 23)

COMPOUND = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "司徒")
UYGHUR_GIVEN = ("阿依古丽", "古丽娜尔", "热依拉", "阿布都", "艾力", "买买提", "努尔", "吐尔洪", "帕提古丽", "迪丽娜尔")
UYGHUR_FAMILY = ("买买提", "艾买提", "吐尔逊", "阿不都", "热合曼", "司马义", "玉素甫", "库尔班")
GENERAL_FIRST = "子嘉文思雨欣梓浩宇晓建志海春秋明玉金永德丽秀美俊佳天家博一梦诗可雅晨书"
GENERAL_SECOND = "涵轩怡宇辰泽琪萱然杰妍睿阳琳华强军平红英兰芳霞燕静敏洁丹宁鹏超刚勇飞亮东"
COHORTS = {  # (first characters, second characters) by cohort and sex ("1" men, "2" women)
    "old": {"1": ("建国振志德永福保长文宝金春庆占秋书万", "国华军民明林生山成荣祥才发贵忠义海"),
            "2": ("秀桂淑玉凤兰春翠素金银俊月巧爱", "英兰珍芳荣华琴梅云霞花娥香")},
    "mid": {"1": ("海红立晓建志卫永国小利伟俊振新", "军伟强涛明刚杰斌勇峰亮辉波鹏华"),
            "2": ("丽红晓海艳春彩秀美小雪玉", "丽红燕霞娟敏静芳玲梅艳萍洁倩")},
    "young": {"1": ("子梓宇浩俊嘉一博皓思铭家天", "轩涵豪睿泽辰阳航逸然宇鑫杰博"),
              "2": ("欣梓诗雨紫思可佳一梦语若婉", "怡涵琪萱彤冉瑶悦妍琳菲雯璇")},
}
# Look-alike characters the generator types by mistake. Most are in the matcher's table; the last group is
# not (a real table never covers every confusion), so those errors fall to the weaker name levels.
TYPO_LOOKALIKES = ("王玉", "未末", "己已", "戊戌", "日曰", "土士", "侯候", "梁粱", "晴睛", "淑叔", "季李", "秀秃",
                   "沈沉", "郝赫", "姚桃", "褚储", "杨扬", "陈阵", "徽微", "崇祟", "贝见", "免兔", "乌鸟", "令今",
                   "丙内", "昊吴", "芮苪", "琪棋", "田由", "人入", "大太",
                   "佳住", "泉皋", "燕蒸", "栋拣", "娥俄", "茹如", "萍平", "凯剀")
VILLAGE_STEMS = "张王李刘赵杨郭马孙韩郝侯贾高孟段苏申牛霍路冯魏崔胡岳宋吕常朱付邢袁薛范史温白任陈周"
VILLAGE_BASES = ("家庄", "庄", "营", "寨", "屯", "堡", "店", "疃", "集", "桥", "固", "楼", "井", "寺", "庙", "口", "铺")
TOWN_NAMES = ("杏南", "柳河", "固城", "南关", "辛店", "漳南", "槐屯", "东杨", "西营", "白塔", "双庙", "高寨", "马头",
              "北堤", "石桥", "枣林", "桃园", "沙河", "临泉", "永和", "太平", "兴隆", "安乐", "新集", "前进", "红旗",
              "五里", "七里", "梨园", "榆林")


@dataclass
class Person:
    pid: int
    surname: str
    given: str
    sex: str
    born: date
    resident_id: str
    phone: str
    town: str
    village: str
    house: int
    household: int
    parent_name: str = ""
    sep: str = ""  # "·" for Uyghur names (given·family), else ""

    @property
    def name(self) -> str:
        return f"{self.given}{self.sep}{self.surname}" if self.sep else self.surname + self.given


@dataclass
class Record:
    """One row of the patient table, with the person it belongs to (the ground truth)."""

    pid: int
    name: str
    sex: str
    birth_date: date
    resident_id: str | None
    phone: str
    address: str
    errors: list[str] = field(default_factory=list)


@lru_cache(maxsize=1)
def _common_chars() -> tuple[str, ...]:
    chars = []
    for high in range(0xB0, 0xD8):  # GB 2312 level 1: the 3,755 common characters
        for low in range(0xA1, 0xFF):
            try:
                chars.append(bytes([high, low]).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    return tuple(chars)


@lru_cache(maxsize=1)
def _by_sound() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    same: dict[str, list[str]] = {}
    fuzzy_same: dict[str, list[str]] = {}
    for ch in _common_chars():
        py = _syllables(ch)[0]
        same.setdefault(py, []).append(ch)
        fuzzy_same.setdefault(fuzzy(py), []).append(ch)
    return same, fuzzy_same


def _pinyin(ch: str) -> str:
    return _syllables(ch)[0]


def homophone(rng: random.Random, ch: str) -> str | None:
    options = [c for c in _by_sound()[0].get(_pinyin(ch), []) if c != ch]
    return rng.choice(options) if options else None


def fuzzy_homophone(rng: random.Random, ch: str) -> str | None:
    py = _pinyin(ch)
    options = [c for c in _by_sound()[1].get(fuzzy(py), []) if _pinyin(c) != py]
    return rng.choice(options) if options else None


def lookalike(rng: random.Random, ch: str) -> str | None:
    for pair in TYPO_LOOKALIKES:
        if ch in pair:
            return pair[1 - pair.index(ch)]
    return None


class County:
    def __init__(self, rng: random.Random) -> None:
        self.towns: list[tuple[str, list[str]]] = []
        used: set[str] = set()
        for i, stem in enumerate(TOWN_NAMES):
            town = stem + ("镇" if i < 18 else "乡")
            villages = [f"{stem}村"]
            while len(villages) < rng.randint(12, 24):
                village = rng.choice(VILLAGE_STEMS) + rng.choice(VILLAGE_BASES) + "村"
                if rng.random() < 0.3:
                    village = rng.choice("东西南北前后大小") + village
                if village not in used:
                    used.add(village)
                    villages.append(village)
            self.towns.append((town, villages))

    def address(self, rng: random.Random, town: str, village: str, house: int) -> str:
        roll = rng.random()
        if roll < 0.6:
            return f"{PROVINCE_CITY}{COUNTY}{town}{village}{house}号"
        if roll < 0.8:
            return f"{COUNTY}{town}{village}{house}号"
        if roll < 0.9:
            return f"{COUNTY}{town}{village}"
        return f"{town}{village}{house}号"


class Generator:
    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)
        self.county = County(random.Random("杏南县-map"))
        names = FakerNames.last_names
        self.surnames, self.surname_weights = list(names), list(names.values())
        self.used_ids: set[str] = set()
        self.used_seq: dict[date, set[int]] = {}
        self.phones: set[str] = set()
        self.people: list[Person] = []

    # --- people -------------------------------------------------------------------------------------

    def surname(self) -> tuple[str, str]:
        roll = self.rng.random()
        if roll < 0.004:
            return self.rng.choice(COMPOUND), ""
        if roll < 0.009:
            return self.rng.choice(UYGHUR_FAMILY), "·"
        return self.rng.choices(self.surnames, weights=self.surname_weights)[0], ""

    def given(self, sex: str, born: date, uyghur: bool) -> str:
        rng = self.rng
        if uyghur:
            return rng.choice(UYGHUR_GIVEN)
        roll = rng.random()
        if roll < 0.3:
            return rng.choice(FakerNames.first_names_male if sex == "1" else FakerNames.first_names_female)
        if roll < 0.65:
            cohort = "old" if born.year < 1965 else "mid" if born.year < 1995 else "young"
            first, second = COHORTS[cohort][sex]
        else:
            first, second = GENERAL_FIRST, GENERAL_SECOND
        if rng.random() < 0.2:
            return rng.choice(second)
        return rng.choice(first) + rng.choice(second)

    def mobile(self) -> str:
        while True:
            phone = self.rng.choice(("130", "135", "138", "139", "150", "151", "158", "186", "187", "189", "199")) \
                + f"{self.rng.randrange(10**8):08d}"
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def resident_id(self, born: date, sex: str) -> str:
        used = self.used_seq.setdefault(born, set())
        while True:
            seq = self.rng.randrange(500) * 2 + (1 if sex == "1" else 0)
            rid = residentid.make(COUNTY_CODE, born, seq)
            if seq not in used and rid not in self.used_ids:  # not taken, not even by a mistyped one
                used.add(seq)
                self.used_ids.add(rid)
                return rid

    def born(self, low: int, high: int) -> date:
        age_days = self.rng.randint(max(low, 0) * 365, max(high, low) * 365 + 364)
        return TODAY - timedelta(days=age_days + 1)

    def person(self, household: int, where: tuple[str, str, int], sex: str, born: date,
               surname: tuple[str, str] | None = None, phone: str | None = None) -> Person:
        family, sep = surname or self.surname()
        person = Person(pid=len(self.people), surname=family, given=self.given(sex, born, bool(sep)), sex=sex,
                        born=born, resident_id=self.resident_id(born, sex), phone="", town=where[0],
                        village=where[1], house=where[2], household=household, sep=sep)
        age = (TODAY - born).days // 365
        person.phone = phone if phone is not None else (self.mobile() if age >= 12 and self.rng.random() < 0.9
                                                        else "")
        self.people.append(person)
        return person

    def household(self, number: int) -> list[Person]:
        rng = self.rng
        town, villages = rng.choice(self.county.towns)
        where = (town, rng.choice(villages), rng.randint(1, 400))
        head_age = rng.randint(22, 85)
        head = self.person(number, where, rng.choice("12"), self.born(head_age, head_age))
        members = [head]
        if rng.random() < 0.7:
            age = max(20, head_age + rng.randint(-4, 4))
            members.append(self.person(number, where, "2" if head.sex == "1" else "1", self.born(age, age)))
        father = next((m for m in members if m.sex == "1"), head)
        family = (father.surname, father.sep)
        if head_age < 60 and rng.random() < 0.8:
            ages: set[int] = set()
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                age = head_age - rng.randint(22, 36)
                if age < 0 or ages & {age - 1, age, age + 1}:  # siblings (twins aside) are years apart
                    continue
                ages.add(age)
                sex = rng.choice("12")
                born = self.born(age, age)
                phone = head.phone if age < 16 else None
                child = self.person(number, where, sex, born, family, phone)
                child.parent_name = head.name
                members.append(child)
                if rng.random() < 0.02:  # a twin: same day, same family, another name
                    twin = self.person(number, where, rng.choice("12"), born, family, phone)
                    while twin.given == child.given:
                        twin.given = self.given(twin.sex, born, bool(twin.sep))
                    twin.parent_name = head.name
                    members.append(twin)
        if head_age < 55 and rng.random() < 0.15:
            age = min(100, head_age + rng.randint(22, 32))
            elder = self.person(number, where, rng.choice("12"), self.born(age, age),
                                phone=head.phone if rng.random() < 0.5 else None)
            members.append(elder)
        sounds = set()
        for m in members:  # nobody in a family shares a name or its sound (a son is never named after his father)
            while " ".join(_syllables(m.name)) in sounds:
                m.given = self.given(m.sex, m.born, bool(m.sep))
            sounds.add(" ".join(_syllables(m.name)))
        return members

    # --- records ------------------------------------------------------------------------------------

    def first_record(self, p: Person) -> Record:
        rng = self.rng
        address = "" if rng.random() < 0.03 else self.county.address(rng, p.town, p.village, p.house)
        return Record(p.pid, p.name, p.sex, p.born, p.resident_id, p.phone, address)

    def extra_record(self, p: Person) -> Record:
        rng = self.rng
        errors: list[str] = []
        name = self._name(p, errors)
        born = self._born(p.born, errors)
        roll = rng.random()
        sex = "0" if roll < 0.02 else ("2" if p.sex == "1" else "1") if roll < 0.025 else p.sex
        roll = rng.random()
        if roll < 0.15:
            phone = ""
        elif roll < 0.30 or not p.phone:
            phone = self.mobile() if rng.random() < 0.8 else ""
            errors.append("phone_changed")
        elif roll < 0.35:
            phone = self.rng.choice(("131", "136", "152", "177")) + p.phone[3:]
            errors.append("phone_prefix")
        else:
            phone = p.phone
        town, village = p.town, p.village
        roll = rng.random()
        if roll < 0.10:
            address = ""
        else:
            if roll < 0.15:
                village = rng.choice([v for t, vs in self.county.towns if t == town for v in vs])
                errors.append("moved_village")
            elif roll < 0.19:
                town, villages = rng.choice(self.county.towns)
                village = rng.choice(villages)
                errors.append("moved_town")
            address = self.county.address(rng, town, village, p.house if village == p.village else rng.randint(1, 400))
        return Record(p.pid, name, sex, born, None, phone, address, errors)

    def _name(self, p: Person, errors: list[str]) -> str:
        rng = self.rng
        roll = rng.random()
        surname, given = p.surname, p.given
        if roll < 0.19 and not p.sep:
            kinds = ((0.08, "homophone", homophone), (0.12, "fuzzy", fuzzy_homophone),
                     (0.17, "lookalike", lookalike), (0.19, "other", lambda r, c: r.choice(_common_chars())))
            kind, change = next((k, f) for limit, k, f in kinds if roll < limit)
            whole = surname + given
            spots = list(range(len(whole)))
            rng.shuffle(spots)
            for i in spots:
                new = change(rng, whole[i])
                if new and new != whole[i]:
                    errors.append(f"name_{kind}")
                    return whole[:i] + new + whole[i + 1:]
            return whole
        if roll < 0.25:
            errors.append("name_format")
            if p.sep:
                return given + rng.choice(("•", "．", ".", "", " ")) + surname
            return rng.choice((f"{surname} {given}", f" {surname}{given} ", f"{surname}\u3000{given}"))
        return p.name

    def _born(self, born: date, errors: list[str]) -> date:
        rng = self.rng
        roll = rng.random()
        if roll < 0.05 and born.day <= 12 and born.day != born.month:
            errors.append("date_swapped")
            return born.replace(month=born.day, day=born.month)
        if 0.05 <= roll < 0.10:
            errors.append("date_one_off")
            part = rng.choice(("year", "month", "day"))
            try:
                if part == "year":
                    return born.replace(year=born.year + rng.choice((-10, -1, 1, 10)))
                if part == "month":
                    return born.replace(month=born.month % 12 + 1)
                return born.replace(day=born.day + 1) if born.day < 28 else born.replace(day=born.day - 1)
            except ValueError:
                return born
        return born

    def mistyped_id(self, rid: str) -> str | None:
        rng = self.rng
        digits = list(rid[:17])
        if rng.random() < 0.5:
            spots = [i for i in range(6, 16) if digits[i] != digits[i + 1]]
            if not spots:
                return None
            i = rng.choice(spots)
            digits[i], digits[i + 1] = digits[i + 1], digits[i]
        else:
            i = rng.randrange(6, 17)
            digits[i] = rng.choice([d for d in "0123456789" if d != digits[i]])
        first17 = "".join(digits)
        new = first17 + (residentid.check_char(first17) if rng.random() < 0.5 else rid[17])
        if new in self.used_ids or new == rid:
            return None
        self.used_ids.add(new)
        return new

    def placeholder(self, p: Person) -> Record:
        name = (p.parent_name or "某某") + ("之子" if p.sex == "1" else "之女")
        return Record(p.pid, name, p.sex, p.born, None, p.phone,
                      self.county.address(self.rng, p.town, p.village, p.house), ["name_placeholder"])

    def records_of(self, p: Person) -> list[Record]:
        rng = self.rng
        extras = 0 if rng.random() < 0.7 else rng.randint(1, 3)
        records = [self.first_record(p)]
        records += [self.extra_record(p) for _ in range(extras)]
        if (TODAY - p.born).days < 365 and rng.random() < 0.4:
            records.insert(0, self.placeholder(p))
            records[1].resident_id = p.resident_id
            records[0].resident_id = None
        holder = next(r for r in records if r.resident_id)
        if rng.random() < 0.12:  # the person gave no ID card at the first registration
            holder.resident_id = None
            if len(records) > 1 and rng.random() < 0.5:
                rng.choice(records[1:]).resident_id = p.resident_id
        for r in records:
            if r.resident_id is None and r is not records[0] and rng.random() < 0.25:
                r.resident_id = self.mistyped_id(p.resident_id)
                if r.resident_id:
                    r.errors.append("id_mistyped")
        return records

    def probe_of(self, p: Person) -> Record:
        """A new registration of an existing person, with the errors of an extra record (online search)."""
        record = self.extra_record(p)
        if self.rng.random() < 0.3:  # the person shows the ID card
            record.resident_id = p.resident_id
        return record


def generate(records: int, seed: int = 2026) -> tuple[Generator, list[Record]]:
    """About `records` patient rows (exactly that many), in a shuffled order, with the people behind them."""
    gen = Generator(seed)
    out: list[Record] = []
    household = 0
    while len(out) < records:
        household += 1
        for person in gen.household(household):
            out.extend(gen.records_of(person))
    del out[records:]
    gen.rng.shuffle(out)
    return gen, out


def true_pairs(records: list[Record], ids: list[int]) -> set[tuple[int, int]]:
    """Every pair of row ids (lower first) that belongs to one person."""
    by_person: dict[int, list[int]] = {}
    for record, pk in zip(records, ids, strict=True):
        by_person.setdefault(record.pid, []).append(pk)
    pairs = set()
    for pks in by_person.values():
        pks.sort()
        for i, a in enumerate(pks):
            for b in pks[i + 1:]:
                pairs.add((a, b))
    return pairs
