"""The results stage (issue 6, part 8): months of lab and exam results from every member, sent the way the
members' systems send them — HL7 v2 ORU^R01 over MLLP to a real listener on loopback (the township centres'
and the hospitals' LIS), FHIR transaction Bundles to the FHIR endpoint (the MCH hospital's LIS) — and the
hospitals' orders for referred patients, answered by recognition of the township centre's results or
overridden with a coded reason (docs/demo.md "Results and mutual recognition").

Planned in pure Python (`rng("results")`), from the visits and the up-referrals already recorded. Nothing is
written to the results tables directly: the listener and the FHIR view store the reports; the orders go
through `results.orders`. Showcases in any build: a message whose patient the index does not know (queued,
then matched when the township's HIS sends the ADT^A04 that links its record number), messages sent twice
(the original ACK, nothing stored twice), a corrected report (amended), a cancelled one, a critical value.
"""

import json
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.test import Client
from django.utils import timezone

from yilian.demo.days import TZ
from yilian.demo.network import Visit, visits_of
from yilian.demo.residents import Resident
from yilian.demo.world import SOURCE, Place, World
from yilian.interop import compose
from yilian.interop.client import send_messages
from yilian.interop.listener import start_listener
from yilian.interop.models import Unmatched
from yilian.interop.senders import NewSender, do_register_sender
from yilian.network.acting import SYSTEM, actor_for_membership
from yilian.network.models import Institution, Membership
from yilian.referrals.models import Referral
from yilian.results import catalogue
from yilian.results.actions import NewQualityPass, do_record_quality_passes
from yilian.results.load import load
from yilian.results.orders import NewOrder, do_accept, do_order, do_override

# --- the numbers ------------------------------------------------------------------------------------------
LAB_PER_VISIT = 0.015  # a visit at a township centre or hospital that sends a lab panel (the demo's scale)
EXAM_PER_VISIT = 0.006  # … or an exam (DR, ultrasound, ECG at a centre; CT and MR at the hospitals too)
CHRONIC_GLYC = 0.06  # a chronic patient's visit that checks glucose and HbA1c (the trend charts)
PANELS = [("CBC", 30), ("LFT", 10), ("RFT", 12), ("LIPID", 10), ("GLYC", 10), ("ELEC", 8), ("COAG", 4), ("UR", 14),
          ("CARD", 2)]
TOWNSHIP_EXAMS = [("DR-CHEST", 50), ("US-ABD", 25), ("ECG-12", 25)]
HOSPITAL_EXAMS = [("DR-CHEST", 25), ("CT-HEAD", 18), ("CT-CHEST", 18), ("CT-ABD", 8), ("US-ABD", 12), ("MR-HEAD", 5),
                  ("MR-LSPINE", 4), ("US-HEART", 4), ("ECG-12", 6)]
# What a township centre did before sending a patient up, by the receiving department.
BEFORE_REFERRAL = {"心血管内科": ["CBC", "ELEC", "LIPID", "ECG-12"], "神经内科": ["CBC", "GLYC", "CT-HEAD"],
                   "呼吸内科": ["CBC", "DR-CHEST"], "消化内科": ["CBC", "LFT", "US-ABD"], "内分泌科": ["GLYC", "RFT", "LIPID"],
                   "普通外科": ["CBC", "COAG", "US-ABD"], "骨科": ["CBC", "DR-LSPINE"], "泌尿外科": ["UR", "RFT", "US-ABD"]}
DEFAULT_BEFORE = ["CBC", "RFT", "DR-CHEST"]
ACCEPT = 0.85  # of the orders with a recognisable earlier result, accepted
OVERRIDES = [("acute_change", 45), ("clinical_need", 30), ("questionable", 15), ("patient_request", 10)]
ABNORMAL = 0.12  # a value outside its interval
CRITICAL = 0.004  # a value beyond a critical limit
NO_QC = 3  # the last township centres have no quality-control pass: their results are not recognised
EXAM_WAIT_MIN = (2, 20)
FLOOR = 6  # panels at the showcase township centre and at the MCH hospital, in any build  # minutes from order to exam start at the hospitals (the seed's "8 minutes")

