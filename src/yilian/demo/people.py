"""Names and phone numbers for the demo's people (residents and staff alike)."""

import random

from faker import Faker

from yilian.demo.data.names import GIVEN_CHARS

MOBILE_PREFIXES = ("130", "131", "132", "134", "135", "136", "137", "138", "139", "150", "151", "152", "155",
                   "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "185",
                   "186", "187", "188", "189", "191", "195", "198", "199")


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def given_name(rng: random.Random, fake: Faker, sex: str, born_year: int) -> str:
    """Half from Faker zh_CN, half composed from the characters the person's generation favoured."""
    if rng.random() < 0.5:
        return fake.first_name_male() if sex == "1" else fake.first_name_female()
    cohort = "old" if born_year < 1965 else "mid" if born_year < 1995 else "young"
    first, second = GIVEN_CHARS[cohort][sex]
    if rng.random() < 0.25:
        return rng.choice(second)
    return rng.choice(first) + rng.choice(second)
