"""Green channels and 120 (issue 7, part 6): months of 120 calls and green-channel cases at the county
hospital, whose times improve over the period (docs/demo.md "Green channels and 120").

Planned here in pure Python (`rng("green")`), then written through the emergency actions only — the 120
side through `emergency.dispatch` (`do_take_call`, `do_record_run_step`, `do_record_prehospital`,
`do_send_notice`), the cases through `emergency.actions` (`do_open_case`, `do_record_node`,
`do_correct_node`, `do_direct_bypass`, `do_identify_patient`, `do_close_case`) — each with its historic
time (`at`). Each case's actions run in the order of their times, so that the 120 side's times reach the
case through the actions' own mirroring (on scene → first medical contact, arrived → door, the crew's ECG).

The monthly volumes are those of a county of 8,000 (scaled with `--residents`, at least half of them so
that a small demo still shows every indicator). Each key interval is drawn around a target that improves
linearly over the period (DNT about 60 → 42 minutes, D2B about 92 → 62) and the random part is centred
within each calendar month, so the monthly means follow the targets; some nodes are never recorded, some
are corrected with a reason (the wrong value first, then the right one: the original stays).
"""

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction

from yilian.analytics.registry import Scope
from yilian.demo.days import TZ
from yilian.demo.residents import Resident
from yilian.demo.world import SOURCE, World
from yilian.emergency import actions as ea
from yilian.emergency import dispatch as ed
from yilian.emergency.indicators import reports
from yilian.emergency.models import ArrivalMode, Disposition, NodeTime
from yilian.network.acting import Actor, actor_for_membership
from yilian.network.models import Membership
from yilian.network.roles import Role
from yilian.patients.actions import do_check_in_many

CP, ST, TR, MA, NE = "chest_pain", "stroke", "trauma", "maternal", "neonatal"
# Scenario → (centre, cases a month at 8,000 residents, at least this many in any demo).
SCENARIOS = {
    "stemi_pci": (CP, 3.6, 3),  # STEMI, primary PCI
    "stemi_lysis": (CP, 0.6, 1),  # STEMI, thrombolysis (the cath lab busy, or a long way out)
    "chest_other": (CP, 3.0, 1),  # NSTEMI, unstable angina, not cardiac
    "stroke_lysis": (ST, 3.0, 3),  # intravenous thrombolysis
    "stroke_evt": (ST, 0.8, 1),  # thrombectomy (groin puncture), some bridged with thrombolysis
    "stroke_none": (ST, 2.4, 1),  # beyond the window, haemorrhage, minor: no reperfusion
    "trauma": (TR, 2.5, 1),
    "maternal": (MA, 0.6, 1),
    "neonatal": (NE, 0.5, 1),
}
EDGES = ("stemi_pci", "stroke_lysis")  # counted by DNT and D2B: the first and last cases come by 120
OTHER_CALLS = 18  # 120 calls a month that lead to no green channel (falls, fever, drunkenness, …)
# Arrival: (by 120, by themselves, sent up by a township centre); a few onsets in hospital besides.
ARRIVAL = {CP: (0.5, 0.3, 0.2), ST: (0.55, 0.25, 0.2), TR: (0.7, 0.25, 0.05), MA: (0.3, 0.2, 0.5),
           NE: (0.2, 0.2, 0.6)}
IN_HOSPITAL = 0.04
UNIDENTIFIED = 0.08  # 120 patients opened without a name, identified at the desk later
MISSING = 0.10  # share of the optional nodes never recorded
CORRECTED = 0.15  # share of cases with one node corrected
OPTIONAL = {"dapt_loading", "cath_lab_ready", "puncture", "symptom_onset", "labs_back", "ct_read",
            "recanalisation", "team_activation", "disposition", "ecg_transmitted"}
# The optional nodes whose absence shows (a stroke case's labs, a STEMI's puncture, …).
SHOWN_MISSING = OPTIONAL - {"ecg_transmitted"}
REASONS = ("平板时钟不准，按监护仪时间更正", "误点，按护理记录更正", "补录时填错，按导管室记录更正",
           "按CT机时间更正", "按救护车GPS记录更正", "录入错误，按病历更正")
COMPLAINTS = {
    CP: ("胸痛{h}小时", "胸闷伴大汗{h}小时", "持续胸痛，向左臂放射"),
    ST: ("突发言语不清{h}小时", "右侧肢体无力{h}小时", "口角歪斜、左侧肢体麻木"),
    TR: ("车祸伤，多处出血", "高处坠落伤", "农机绞伤"),
    MA: ("孕{w}周，阴道大量出血", "孕{w}周，头痛、血压高、抽搐", "产后大出血"),
    NE: ("新生儿呼吸困难", "新生儿青紫、反应差", "早产儿窒息"),
}
OTHER_COMPLAINTS = ("跌倒，髋部疼痛", "高热不退", "腹痛{h}小时", "醉酒，呼之不应", "呼吸困难", "晕厥一次",
                    "血糖低，出冷汗", "农药误服", "烫伤", "鼻出血不止", "癫痫发作", "哮喘发作")
