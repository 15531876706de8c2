"""What the build stages share: the seed and period, the random streams, and the institutions created so far."""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from faker import Faker

from yilian.demo.data.departments import Dept
from yilian.network.acting import Actor, actor_for_membership
from yilian.network.models import Department, Institution, Membership

SOURCE = "demo"


@dataclass
class Place:
    """One institution of the demo county. `key` is "county", "tcm", "mch" or a township / village code."""

    key: str
    kind: str
    institution: Institution
    specs: list[Dept]
    township: str = ""  # the township code, for township centres and village clinics
    departments: dict[str, Department] = field(default_factory=dict)
    doctors: dict[str, list[int]] = field(default_factory=dict)  # department name → staff ids
    doctor_memberships: dict[int, Membership] = field(default_factory=dict)  # staff id → doctor membership
    registrars: list[Membership] = field(default_factory=list)
    titles: dict[int, str] = field(default_factory=dict)  # staff id → title
    visiting: dict[int, Membership] = field(default_factory=dict)  # a county expert's membership here

    def registrar(self, i: int = 0) -> Actor:
        return actor_for_membership(self.registrars[i % len(self.registrars)], source=SOURCE)


@dataclass
class World:
    seed: int
    today: date
    start: date  # first day of activity; activity runs to the day before `today`
    residents: int
    progress: Callable[[str], None]
    places: dict[str, Place] = field(default_factory=dict)
    villages: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # township → [(code, name)]
    visiting: dict[str, int] = field(default_factory=dict)  # township code → the county expert who visits
    counts: dict[str, int] = field(default_factory=dict)
    began: float = field(default_factory=time.perf_counter)

    def rng(self, stage: str) -> random.Random:
        """An independent stream per stage: more residents do not change the staff, and so on."""
        return random.Random(f"{self.seed}:{stage}")

    def faker(self, stage: str) -> Faker:
        fake = Faker("zh_CN")
        fake.seed_instance(f"{self.seed}:{stage}")
        return fake

    def say(self, stage: str, message: str) -> None:
        self.progress(f"[{time.perf_counter() - self.began:6.1f}s] {stage}: {message}")

    def of_kind(self, kind: str) -> list[Place]:
        return [p for p in self.places.values() if p.kind == kind]