CONCLUSIONS = {
    "DR-CHEST": ("双肺纹理清晰，心影不大，膈面光整。", "心肺膈未见明显异常。"),
    "DR-LSPINE": ("腰椎生理曲度变直，L4/5椎间隙略窄，骨质增生。", "腰椎退行性变。"),
    "CT-HEAD": ("脑实质内未见异常密度影，脑室系统不大，中线居中。", "颅脑CT平扫未见明显异常。"),
    "CT-CHEST": ("右肺下叶见小结节，直径约4mm，边界清。", "右肺下叶小结节，建议年度复查。"),
    "CT-ABD": ("肝实质密度均匀，胆囊不大，胰腺、脾脏未见异常。", "上腹部CT平扫未见明显异常。"),
    "MR-HEAD": ("双侧基底节区见少许斑点状长T2信号。", "双侧基底节区腔隙性缺血灶。"),
    "MR-LSPINE": ("L4/5椎间盘向后突出，硬膜囊受压。", "L4/5椎间盘突出。"),
    "US-ABD": ("肝脏大小正常，回声稍增强，胆囊壁光滑。", "轻度脂肪肝。"),
    "US-HEART": ("各房室大小正常，室壁运动协调，EF 62%。", "心脏结构及功能未见明显异常。"),
    "ECG-12": ("窦性心律，心率72次/分，ST-T未见明显异常。", "正常心电图。"),
}


@dataclass
class Work:
    """One report to send: a panel's values or an exam's conclusion, done at `place` for a patient."""

    place_key: str
    patient_id: int
    code: str
    collected_at: datetime
    reported_at: datetime
    ordered_at: datetime | None = None
    values: list = field(default_factory=list)  # [(item code, name, value text, unit, loinc)]
    conclusion: tuple[str, str] = ("", "")
    status: str = "F"
    filler: str = ""  # the filler order number, once sent


def value_for(rng: random.Random, item: catalogue.Item, sex: str, age: int, chronic: bool) -> str:
    """A plausible value of an item: inside the patient's interval mostly, outside it sometimes, rarely
    beyond a critical limit; glucose and HbA1c higher for a chronic patient."""
    interval = catalogue.interval_for(item, sex, age) or (item.intervals[0] if item.intervals else None)
    if interval is None or interval.high is None:
        return rng.choice(["阴性", "阴性", "阴性", "弱阳性"]) if item.unit in ("", "-") else "1.015"
    low = interval.low if interval.low is not None else interval.high / 4
    high = interval.high
    span = high - low
    draw = rng.random()
    if item.code in ("GLU", "HBA1C") and chronic:
        value = high + span * Decimal(str(rng.uniform(0.05, 0.9)))
    elif draw < CRITICAL and (interval.critical_high is not None or interval.critical_low is not None):
        value = (interval.critical_high * Decimal("1.1") if interval.critical_high is not None
                 else interval.critical_low * Decimal("0.8"))
    elif draw < ABNORMAL:
        value = (high + span * Decimal(str(rng.uniform(0.05, 0.6))) if rng.random() < 0.7
                 else low - span * Decimal(str(rng.uniform(0.02, 0.2))))
    else:
        value = low + span * Decimal(str(rng.uniform(0.1, 0.9)))
    places = max(0, -high.as_tuple().exponent)
    return f"{max(value, Decimal(0)):.{places}f}"


def panel_values(rng: random.Random, panel: str, sex: str, age: int, chronic: bool) -> list:
    out = []
    for item in catalogue.items().values():
        if item.panel == panel:
            out.append((item.code, item.name, value_for(rng, item, sex, age, chronic), item.unit, item.loinc))
    return out


def at_local(day: date, minutes: int) -> datetime:
    return datetime.combine(day, time.min, tzinfo=TZ) + timedelta(minutes=minutes)


@dataclass
class Senders:
    hl7: dict[str, tuple[str, str]] = field(default_factory=dict)  # place key → (MSH-3, MSH-4)
    fhir_token: str = ""  # the MCH hospital's LIS posts FHIR Bundles