DEPARTMENT = {CP: "心血管内科", ST: "神经内科", TR: "普通外科", MA: "妇产科", NE: "儿科"}
BYPASS_TO = {CP: "cath_lab", ST: "ct", TR: "operating_room", MA: "operating_room", NE: "nicu"}


@dataclass
class Staff:
    """The actors of the stage: the county hospital's crew, its departments, its registrar, and the
    township centres' doctors."""

    crew: list[Actor]
    by_dept: dict[str, list[Actor]]
    registrar: Actor
    township: dict[str, list[Actor]]

    def pick(self, rng: random.Random, dept: str) -> Actor:
        return rng.choice(self.by_dept[dept])


def _staff(world: World) -> Staff:
    county = world.places["county"]
    rows = Membership.objects.filter(institution=county.institution, department__isnull=False) \
        .select_related("staff__user", "department").order_by("pk")
    by_dept: dict[str, list[Actor]] = {}
    crew = []
    for m in rows:
        key = f"{m.department.name}:{m.role}"
        actor = actor_for_membership(m, source=SOURCE)
        by_dept.setdefault(key, []).append(actor)
        if m.department.name == "急诊医学科" and m.role in (Role.NURSE, Role.DOCTOR):
            crew.append(actor)
    township = {p.key: [actor_for_membership(m, source=SOURCE) for _sid, m in sorted(p.doctor_memberships.items())]
                for p in world.of_kind("township")}
    return Staff(crew, by_dept, county.registrar(), township)


@dataclass
class Plan:
    """One green-channel case, planned: its times (node → time), the 120 run, who and how."""

    scenario: str
    centre: str
    onset: datetime
    frac: float  # where in the period it falls (0 … 1): the targets improve with it
    resident: Resident | None
    mode: str  # ems, self, transfer
    in_hospital: bool = False
    identified_later: bool = False
    township: str = ""  # the sending centre of a transfer
    fmc: datetime | None = None  # first medical contact at the sending centre (a transfer)
    nodes: dict[str, datetime] = field(default_factory=dict)
    run: dict[str, datetime] = field(default_factory=dict)
    call_at: datetime | None = None
    ecg: tuple[datetime, datetime | None] | None = None  # the crew's ECG: taken, transmitted
    notice_at: datetime | None = None
    opened_at: datetime | None = None
    bypass_at: datetime | None = None
    close_at: datetime | None = None
    disposition: str = Disposition.ADMITTED
    missing: set[str] = field(default_factory=set)
    corrected: str = ""
    deviation: float = 0.0  # the random part of the key interval (centred per month)


def dnt_target(k: float) -> float:
    """The door-to-needle target at `k` (0 … 1) of the period: about 60 minutes at first, 42 at the end."""
    return 60.6 - 19.5 * k


def d2b_target(k: float) -> float:
    """The door-to-wire target: about 92 minutes at first, 62 at the end (bypass cases faster still)."""
    return 92 - 30 * k


def _m(minutes: float) -> timedelta:
    return timedelta(minutes=max(0, round(minutes)))


def _delay(rng: random.Random, median: float, low: float, high: float) -> float:
    """A skewed delay (lognormal around the median), clipped."""
    return min(high, max(low, rng.lognormvariate(0, 0.6) * median))


