"""Residents of the demo county: valid resident IDs, an age/sex pyramid, households with addresses from the
township/village table, phones, and the recording errors a real register has (see docs/demo.md).

Planning is pure Python (deterministic under the seed); registration goes through
`yilian.patients.actions.do_register_patients`, at the resident's village clinic or township centre.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

from faker import Faker

from yilian.demo.data import population as pop
from yilian.demo.data.county import ADDRESS_PREFIX, COUNTY, COUNTY_CODE, TOWNSHIPS
from yilian.demo.data.names import GIVEN_LOOKALIKES, SURNAME_LOOKALIKES
from yilian.demo.people import given_name, mobile
from yilian.demo.world import World
from yilian.patients import residentid
from yilian.patients.actions import NewPatient, do_register_patients

ADULTS_PER_HOUSEHOLD = ((1, 0.22), (2, 0.58), (3, 0.14), (4, 0.06))
BATCH = 1000


@dataclass
class Resident:
    sex: str
    born: date
    township: str  # code
    village: str  # code
    household: int
    surname: str = ""
    given: str = ""
    resident_id: str = ""
    phone: str = ""
    address: str = ""
    registered: str = ""  # place key: the village or township code
    chronic: bool = False
    patient_id: int = 0

    @property
    def name(self) -> str:
        return self.surname + self.given

    def age(self, today: date) -> int:
        return today.year - self.born.year - ((today.month, today.day) < (self.born.month, self.born.day))


@dataclass
class Duplicate:
    """A second record of a resident, made at the county hospital without their ID card."""

    resident: Resident
    variant: str
    data: NewPatient
    patient_id: int = 0


def _person(rng: random.Random, today: date) -> tuple[str, date]:
    band = rng.choices(pop.AGE_BANDS, weights=[b[2] for b in pop.AGE_BANDS])[0]
    low, high, _share, males_per_100, _rate = band
    age = rng.randint(low, high)
    sex = "1" if rng.random() < males_per_100 / (100 + males_per_100) else "2"
    born = today - timedelta(days=int(age * 365.25) + rng.randint(1, 364))
    return sex, born


def _households(rng: random.Random, people: list[tuple[str, date]], today: date) -> list[list[tuple[str, date]]]:
    """Adults of similar age pair up (couples, a widow alone, now and then three or four together); each
    child joins a household with a parent-age adult, or one with grandparents (留守儿童: the parents work
    in the city)."""

    def age(p: tuple[str, date]) -> int:
        return (today - p[1]).days // 365

    adults = sorted((p for p in people if age(p) >= 18), key=lambda p: age(p) + rng.uniform(-4, 4))
    children = [p for p in people if age(p) < 18]
    households: list[list[tuple[str, date]]] = []
    i = 0
    while i < len(adults):
        n = rng.choices([n for n, _w in ADULTS_PER_HOUSEHOLD], weights=[w for _n, w in ADULTS_PER_HOUSEHOLD])[0]
        households.append(adults[i:i + n])
        i += n
    rng.shuffle(households)
    parents = [h for h in households if any(20 <= age(a) <= 50 for a in h)]
    grandparents = [h for h in households if any(50 < age(a) <= 80 for a in h)]
    for child in children:
        pool = parents if (rng.random() < 0.75 or not grandparents) else grandparents
        if not pool:
            households.append([child])
            continue
        home = rng.choice(pool)
        for _ in range(4):  # three children at most, when there is room elsewhere
            if sum(1 for m in home if age(m) < 18) < 3:
                break
            home = rng.choice(pool)
        home.append(child)
    return households


def plan_residents(world: World) -> list[Resident]:
    rng, fake = world.rng("residents"), world.faker("residents")
    names = {code: name for code, name, _n, _c in TOWNSHIPS}
    villages = [(t, code, vname, i) for t, vs in world.villages.items() for i, (code, vname) in enumerate(vs)]
    # Village sizes vary; the village where the township centre stands is bigger.
    weights = [rng.uniform(0.5, 1.5) * (1.8 if i == 0 else 1) for *_rest, i in villages]
    people = [_person(rng, world.today) for _ in range(world.residents)]
    residents: list[Resident] = []
    house_no: dict[str, int] = {}
    for household, group in enumerate(_households(rng, people, world.today), start=1):
        township, village, vname, index = rng.choices(villages, weights=weights)[0]
        house_no[village] = house_no.get(village, 0) + rng.randint(1, 3)
        members = [Resident(sex, born, township, village, household) for sex, born in group]
        _fill_household(rng, fake, world.today, members, names[township], vname, house_no[village], index == 0)
        residents += members
    _assign_resident_ids(rng, residents)
    world.counts["residents"] = len(residents)
    world.counts["households"] = len({r.household for r in residents})
    return residents


def _fill_household(rng: random.Random, fake: Faker, today: date, members: list[Resident], township: str,
                    village: str, number: int, seat: bool) -> None:
    adults = sorted((m for m in members if m.age(today) >= 18), key=lambda m: m.age(today))
    # whose phone the children (and some of the old) give: the youngest adult under 65
    holder = next((m for m in adults if m.age(today) < 65), None)
    father = next((m for m in adults if m.sex == "1"), None)  # the children take his surname
    family_name = fake.last_name()
    house = "" if rng.random() < pop.HOUSE_NUMBER_MISSING else f"{number}号"
    share = pop.REGISTERED_AT_TOWNSHIP_SEAT if seat else pop.REGISTERED_AT_TOWNSHIP
    for m in members:
        age = m.age(today)
        m.surname = family_name if father is not None and (m is father or age < 18) else fake.last_name()
        m.given = given_name(rng, fake, m.sex, m.born.year)
        prefix = ADDRESS_PREFIX if rng.random() >= pop.ADDRESS_SHORT else COUNTY
        m.address = f"{prefix}{township}{village}{house}"
        m.registered = m.township if rng.random() < share else m.village
        m.chronic = age >= pop.CHRONIC_FROM_AGE and rng.random() < pop.CHRONIC_SHARE
        if age >= 12:
            m.phone = mobile(rng)
    if holder is not None:
        for m in members:
            age = m.age(today)
            if m is not holder and (age < 16 or (age >= 75 and rng.random() < 0.5)):
                m.phone = holder.phone
    for m in members:
        if rng.random() < pop.PHONE_MISSING:
            m.phone = ""


def _assign_resident_ids(rng: random.Random, residents: list[Resident]) -> None:
    used: set[tuple[date, int]] = set()
    for r in residents:
        while True:
            seq = rng.randrange(500) * 2 + (1 if r.sex == "1" else 0)  # odd for men, even for women
            if (r.born, seq) not in used:
                used.add((r.born, seq))
                break
        r.resident_id = residentid.make(COUNTY_CODE, r.born, seq)


def _variant(rng: random.Random, r: Resident) -> tuple[str, str, str, date]:
    """(variant, surname, given name, birth date) of a second record, falling back when the chosen error
    cannot apply (no look-alike character, a day after the 12th)."""
    chosen = rng.choices([v for v, _s in pop.DUPLICATE_VARIANTS], weights=[s for _v, s in pop.DUPLICATE_VARIANTS])[0]
    order = {"surname": ["surname", "given", "swapped_date"], "given": ["given", "surname", "swapped_date"],
             "swapped_date": ["swapped_date", "given", "surname"], "exact": []}[chosen]
    for variant in order:
        if variant == "surname" and r.surname in SURNAME_LOOKALIKES:
            return variant, SURNAME_LOOKALIKES[r.surname], r.given, r.born
        if variant == "given":
            spots = [i for i, c in enumerate(r.given) if c in GIVEN_LOOKALIKES]
            if spots:
                i = rng.choice(spots)
                return variant, r.surname, r.given[:i] + GIVEN_LOOKALIKES[r.given[i]] + r.given[i + 1:], r.born
        if variant == "swapped_date" and r.born.day <= 12 and r.born.day != r.born.month:
            return variant, r.surname, r.given, r.born.replace(month=r.born.day, day=r.born.month)
    return "exact", r.surname, r.given, r.born


def plan_duplicates(world: World, residents: list[Resident], county_visitors: list[int]) -> list[Duplicate]:
    """Some residents seen at the county hospital are registered there again, without a resident ID."""
    rng = world.rng("duplicates")
    count = round(len(county_visitors) * pop.DUPLICATE_SHARE)
    chosen = sorted(rng.sample(county_visitors, count))
    names = {code: name for code, name, _n, _c in TOWNSHIPS}
    out = []
    for index in chosen:
        r = residents[index]
        variant, surname, given, born = _variant(rng, r)
        roll = rng.random()
        phone = r.phone if roll < 0.5 else "" if roll < 0.8 else mobile(rng)
        village = dict(world.villages[r.township])[r.village]
        out.append(Duplicate(r, variant, NewPatient(name=surname + given, sex=r.sex, birth_date=born, phone=phone,
                                                    address=f"{COUNTY}{names[r.township]}{village}")))
    world.counts["duplicates"] = len(out)
    return out


def register_residents(world: World, residents: list[Resident]) -> None:
    by_place: dict[str, list[Resident]] = {}
    for r in residents:
        by_place.setdefault(r.registered, []).append(r)
    for key, group in by_place.items():
        actor = world.places[key].registrar()
        for start in range(0, len(group), BATCH):
            chunk = group[start:start + BATCH]
            patients = do_register_patients(actor, [
                NewPatient(name=r.name, sex=r.sex, birth_date=r.born, resident_id=r.resident_id, phone=r.phone,
                           address=r.address) for r in chunk])
            for r, p in zip(chunk, patients, strict=True):
                r.patient_id = p.pk
    at_township = sum(1 for r in residents if len(r.registered) == 9)
    no_phone = sum(1 for r in residents if not r.phone)
    world.say("residents", f"{len(residents)} registered at {len(by_place)} institutions "
              f"({at_township} at township centres), {no_phone} without a phone")


def register_duplicates(world: World, duplicates: list[Duplicate]) -> None:
    county = world.places["county"]
    rng = world.rng("duplicate-desks")
    by_desk: dict[int, list[Duplicate]] = {}
    for d in duplicates:
        by_desk.setdefault(rng.randrange(len(county.registrars)), []).append(d)
    for desk in sorted(by_desk):
        group = by_desk[desk]
        patients = do_register_patients(county.registrar(desk), [d.data for d in group])
        for d, p in zip(group, patients, strict=True):
            d.patient_id = p.pk
    variants: dict[str, int] = {}
    for d in duplicates:
        variants[d.variant] = variants.get(d.variant, 0) + 1
    world.counts.update({f"duplicates.{k}": v for k, v in sorted(variants.items())})
    world.say("duplicates", f"{len(duplicates)} second records at the county hospital without a resident ID ("
              + ", ".join(f"{k} {v}" for k, v in sorted(variants.items())) + ")")