def set_up(world: World) -> Senders:
    """Each township centre's and hospital's LIS (HL7 v2; the MCH hospital's posts FHIR), one township
    HIS (ADT); quality-control passes for the hospitals and all but the last `NO_QC` township centres; the
    prices of every member."""
    out = Senders()
    labs = [p for p in world.places.values() if _has_lab(p)]
    for place in labs:
        code = place.institution.code
        _sender, token = do_register_sender(SYSTEM, NewSender(
            f"{code}-LIS", f"{place.institution.short_name}检验系统", place.institution.pk, hl7_application="LIS",
            hl7_facility=code, fhir=place.key == "mch"))
        out.hl7[place.key] = ("LIS", code)
        out.fhir_token = token or out.fhir_token
    for place in _townships(world):  # their HIS (ADT^A04 registrations)
        centre = place.institution
        do_register_sender(SYSTEM, NewSender(f"{centre.code}-HIS", f"{centre.short_name}HIS", centre.pk,
                                             hl7_application="HIS", hl7_facility=centre.code))
    qualified = [p for p in labs if p.kind != "township"] + _townships(world)[:-NO_QC]
    do_record_quality_passes(SYSTEM, [
        NewQualityPass(p.institution.pk, "", world.start - timedelta(days=200), world.today + timedelta(days=165),
                       "市临床检验中心" if p.kind == "township" else "省临床检验中心")
        for p in qualified])
    load(Institution.objects.all())
    return out


def _townships(world: World) -> list[Place]:
    return sorted(world.of_kind("township"), key=lambda p: p.institution.code)


HOSPITALS = ("county", "tcm", "mch")  # place keys


def _has_lab(place: Place) -> bool:
    return place.kind == "township" or place.key in HOSPITALS


def showcase_township(visits: list[Visit], residents: dict[int, Resident]) -> str:
    """The township centre with the most visits of registered residents (the showcases happen there)."""
    seen: dict[str, int] = {}
    for visit in visits:
        if visit.place.kind == "township" and visit.patient_id in residents:
            seen[visit.place.key] = seen.get(visit.place.key, 0) + 1
    return min(seen, key=lambda key: (-seen[key], key))


# --- planning ----------------------------------------------------------------------------------------------


def _pick(rng: random.Random, weighted) -> str:
    return rng.choices([k for k, _w in weighted], [w for _k, w in weighted])[0]


def _work(rng: random.Random, place_key: str, resident: Resident, code: str, ordered: datetime,
          wait: tuple[int, int] = EXAM_WAIT_MIN) -> Work:
    ordered = ordered.replace(second=0, microsecond=0)
    collected = ordered + timedelta(minutes=rng.randint(*wait))
    item = catalogue.panels().get(code)
    if item is not None:
        age = resident.age(ordered.astimezone(TZ).date())
        values = panel_values(rng, code, resident.sex, age, resident.chronic)
        return Work(place_key, resident.patient_id, code, collected, collected + timedelta(minutes=rng.randint(40, 180)),
                    ordered, values)
    return Work(place_key, resident.patient_id, code, collected, collected + timedelta(minutes=rng.randint(15, 90)),
                ordered, conclusion=CONCLUSIONS[code])


def plan_visits(world: World, rng: random.Random, visits: list[Visit], residents: dict[int, Resident],
                end_at: datetime, showcase: str) -> list[Work]:
    """The tests done at the visits themselves: panels (glucose and HbA1c for chronic patients) and exams;
    at least `FLOOR` panels at the showcase township centre, the county hospital and the MCH hospital (the
    FHIR sender)."""
    floor = {showcase: FLOOR, "mch": FLOOR, "county": FLOOR}
    out = []
    for visit in visits:
        resident = residents.get(visit.patient_id)
        if resident is None or not _has_lab(visit.place):
            continue
        ordered = visit.start + timedelta(minutes=rng.randint(3, 12))
        codes = []
        if resident.chronic and rng.random() < CHRONIC_GLYC:
            codes.append("GLYC")
        if rng.random() < LAB_PER_VISIT:
            codes.append(_pick(rng, PANELS))
        if rng.random() < EXAM_PER_VISIT:
            codes.append(_pick(rng, TOWNSHIP_EXAMS if visit.place.kind == "township" else HOSPITAL_EXAMS))
        if not codes and visit.place.key in floor and floor[visit.place.key] > 0:
            codes.append("CBC")  # a small build still shows every path
        for code in dict.fromkeys(codes):
            work = _work(rng, visit.place.key, resident, code, ordered)
            if work.reported_at < end_at:
                out.append(work)
                if work.values and visit.place.key in floor:
                    floor[visit.place.key] -= 1
    return out