class Planner:
    def __init__(self, world: World, residents: list[Resident]) -> None:
        self.world, self.residents, self.rng = world, residents, world.rng("green")
        self.first = datetime.combine(world.start, time(0), tzinfo=TZ)
        # Every timeline ends well before midnight of `today` (the period's end): onsets up to 14 h before.
        self.last = datetime.combine(world.today, time(0), tzinfo=TZ) - timedelta(hours=14)
        self.span = (self.last - self.first).total_seconds()
        self.scale = max(0.5, world.residents / 8000)
        self.months = (world.today - world.start).days / 30.44
        self.townships = sorted(p.key for p in world.of_kind("township"))
        self.used: set[int] = set()

    def count(self, rate: float, least: int) -> int:
        return max(least, round(rate * self.scale * self.months))

    def times(self, n: int) -> list[datetime]:
        """Stratified over the period (each case in its own slice), at hours weighted like emergencies."""
        out = []
        for i in range(n):
            at = self.first + timedelta(seconds=self.span * (i + self.rng.random()) / n)
            hour = self.rng.choices(range(24), weights=(2, 2, 2, 2, 3, 4, 6, 7, 7, 6, 5, 5, 5, 5, 5, 5, 5, 5,
                                                        5, 5, 4, 4, 3, 2))[0]
            out.append(datetime.combine(at.astimezone(TZ).date(), time(hour, self.rng.randrange(60)), tzinfo=TZ))
        return [min(self.last, max(self.first, at)) for at in out]

    def patient(self, centre: str, day: date) -> Resident | None:
        rng, today = self.rng, self.world.today

        def fits(r: Resident) -> bool:
            age = r.age(today)
            if centre in (CP, ST):
                return age >= 40 and rng.random() < min(1.0, (age - 35) / 40)
            if centre == TR:
                return 16 <= age <= 80
            if centre == MA:
                return r.sex == "2" and 20 <= age <= 42
            return 0 <= (day - r.born).days <= 20
        for _ in range(400):
            i = rng.randrange(len(self.residents))
            r = self.residents[i]
            if i not in self.used and r.patient_id and fits(r):
                self.used.add(i)
                return r
        return None

    def plan(self) -> list[Plan]:
        rng, out = self.rng, []
        for scenario, (centre, rate, least) in SCENARIOS.items():
            onsets = self.times(self.count(rate, least))
            for onset in onsets:
                frac = (onset - self.first).total_seconds() / self.span
                resident = self.patient(centre, onset.date())
                if centre == NE and resident is not None:  # a newborn: the case comes after the birth
                    born = datetime.combine(resident.born, time(onset.hour, onset.minute), tzinfo=TZ)
                    onset = min(self.last, max(onset, born))
                in_hospital = rng.random() < IN_HOSPITAL and scenario not in ("stemi_pci", "stroke_lysis")
                mode = rng.choices(("ems", "self", "transfer"), weights=ARRIVAL[centre])[0]
                if in_hospital:
                    mode = "self"
                elif scenario in EDGES and (onset == onsets[0] or onset == onsets[-1]):
                    mode = "ems"  # the first and the last of them come by 120: every month has its figure
                p = Plan(scenario, centre, onset, frac, resident, mode, in_hospital)
                if mode == "transfer":
                    p.township = rng.choice(self.townships)
                if resident is None or (mode == "ems" and rng.random() < UNIDENTIFIED):
                    p.identified_later = resident is not None
                out.append(p)
        ems = [p for p in out if p.mode == "ems" and p.resident is not None and not p.identified_later]
        if ems and not any(p.identified_later for p in out):  # at least one, however small the demo
            ems[len(ems) // 2].identified_later = True
        self.centre_deviations(out)
        for p in out:
            getattr(self, f"_{p.centre}")(p)
            self._finish(p)
        self.pin_best(out)
        self.one_of_each(out)
        out.sort(key=lambda p: (p.onset, p.scenario))
        return out

    def centre_deviations(self, plans: list[Plan]) -> None:
        """The random part of DNT and D2B, centred within each calendar month: the monthly means follow
        the improving targets."""
        for scenarios, sd in ((("stroke_lysis",), 9.0), (("stemi_pci",), 13.0)):
            months: dict[tuple[int, int], list[Plan]] = {}
            for p in plans:
                if p.scenario in scenarios:
                    p.deviation = max(-2 * sd, min(2 * sd, self.rng.gauss(0, sd)))
                    months.setdefault((p.onset.year, p.onset.month), []).append(p)
            for group in months.values():
                mean = sum(p.deviation for p in group) / len(group)
                for p in group:
                    p.deviation -= mean

    # --- the 120 run, common to every centre ---------------------------------------------------------------

    def _arrival(self, p: Plan, delay: float) -> datetime:
        """The patient's way to the door: the 120 run, a township centre's first contact and transfer, or
        their own way. Returns the door time; fills the run, the first contact and the notice."""
        rng, k = self.rng, p.frac
        if p.in_hospital:
            return p.onset
        if p.mode == "ems":
            call = p.onset + _m(delay)
            p.call_at = call
            dispatched = call + _m(rng.uniform(1, 3))
            departed = dispatched + _m(rng.uniform(1, 3))
            on_scene = departed + _m(_delay(rng, 16, 6, 40))
            left = on_scene + _m(rng.uniform(10, 20))
            arrived = left + _m(_delay(rng, 22, 8, 55))
            p.run = {"dispatched": dispatched, "departed": departed, "on_scene": on_scene, "left_scene": left,
                     "arrived": arrived}
            # The notice: sent from the scene more often as the year goes on; otherwise at the door.
            if rng.random() < 0.6 + 0.3 * k:
                p.notice_at = on_scene + _m(rng.uniform(4, 12))
            else:
                p.notice_at = arrived + _m(rng.uniform(0, 3))
            return arrived
        if p.mode == "transfer":
            p.fmc = fmc = p.onset + _m(delay)
            p.notice_at = fmc + _m(rng.uniform(10, 30))
            return p.notice_at + _m(_delay(rng, 45, 25, 90))
        return p.onset + _m(delay * 1.5)

    def _opened(self, p: Plan, door: datetime) -> None:
        if p.notice_at is not None and p.notice_at <= door:
            p.opened_at = p.notice_at
        elif p.mode == "ems":
            p.opened_at = p.notice_at  # the notice at the door opens it
        else:
            p.opened_at = door + _m(self.rng.uniform(0, 2))

    # --- the centres -----------------------------------------------------------------------------------------

    def _chest_pain(self, p: Plan) -> None:
        rng, k = self.rng, p.frac
        stemi = p.scenario != "chest_other"
        door = self._arrival(p, _delay(rng, 100, 20, 300))
        p.nodes["symptom_onset"] = p.onset
        if p.in_hospital:
            fmc = p.onset + _m(rng.uniform(2, 10))
            door = fmc
        elif p.mode == "ems":
            fmc = p.run["on_scene"]
        elif p.mode == "transfer":
            fmc = p.fmc
        else:
            fmc = door + _m(rng.uniform(1, 4))
        p.nodes["first_medical_contact"] = fmc
        ecg = fmc + _m(_delay(rng, 9 - 4 * k, 2, 25))
        sent = ecg + _m(rng.uniform(1, 4)) if p.mode != "self" and rng.random() < 0.45 + 0.4 * k else None
        if p.mode == "ems":
            p.ecg = (ecg, sent)
            if sent and p.notice_at < p.run["arrived"]:  # the notice goes with the transmitted ECG
                p.notice_at = min(sent + _m(1), p.run["arrived"] - _m(1))
        else:
            p.nodes["first_ecg"] = ecg
            if sent:
                p.nodes["ecg_transmitted"] = sent
        if not p.in_hospital:
            p.nodes["door"] = door
        self._opened(p, door)
        if not stemi:
            p.disposition = rng.choice((Disposition.ADMITTED, Disposition.ADMITTED, Disposition.DISCHARGED,
                                        Disposition.CANCELLED))
            p.close_at = max(door, ecg) + _m(rng.uniform(40, 180))
            return
        diagnosis = (sent if sent else max(ecg, door)) + _m(_delay(rng, 7 - 2 * k, 2, 20))
        p.nodes["stemi_diagnosis"] = diagnosis
        p.nodes["dapt_loading"] = diagnosis + _m(rng.uniform(2, 10))
        if p.scenario == "stemi_lysis":
            start = max(diagnosis, door) + _m(_delay(rng, 25 - 8 * k, 8, 60))
            p.nodes["thrombolysis_start"] = start
            p.nodes["thrombolysis_end"] = start + _m(rng.uniform(30, 60))
            p.disposition = rng.choice((Disposition.ICU, Disposition.TRANSFERRED_OUT))
            p.close_at = p.nodes["thrombolysis_end"] + _m(rng.uniform(10, 60))
            return
        bypass_at = max(diagnosis + _m(1), p.opened_at)
        bypass = (p.mode != "self" and not p.in_hospital and bypass_at <= door and rng.random() < 0.2 + 0.5 * k)
        d2b = d2b_target(k) + p.deviation + (-14 if bypass else 0) + (10 if p.mode == "self" else 0)
        d2b = max(24.0, d2b)
        wire = door + _m(d2b)
        puncture = wire - _m(rng.uniform(8, 15))
        arrival = puncture - _m(rng.uniform(4, 9))
        arrival = max(arrival, door + _m(3))
        puncture = max(puncture, arrival + _m(2))
        wire = max(wire, puncture + _m(3))
        activation = min(diagnosis + _m(rng.uniform(1, 5)), arrival)
        ready = activation + _m(_delay(rng, 26 - 10 * k, 8, 45))
        p.nodes.update({"cath_lab_activation": activation, "cath_lab_ready": min(ready, arrival),
                        "cath_lab_arrival": arrival, "puncture": puncture, "wire_crossing": wire})
        if bypass:
            p.bypass_at = bypass_at
        p.disposition = Disposition.DIED if rng.random() < 0.04 else rng.choice((Disposition.ICU, Disposition.ADMITTED))
        p.close_at = wire + _m(rng.uniform(30, 90))

    def _stroke(self, p: Plan) -> None:
        rng, k = self.rng, p.frac
        door = self._arrival(p, _delay(rng, 70, 15, 240))
        p.nodes["last_known_well"] = p.onset
        if p.in_hospital:
            door = p.onset + _m(rng.uniform(5, 20))  # the ward calls the stroke team: "door" for the flow
        else:
            p.nodes["door"] = door
        self._opened(p, door)
        lysis = p.scenario == "stroke_lysis" or (p.scenario == "stroke_evt" and rng.random() < 0.5)
        if p.scenario == "stroke_lysis":
            dnt = max(22.0, dnt_target(k) + p.deviation)
        elif lysis:  # bridging: thrombolysis first, then the thrombectomy
            dnt = max(25.0, dnt_target(k) + rng.gauss(0, 6))
        else:
            dnt = max(25.0, _delay(rng, 55 - 15 * k, 25, 110))
        ct = door + _m(max(4, dnt * rng.uniform(0.25, 0.4)))
        read = ct + _m(max(2, dnt * rng.uniform(0.12, 0.2)))
        decision = read + _m(max(2, dnt * rng.uniform(0.1, 0.2)))
        p.nodes.update({"ct_start": ct, "ct_read": read, "labs_back": door + _m(rng.uniform(18, 40)),
                        "treatment_decision": decision})
        if p.mode == "ems" and p.notice_at and p.notice_at < door and rng.random() < 0.3 + 0.4 * k:
            p.bypass_at = p.notice_at + _m(1)  # straight to CT
        end = decision
        if lysis:
            p.nodes["thrombolysis_bolus"] = max(door + _m(dnt), decision + _m(1))
            end = p.nodes["thrombolysis_bolus"]
        if p.scenario == "stroke_evt":
            puncture = max(door, decision) + _m(_delay(rng, 80 - 20 * k, 40, 160))
            p.nodes["groin_puncture"] = puncture
            p.nodes["recanalisation"] = puncture + _m(rng.uniform(25, 75))
            end = p.nodes["recanalisation"]
        p.disposition = (rng.choice((Disposition.ICU, Disposition.ADMITTED)) if lysis or p.scenario == "stroke_evt"
                         else rng.choice((Disposition.ADMITTED, Disposition.ADMITTED, Disposition.TRANSFERRED_OUT)))
        p.close_at = end + _m(rng.uniform(20, 90))

    def _main(self, p: Plan, key: tuple[float, float, float], after: tuple[float, float]) -> None:
        rng, k = self.rng, p.frac
        door = self._arrival(p, _delay(rng, *key))
        if p.in_hospital:
            door = p.onset + _m(rng.uniform(2, 10))
        else:
            p.nodes["door"] = door
        self._opened(p, door)
        activation = (p.notice_at + _m(rng.uniform(1, 5)) if p.notice_at and p.notice_at < door
                      else door + _m(rng.uniform(2, 10)))
        intervention = door + _m(_delay(rng, 40 - 12 * k, 10, 120))
        p.nodes.update({"team_activation": activation, "key_intervention": intervention,
                        "disposition": intervention + _m(rng.uniform(*after))})
        if p.mode != "self" and p.notice_at and p.notice_at < door and rng.random() < 0.3:
            p.bypass_at = p.notice_at + _m(2)
        p.disposition = rng.choice((Disposition.ICU, Disposition.ADMITTED, Disposition.ADMITTED,
                                    Disposition.TRANSFERRED_OUT))
        if p.centre == TR and rng.random() < 0.25:
            p.disposition = Disposition.DISCHARGED
        p.close_at = p.nodes["disposition"] + _m(rng.uniform(5, 30))

    def _trauma(self, p: Plan) -> None:
        self._main(p, (20, 5, 120), (30, 150))

    def _maternal(self, p: Plan) -> None:
        self._main(p, (60, 10, 240), (30, 120))

    def _neonatal(self, p: Plan) -> None:
        self._main(p, (30, 5, 180), (20, 90))

    def _finish(self, p: Plan) -> None:
        """Missing nodes (never recorded) and the node to be corrected."""
        rng = self.rng
        mirrored = {"first_medical_contact", "door", "first_ecg", "ecg_transmitted"} if p.mode == "ems" else set()
        for code in sorted(p.nodes):
            if code in OPTIONAL and code not in mirrored and rng.random() < MISSING:
                p.missing.add(code)
        candidates = sorted(c for c in p.nodes if c not in p.missing and c not in mirrored
                            and c not in ("symptom_onset", "last_known_well", "first_medical_contact"))
        if candidates and rng.random() < CORRECTED:
            p.corrected = rng.choice(candidates)

    def one_of_each(self, plans: list[Plan]) -> None:
        """However small the demo, at least one node missing, one corrected and one bypass."""
        def optional(p: Plan) -> list[str]:
            return sorted(c for c in p.nodes if c in SHOWN_MISSING and c != p.corrected and c not in p.missing)
        usable = [p for p in plans if not p.in_hospital and optional(p)]
        if usable and not any(p.missing & SHOWN_MISSING for p in plans):
            usable[0].missing.add(optional(usable[0])[0])
        if usable and not any(p.corrected for p in plans):
            usable[-1].corrected = optional(usable[-1])[-1]
        if not any(p.bypass_at for p in plans):
            for p in plans:
                door = p.nodes.get("door")
                if p.mode == "ems" and p.centre != CP and door and p.notice_at + _m(2) <= door:
                    p.bypass_at = p.notice_at + _m(1)
                    break

    def pin_best(self, plans: list[Plan]) -> None:
        """The seeds' best door-to-wire time, 19 minutes, on the fastest bypass case of the last weeks."""
        late = [p for p in plans if p.bypass_at and p.scenario == "stemi_pci" and p.frac > 0.7
                and p.mode == "ems" and not p.in_hospital]
        if not late:
            return
        best = min(late, key=lambda p: p.nodes["wire_crossing"] - p.nodes["door"])
        door = best.nodes["door"]
        best.nodes.update({"cath_lab_arrival": door + _m(4), "puncture": door + _m(9), "wire_crossing": door + _m(19)})
        best.nodes["cath_lab_ready"] = max(best.nodes["cath_lab_activation"],
                                           min(best.nodes["cath_lab_ready"], door + _m(4)))
        best.missing -= {"puncture", "cath_lab_ready"}
        best.close_at = door + _m(60)


# --- writing it through the actions -----------------------------------------------------------------------


class Writer:
    def __init__(self, world: World, staff: Staff) -> None:
        self.world, self.staff, self.rng = world, staff, world.rng("green-write")
        self.counts: Counter = Counter()

    def node_actor(self, p: Plan, code: str) -> Actor:
        rng, pick = self.rng, self.staff.pick
        if p.mode == "transfer" and code in ("first_medical_contact", "first_ecg", "ecg_transmitted"):
            return rng.choice(self.staff.township[p.township])
        if code in ("door", "first_medical_contact", "first_ecg"):
            return pick(rng, "急诊医学科:nurse")
        if code == "ct_start":
            return pick(rng, "医学影像科:technician")
        if code == "labs_back":
            return pick(rng, "医学检验科:technician")
        if p.centre == TR and code == "team_activation":
            return pick(rng, "急诊医学科:doctor")
        return self.receiving(p)

    def receiving(self, p: Plan) -> Actor:
        """A doctor of the department that takes the patient: bypass, the centre's own nodes, closing."""
        return self.staff.pick(self.rng, f"{DEPARTMENT[p.centre]}:doctor")

    def complaint(self, centre: str | None) -> str:
        rng = self.rng
        text = rng.choice(COMPLAINTS[centre] if centre else OTHER_COMPLAINTS)
        return text.format(h=rng.randint(1, 6), w=rng.randint(28, 39))

    def call(self, crew: Actor, at: datetime, centre: str | None, resident: Resident | None) -> int:
        rng = self.rng
        phone = resident.phone if resident is not None and resident.phone and rng.random() < 0.8 else ""
        address = resident.address if resident is not None and resident.address else "杏林县城关"
        call = ed.do_take_call(crew, ed.NewCall(received_at=at, address=address[:200],
                                                complaint=self.complaint(centre), caller_phone=phone,
                                                suspected=centre or ""))
        self.counts["calls"] += 1
        return call.pk

    def prehospital(self, p: Plan | None, centre: str | None) -> ed.Prehospital:
        rng = self.rng
        data = ed.Prehospital(systolic=rng.randint(95, 190), diastolic=rng.randint(55, 110),
                              heart_rate=rng.randint(52, 125), respiratory_rate=rng.randint(14, 28),
                              spo2=rng.randint(88, 99), temperature=f"{rng.uniform(36.0, 37.8):.1f}",
                              glucose=f"{rng.uniform(4.5, 13.0):.1f}")
        if centre == ST:
            eye, verbal, motor = rng.randint(2, 4), rng.randint(2, 5), rng.randint(4, 6)
            data.gcs_eye, data.gcs_verbal, data.gcs_motor = eye, verbal, motor
            data.be_fast = {"balance": rng.random() < 0.4, "eyes": rng.random() < 0.2, "face": rng.random() < 0.7,
                            "arm": rng.random() < 0.8, "speech": rng.random() < 0.7}
            data.working_diagnosis = "急性脑卒中？"
        elif centre == CP:
            data.working_diagnosis = "急性STEMI？" if p and p.scenario != "chest_other" else "胸痛待查"
        elif centre == TR:
            data.gcs_eye, data.gcs_verbal, data.gcs_motor = rng.randint(2, 4), rng.randint(3, 5), rng.randint(4, 6)
            data.working_diagnosis = "多发伤"
        elif centre:
            data.working_diagnosis = {MA: "产科急症", NE: "新生儿危重"}[centre]
        else:
            data.working_diagnosis = "待查"
        return data

    def other_calls(self, residents: list[Resident], n: int, first: datetime, last: datetime) -> None:
        rng = self.rng
        span = (last - first).total_seconds()
        for i in range(n):
            at = (first + timedelta(seconds=span * (i + rng.random()) / n)).replace(second=0, microsecond=0)
            crew = rng.choice(self.staff.crew)
            call = self.call(crew, at, None, rng.choice(residents))
            t = at
            steps = ed.STEPS if rng.random() < 0.92 else ed.STEPS[:2]  # some are called off on the way
            for kind in steps:
                t += _m({"dispatched": rng.uniform(1, 3), "departed": rng.uniform(1, 3),
                         "on_scene": _delay(rng, 16, 6, 40), "left_scene": rng.uniform(10, 25),
                         "arrived": _delay(rng, 22, 8, 55)}[kind])
                ed.do_record_run_step(crew, call, kind, t, vehicle=f"冀D·120{rng.randint(1, 4):02d}")
                if kind == "on_scene":
                    ed.do_record_prehospital(crew, call, self.prehospital(None, None), at=t + _m(rng.uniform(3, 10)))
            self.counts["other_calls"] += 1

    def case(self, p: Plan) -> None:
        rng, staff = self.rng, self.staff
        todo: list[tuple[datetime, int, Callable[[], None]]] = []
        state: dict[str, int] = {}
        patient_id = p.resident.patient_id if p.resident is not None and not p.identified_later else None
        provisional = {}
        if patient_id is None:
            age = p.resident.age(p.onset.date()) if p.resident else (0 if p.centre == NE else rng.randint(40, 85))
            sex = p.resident.sex if p.resident else rng.choice("12")
            provisional = {"provisional_sex": sex, "provisional_age": age}

        def add(at: datetime, fn: Callable[[], None]) -> None:
            todo.append((max(at, p.opened_at) if p.opened_at else at, len(todo), fn))

        crew = rng.choice(staff.crew)
        if p.mode == "ems":
            def take_call() -> None:
                state["call"] = self.call(crew, p.call_at, p.centre, p.resident)
            todo.append((p.call_at, -1, take_call))
            for kind, at in p.run.items():
                todo.append((at, len(todo), lambda kind=kind, at=at: ed.do_record_run_step(
                    crew, state["call"], kind, at, vehicle="冀D·12001")))
            ecg_at, sent = p.ecg or (None, None)
            data = self.prehospital(p, p.centre)
            if p.centre == CP:
                data.ecg_at, data.ecg_transmitted_at = ecg_at, sent
                data.ecg_file = f"ECG-{ecg_at:%Y%m%d%H%M}" if sent else ""
                if "stemi" in p.scenario:
                    data.treatments = [ed.Treatment("阿司匹林 300mg 嚼服", ecg_at + _m(3))]
            record_at = (ecg_at if p.centre == CP else p.run["on_scene"]) + _m(rng.uniform(1, 4))
            record_at = min(record_at, p.run["arrived"])
            todo.append((record_at, len(todo), lambda: ed.do_record_prehospital(crew, state["call"], data,
                                                                                at=record_at)))

            def notice() -> None:
                sent_notice = ed.do_send_notice(crew, ed.Notice(
                    to_institution_id=self.world.places["county"].institution.pk, centre=p.centre,
                    call_id=state["call"], patient_id=patient_id, eta=p.run["arrived"],
                    summary=self.complaint(p.centre), **provisional), at=p.notice_at)
                state["case"] = sent_notice.case_id
                self.counts["notices"] += 1
            todo.append((p.notice_at, len(todo), notice))
        elif p.mode == "transfer":
            sender = rng.choice(staff.township[p.township])

            def notice() -> None:
                sent_notice = ed.do_send_notice(sender, ed.Notice(
                    to_institution_id=self.world.places["county"].institution.pk, centre=p.centre,
                    patient_id=patient_id, eta=p.nodes.get("door"), summary=self.complaint(p.centre),
                    **provisional), at=p.notice_at)
                state["case"] = sent_notice.case_id
                self.counts["notices"] += 1
            todo.append((p.notice_at, len(todo), notice))
        else:
            opener = staff.pick(rng, "急诊医学科:nurse") if not p.in_hospital else self.receiving(p)

            def open_case() -> None:
                case = ea.do_open_case(opener, ea.NewCase(
                    centre=p.centre, arrival_mode=ArrivalMode.SELF, patient_id=patient_id,
                    in_hospital_onset=p.in_hospital, **provisional), at=p.opened_at)
                state["case"] = case.pk
            todo.append((p.opened_at, len(todo), open_case))

        mirrored = {"first_medical_contact", "door"} | ({"first_ecg", "ecg_transmitted"} if p.mode == "ems" else set())
        for code, at in sorted(p.nodes.items(), key=lambda item: item[1]):
            if code in p.missing or (p.mode == "ems" and code in mirrored):
                continue
            actor = self.node_actor(p, code)
            if code == p.corrected:
                wrong = at + timedelta(minutes=rng.choice((-1, 1)) * rng.randint(3, 15))
                add(at, lambda code=code, at=at, actor=actor, wrong=wrong: self.corrected(p, state, actor, code,
                                                                                           at, wrong))
            else:
                add(at, lambda code=code, at=at, actor=actor: self.node(state, actor, code, at))
        if p.bypass_at is not None:
            add(p.bypass_at, lambda: self.bypass(p, state))
        if p.identified_later and p.resident is not None:
            when = (p.nodes.get("door") or p.opened_at) + _m(rng.uniform(15, 90))
            registrar = staff.registrar
            add(when, lambda: ea.do_identify_patient(registrar, state["case"], p.resident.patient_id, at=when))
            self.counts["identified_later"] += 1
        closer = self.receiving(p)
        latest = max([*p.nodes.values(), *(at for at, _seq, _fn in todo)])
        p.close_at = max(p.close_at, latest + _m(rng.uniform(5, 20)))
        add(p.close_at, lambda: ea.do_close_case(closer, state["case"], p.disposition, at=p.close_at))
        for _at, _seq, fn in sorted(todo, key=lambda item: (item[0], item[1])):
            fn()
        self.counts[p.centre] += 1
        self.counts[f"mode.{p.mode}"] += 1
        self.counts["missing"] += len(p.missing)
        self.counts["unidentified"] += patient_id is None

    def node(self, state: dict[str, int], actor: Actor, code: str, at: datetime) -> None:
        ea.do_record_node(actor, state["case"], code, at, source="tablet")

    def corrected(self, p: Plan, state: dict[str, int], actor: Actor, code: str, at: datetime,
                  wrong: datetime) -> None:
        """The wrong time first (if the order rule lets it through), then the correction with its reason."""
        try:
            row = ea.do_record_node(actor, state["case"], code, wrong, source="tablet")
        except ea.ActionError:
            row = ea.do_record_node(actor, state["case"], code, at + _m(1), source="tablet")
        if row.at == at:
            return
        ea.do_correct_node(actor, state["case"], code, at, self.rng.choice(REASONS), supersedes_id=row.pk,
                           source="tablet")
        self.counts["corrected"] += 1

    def bypass(self, p: Plan, state: dict[str, int]) -> None:
        ea.do_direct_bypass(self.receiving(p), state["case"], BYPASS_TO[p.centre], at=p.bypass_at)
        self.counts["bypass"] += 1


def check_in(world: World, staff: Staff, plans: list[Plan]) -> None:
    """The patients are checked in where they are seen: at the county hospital's desk, and at the township
    centre that sends them up (the care relationship the access rules look for)."""
    county = sorted({p.resident.resident_id for p in plans if p.resident is not None})
    if county:
        do_check_in_many(staff.registrar, county)
    by_township: dict[str, set[str]] = {}
    for p in plans:
        if p.mode == "transfer" and p.resident is not None:
            by_township.setdefault(p.township, set()).add(p.resident.resident_id)
    for key in sorted(by_township):
        do_check_in_many(world.places[key].registrar(), sorted(by_township[key]))


def run(world: World, residents: list[Resident]) -> None:
    """The whole stage: plan, then write every call and case through the actions; one progress line."""
    plans = Planner(world, residents).plan()
    staff = _staff(world)
    writer = Writer(world, staff)
    first = datetime.combine(world.start, time(0), tzinfo=TZ)
    last = datetime.combine(world.today, time(0), tzinfo=TZ) - timedelta(hours=4)
    scale = max(0.5, world.residents / 8000)
    others = round(OTHER_CALLS * scale * (world.today - world.start).days / 30.44)
    with transaction.atomic():
        check_in(world, staff, plans)
        for p in plans:
            writer.case(p)
        writer.other_calls(residents, others, first, last)
    c = writer.counts
    scope = Scope(start=world.start, end=world.today)
    done = reports(scope, ["stroke.dnt", "chest_pain.d2b", "chest_pain.d2b_min", "ems.prearrival_notice_rate"])
    values = {code: float(r.value) if r.value is not None else None for code, r in done.items()}
    world.counts.update({
        "green.cases": len(plans), "green.chest_pain": c[CP], "green.stroke": c[ST], "green.trauma": c[TR],
        "green.maternal": c[MA], "green.neonatal": c[NE], "green.calls": c["calls"],
        "green.notices": c["notices"], "green.bypass": c["bypass"], "green.corrected": c["corrected"],
        "green.missing_nodes": c["missing"], "green.identified_later": c["identified_later"],
        "green.nodes": NodeTime.objects.filter(case__institution=world.places["county"].institution).count(),
        "green.dnt_min": values["stroke.dnt"], "green.d2b_min": values["chest_pain.d2b"],
        "green.d2b_best_min": values["chest_pain.d2b_min"],
    })
    world.say("green", f"{len(plans)} green-channel cases (chest pain {c[CP]}, stroke {c[ST]}, trauma {c[TR]}, "
              f"maternal {c[MA]}, neonatal {c[NE]}; by 120 {c['mode.ems']}, sent up {c['mode.transfer']}), "
              f"{c['calls']} 120 calls, {c['notices']} notices, {c['bypass']} bypasses, {c['corrected']} "
              f"corrections, {c['missing']} nodes missing; DNT {values['stroke.dnt']} min, D2B "
              f"{values['chest_pain.d2b']} min")