@dataclass
class Arrival:
    """An up-referred patient at the receiving hospital: what the township centre did before sending them,
    and what the hospital's doctor orders on arrival."""

    referral: Referral
    place_key: str
    doctor: Membership
    before: list[Work]
    orders: list[str]
    circumstances: list[str]
    at: datetime


def plan_arrivals(world: World, rng: random.Random, residents: dict[int, Resident], end_at: datetime) -> list[Arrival]:
    by_pk = {p.institution.pk: p for p in world.places.values()}
    out = []
    referrals = (Referral.objects.filter(direction="up", arrived_at__isnull=False, arrived_at__lt=end_at)
                 .select_related("to_department").order_by("created_at", "number"))
    for referral in referrals:
        source, target = by_pk.get(referral.from_institution_id), by_pk.get(referral.to_institution_id)
        resident = residents.get(referral.patient_id)
        if source is None or target is None or resident is None or source.kind != "township":
            continue
        if target.key not in HOSPITALS:
            continue
        department = referral.to_department.name if referral.to_department else ""
        doctors = target.doctors.get(department) or []
        if not doctors:
            continue
        codes = BEFORE_REFERRAL.get(department, DEFAULT_BEFORE)
        ordered = referral.created_at - timedelta(minutes=rng.randint(240, 360))  # reported before it is sent
        before = [_work(rng, source.key, resident, code, ordered, (5, 40)) for code in codes]
        before = [w for w in before if w.reported_at < referral.created_at]
        at = referral.arrived_at + timedelta(minutes=rng.randint(10, 40))
        if at >= end_at:
            continue
        orders = list(codes) + ([rng.choice(["CT-HEAD", "CT-CHEST", "US-HEART"])] if rng.random() < 0.3 else [])
        circumstances = ["emergency"] if referral.urgency == "emergency" else []
        doctor = target.doctor_memberships[doctors[referral.pk % len(doctors)]]
        out.append(Arrival(referral, target.key, doctor, before, list(dict.fromkeys(orders)), circumstances, at))
    return out


# --- the wire ----------------------------------------------------------------------------------------------


class Wire:
    """The members' systems talking to Yilian: HL7 messages to the listener, Bundles to the FHIR endpoint."""

    def __init__(self, world: World, senders: Senders, residents: dict[int, Resident], port: int):
        self.world, self.senders, self.residents, self.port = world, senders, residents, port
        self.serial = 0
        self.fillers: dict[str, int] = {}
        self.sent: list[str] = []
        self.acks: dict[str, int] = {}
        self.fhir = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {senders.fhir_token}")
        self.fhir_status: dict[int, int] = {}

    def person(self, patient_id: int, *, mrn: str = "", with_id: bool = True) -> compose.Person:
        resident = self.residents[patient_id]
        ids = [("NNCHN", resident.resident_id, "GB11643")] if with_id and resident.resident_id else []
        if mrn:
            ids.append(("MR", mrn, ""))
        return compose.Person(ids, resident.name, "M" if resident.sex == "1" else "F", resident.born)

    def filler(self, work: Work) -> str:
        key = f"{work.place_key}:{work.code}"
        self.fillers[key] = self.fillers.get(key, 0) + 1
        work.filler = f"{work.collected_at.astimezone(TZ):%Y%m%d}{work.code}{self.fillers[key]:05d}"
        return work.filler

    def message(self, work: Work, filler: str, *, person: compose.Person | None = None) -> str:
        application, facility = self.senders.hl7[work.place_key]
        self.serial += 1
        local = {k: getattr(work, k).astimezone(TZ) if getattr(work, k) else None
                 for k in ("collected_at", "reported_at", "ordered_at")}
        item = catalogue.panels().get(work.code)
        if item is not None:
            values = [compose.Value(code, name, value, unit, loinc=loinc) for code, name, value, unit, loinc in work.values]
            name = item.name
        else:
            findings, impression = work.conclusion
            values = [compose.Value("FINDINGS", "检查所见", findings, kind="TX"),
                      compose.Value("IMPRESSION", "诊断意见", impression, kind="TX")]
            name = work.code
        result = compose.Result(filler, work.code, name, local["collected_at"], local["reported_at"],
                                local["ordered_at"], work.status, values)
        return compose.oru_r01(application, facility, f"{facility}{self.serial:08d}",
                               person or self.person(work.patient_id), [result], local["reported_at"])

    def bundle(self, work: Work, filler: str) -> dict:
        """A transaction Bundle as the MCH hospital's LIS posts it: the DiagnosticReport with its values as
        contained Observations (LOINC where the item has one), created only if its identifier is new."""
        resident = self.residents[work.patient_id]
        mch = self.world.places["mch"].institution.code
        contained = []
        for i, (code, _name, value, unit, loinc) in enumerate(work.values):
            coding = [{"system": "http://loinc.org", "code": loinc}] if loinc else []
            coding.append({"system": "http://yilian.org.cn/fhir/CodeSystem/item", "code": code})
            number = compose.number(value)
            obs = {"resourceType": "Observation", "id": f"v{i}", "status": "final", "code": {"coding": coding}}
            quantity = {"value": number, "unit": unit} if unit else {"value": number}
            obs.update({"valueQuantity": quantity} if number is not None else {"valueString": value})
            contained.append(obs)
        identifier = {"system": f"http://lis.{mch}.example/report", "value": filler}
        report = {
            "resourceType": "DiagnosticReport", "identifier": [identifier], "status": "final",
            "code": {"coding": [{"system": "http://yilian.org.cn/fhir/CodeSystem/item", "code": work.code}]},
            "subject": {"reference": "Patient?identifier=http://yilian.org.cn/fhir/sid/resident-id|"
                                     f"{resident.resident_id}"},
            "effectiveDateTime": work.collected_at.astimezone(TZ).isoformat(),
            "issued": work.reported_at.astimezone(TZ).isoformat(),
            "contained": contained, "result": [{"reference": f"#{o['id']}"} for o in contained],
        }
        return {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001", "resource": report,
             "request": {"method": "POST", "url": "DiagnosticReport",
                         "ifNoneExist": f"identifier={identifier['system']}|{filler}"}}]}

    def send(self, batch: list[tuple[Work, str]]) -> None:
        """Send a batch in time order: the MCH hospital's panels as FHIR Bundles, the rest over MLLP."""
        messages = []
        for _work, text in sorted(batch, key=lambda b: (b[0].reported_at, b[1])):
            if text.startswith("{"):
                response = self.fhir.post("/fhir/r4b/", text, content_type="application/fhir+json")
                self.fhir_status[response.status_code] = self.fhir_status.get(response.status_code, 0) + 1
            else:
                messages.append(text)
        self.hl7(messages)

    def hl7(self, messages: list[str]) -> list[str]:
        if not messages:
            return []
        acks = send_messages("127.0.0.1", self.port, messages)
        for ack in acks:
            code = ack.split("MSA|", 1)[1][:2] if "MSA|" in ack else "??"
            self.acks[code] = self.acks.get(code, 0) + 1
        self.sent.extend(messages)
        return acks

    def prepare(self, works: list[Work]) -> list[tuple[Work, str]]:
        out = []
        for work in works:
            filler = self.filler(work)
            if work.place_key == "mch" and work.code in catalogue.panels() and self.residents[work.patient_id].resident_id:
                out.append((work, json.dumps(self.bundle(work, filler), ensure_ascii=False)))
            else:
                out.append((work, self.message(work, filler)))
        return out


# --- the stage ---------------------------------------------------------------------------------------------


def _decide(rng: random.Random, actor, arrival: Arrival, code: str, wire: Wire, news: list[Work]) -> str:
    """Order one item on arrival: accept the newest recognisable result (most of the time) or override
    with a reason; with none offered, or overridden, the test is done again at the hospital."""
    placed = do_order(actor, NewOrder(arrival.referral.patient_id, code, arrival.circumstances), at=arrival.at)
    decided = arrival.at + timedelta(minutes=rng.randint(1, 4))
    if placed.check.reports:
        if rng.random() < ACCEPT:
            do_accept(actor, placed.order.pk, placed.check.reports[0].pk, at=decided)
            return "accepted"
        reason = _pick(rng, OVERRIDES)
        do_override(actor, placed.order.pk, reason, "复查以评估病情" if reason == "acute_change" else "", at=decided)
        outcome = "overridden"
    else:
        outcome = "new"
    news.append(_work(rng, arrival.place_key, wire.residents[arrival.referral.patient_id], code, arrival.at))
    return outcome


def _corrected(value: str) -> str:
    number = compose.number(value)
    return value if number is None else f"{number * 1.1:.2f}"


def _showcases(world: World, wire: Wire, works: list[Work], showcase: str) -> dict[str, int]:
    """Sent twice; a correction and a cancellation; a patient the index does not know (by record number
    only), matched when the township's HIS sends the ADT^A04 that links the number."""
    counts = {}
    acks = wire.hl7(wire.sent[:5])
    counts["results.duplicates_resent"] = len(acks)
    township = world.places[showcase]
    mine = [w for w in works if w.place_key == township.key and w.values]
    if len(mine) >= 3:
        corrected, cancelled, unknown = mine[0], mine[1], mine[2]
        fix = Work(**{**corrected.__dict__, "status": "C",
                      "reported_at": corrected.reported_at + timedelta(hours=2)})
        c, n, v, u, loinc = corrected.values[0]
        fix.values = [(c, n, _corrected(v), u, loinc), *corrected.values[1:]]
        stop = Work(**{**cancelled.__dict__, "status": "X", "values": [],
                       "reported_at": cancelled.reported_at + timedelta(hours=1)})
        wire.hl7([wire.message(fix, corrected.filler), wire.message(stop, cancelled.filler)])
        mrn = f"{township.institution.code}-{unknown.patient_id:07d}"
        again = Work(**{**unknown.__dict__, "collected_at": unknown.collected_at + timedelta(days=1),
                        "reported_at": unknown.reported_at + timedelta(days=1)})
        wire.hl7([wire.message(again, wire.filler(again), person=wire.person(unknown.patient_id, mrn=mrn, with_id=False))])
        counts["results.unmatched_queued"] = Unmatched.objects.count()
        his = township.institution.code
        wire.serial += 1
        wire.hl7([compose.adt("HIS", his, f"{his}{wire.serial:08d}",
                              wire.person(unknown.patient_id, mrn=mrn), again.reported_at.astimezone(TZ))])
        counts["results.unmatched_left"] = Unmatched.objects.filter(status="pending").count()
    return counts


def run(world: World, people: list[Resident]) -> None:
    """Set up the senders, send the period's results through the listener and the FHIR endpoint, then the
    hospitals' orders for the referred patients with their recognition decisions, and the tests done again."""
    end_at = timezone.make_aware(datetime.combine(world.today, time.min))
    rng = world.rng("results")
    residents = {r.patient_id: r for r in people if r.patient_id}
    senders = set_up(world)
    visits = visits_of(world)
    showcase = showcase_township(visits, residents)
    works = plan_visits(world, rng, visits, residents, end_at, showcase)
    arrivals = plan_arrivals(world, rng, residents, end_at)
    works += [w for a in arrivals for w in a.before]
    listener = start_listener("127.0.0.1", 0, workers=1)
    wire = Wire(world, senders, residents, listener.port)
    try:
        prepared = wire.prepare(works)
        wire.send(prepared)
        outcomes: dict[str, int] = {}
        news: list[Work] = []
        for arrival in arrivals:
            actor = actor_for_membership(arrival.doctor, source=SOURCE)
            for code in arrival.orders:
                outcome = _decide(rng, actor, arrival, code, wire, news)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        wire.send(wire.prepare([w for w in news if w.reported_at < end_at]))
        counts = _showcases(world, wire, works, showcase)
    finally:
        listener.stop()
    counts.update({"results.reports": len(works) + len(news), "results.hl7_sent": len(wire.sent),
                   "results.fhir_posted": sum(wire.fhir_status.values()),
                   "results.orders": sum(outcomes.values()), "results.recognised_orders": outcomes.get("accepted", 0),
                   "results.overridden": outcomes.get("overridden", 0), "results.new_tests": outcomes.get("new", 0)})
    world.counts.update(counts)
    world.say("results", f"{len(wire.sent)} HL7 messages (ACK {wire.acks}), {counts['results.fhir_posted']} FHIR "
              f"bundles ({wire.fhir_status}); {counts['results.orders']} orders on arrival: "
              f"{counts['results.recognised_orders']} recognised, {counts['results.overridden']} overridden, "
              f"{counts['results.new_tests']} with nothing to recognise; unmatched {counts.get('results.unmatched_queued', 0)}"
              f" queued, {counts.get('results.unmatched_left', 0)} left")
