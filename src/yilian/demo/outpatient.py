"""The outpatient stage: every planned outpatient visit goes through the desk. A share is booked beforehand
(more as the months go by) at the window, on the self-service page or by phone; some bookings are cancelled
or missed. On the day the booking is checked in, or the patient walks in; the registration reuses one still
valid in the same department (a return within 3 days), or a free rule waives the fee, or the fee is charged,
and it opens the outpatient encounter with the visit's charges, so that a visit is counted once. Then the
queue: arrival, check-in, call, start, end.

The set-up is `demo.clinics`, the plan `demo.outpatient_plan` (pure Python under `world.rng("outpatient")`);
the writes go through `scheduling.batch` and `scheduling.batch_visits` as each institution's registrar and
each doctor. See docs/demo.md "Outpatient".
"""

from collections import defaultdict

from yilian.analytics.registry import Scope
from yilian.demo import clinics
from yilian.demo.outpatient_plan import Booked, Out, Plan, plan_outpatient
from yilian.demo.residents import Duplicate, Resident
from yilian.demo.visits import PlannedVisit
from yilian.demo.world import SOURCE, World
from yilian.network.acting import actor_for_membership
from yilian.scheduling import indicators as ind
from yilian.scheduling.batch import (
    Cancellation,
    NewBooking,
    NoShow,
    do_book_many,
    do_cancel_many,
    do_mark_no_show_many,
)
from yilian.scheduling.batch_visits import PastVisit, Seen, do_check_in_visits, do_see_visits

BATCH = 1000


# --- writing it through the batch actions ---------------------------------------------------------------


def _chunks(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _book(world: World, bookings: list[Booked]) -> None:
    by_desk: dict[str, list[Booked]] = defaultdict(list)
    for b in sorted(bookings, key=lambda b: (b.at, b.patient_id)):
        by_desk[b.desk].append(b)
    for desk in sorted(by_desk):
        actor = world.places[desk].registrar()
        for chunk in _chunks(by_desk[desk]):
            made = do_book_many(actor, [NewBooking(b.patient_id, b.slot.id, b.at, b.channel) for b in chunk])
            for b, booking in zip(chunk, made, strict=True):
                b.id = booking.pk


def _by_place(items, place_of) -> dict[str, list]:
    out: dict[str, list] = defaultdict(list)
    for item in items:
        out[place_of(item)].append(item)
    return out


def _close_bookings(world: World, bookings: list[Booked]) -> None:
    cancelled = sorted((b for b in bookings if b.cancel_at), key=lambda b: (b.cancel_at, b.id))
    for place, group in sorted(_by_place(cancelled, lambda b: b.place).items()):
        for chunk in _chunks(group):
            do_cancel_many(world.places[place].registrar(), [Cancellation(b.id, b.cancel_at, "患者改约")
                                                             for b in chunk])
    missed = sorted((b for b in bookings if b.no_show_at), key=lambda b: (b.no_show_at, b.id))
    for place, group in sorted(_by_place(missed, lambda b: b.place).items()):
        for chunk in _chunks(group):
            do_mark_no_show_many(world.places[place].registrar(), [NoShow(b.id, b.no_show_at) for b in chunk])


def _past_visit(world: World, out: Out) -> PastVisit:
    arrived, checked, *_seen, ended = out.times
    if out.booking is not None:
        return PastVisit(arrived, checked, booking_id=out.booking.id, disabled=out.disabled,
                         end=None if out.reuse else ended, charges=out.charges)
    return PastVisit(arrived, checked, patient_id=out.patient_id,
                     department_id=world.places[out.place].departments[out.department].pk, doctor_id=out.doctor,
                     disabled=out.disabled, end=None if out.reuse else ended, charges=out.charges)


def _check_in(world: World, visits: list[Out]) -> dict[str, int]:
    counts = defaultdict(int)
    for place, group in sorted(_by_place(visits, lambda o: o.place).items()):
        actor = world.places[place].registrar()
        for chunk in _chunks(group):
            entries = do_check_in_visits(actor, [_past_visit(world, o) for o in chunk])
            for out, entry in zip(chunk, entries, strict=True):
                out.entry_id = entry.pk
                reg = entry.registration
                counts["registrations"] += 1
                if reg.reused_from_id is not None:
                    counts["reuses"] += 1
                else:
                    counts["encounters"] += 1
                    counts["charges"] += len(out.charges) + (1 if reg.fee else 0)
                    counts["waivers"] += 0 if reg.fee else 1
    return counts


def _see(world: World, visits: list[Out]) -> int:
    groups = _by_place(visits, lambda o: (o.place, o.doctor))
    for (place_key, doctor), group in sorted(groups.items()):
        place = world.places[place_key]
        membership = place.doctor_memberships.get(doctor) or place.visiting[doctor]
        actor = actor_for_membership(membership, source=SOURCE)
        for chunk in _chunks(group):
            do_see_visits(actor, [Seen(o.entry_id, *o.times[2:]) for o in chunk])
    return len(groups)


def record_outpatient(world: World, plan: Plan) -> None:
    _book(world, plan.bookings)
    _close_bookings(world, plan.bookings)
    channels = defaultdict(int)
    for b in plan.bookings:
        channels[b.channel] += 1
    cancelled = sum(1 for b in plan.bookings if b.cancel_at)
    missed = sum(1 for b in plan.bookings if b.no_show_at)
    world.say("bookings", f"{len(plan.bookings)} bookings ({', '.join(f'{c} {n}' for c, n in sorted(channels.items()))}"
              f"), {cancelled} cancelled, {missed} no-shows")
    counts = _check_in(world, plan.visits)
    doctors = _see(world, plan.visits)
    world.counts["encounters"] = world.counts.get("encounters", 0) + counts["encounters"]
    world.counts["charges"] = world.counts.get("charges", 0) + counts["charges"]
    world.counts.update({
        "outpatient.bookings": len(plan.bookings), "outpatient.cancelled": cancelled, "outpatient.no_shows": missed,
        "outpatient.registrations": counts["registrations"], "outpatient.reuses": counts["reuses"],
        "outpatient.waivers": counts["waivers"], "outpatient.returns": sum(1 for o in plan.visits if o.returning),
        "outpatient.dropped": plan.dropped})
    world.say("registrations", f"{counts['registrations']} registrations and queue entries: {counts['encounters']} "
              f"outpatient encounters, {counts['reuses']} reused within validity, {counts['waivers']} waived; "
              f"called by {doctors} doctors")


def run(world: World, residents: list[Resident], duplicates: list[Duplicate], planned: list[PlannedVisit]) -> None:
    """The whole stage: policies, contracts, clinics and slots; then the visits through the desk."""
    clinics.set_policies(world)
    contracts = clinics.sign_contracts(world, residents)
    timetable = clinics.create_clinics(world)
    slots = timetable.add_slots()
    kinds = defaultdict(int)
    for clinic in timetable.clinics.values():
        kinds[clinic.kind] += 1
    world.counts.update({"outpatient.schedules": len(timetable.clinics), "outpatient.slots": slots,
                         "outpatient.contracts": contracts})
    world.say("clinics", f"fees, policy and free rules at {len(world.places)} institutions, {contracts} "
              f"family-doctor contracts, {len(timetable.clinics)} schedules "
              f"({', '.join(f'{k} {n}' for k, n in sorted(kinds.items()))}), {slots} slots")
    record_outpatient(world, plan_outpatient(world, residents, duplicates, planned, timetable))


def summarise(world: World) -> None:
    """The outpatient indicators of the whole period, into the counts and one progress line."""
    scope = Scope(start=world.start, end=world.today)
    rate, booked_wait, wait = ind.booking_rate(scope), ind.wait_after_booking(scope), ind.wait_check_in_to_call(scope)
    values = {
        "outpatient.booking_rate_pct": round(float(rate or 0) * 100, 1),
        "outpatient.booked_wait_min": float(booked_wait or 0), "outpatient.wait_min": float(wait or 0),
        "outpatient.expert_visits": ind.expert_visits(scope),
        "registration.reuse_patients": ind.fees_waived_patients(scope),
        "registration.fees_waived": float(ind.fees_waived_amount(scope)),
    }
    world.counts.update(values)
    world.say("outpatient", f"预约诊疗率 {values['outpatient.booking_rate_pct']}%, 预约后等待 "
              f"{values['outpatient.booked_wait_min']} min, 候诊 {values['outpatient.wait_min']} min, "
              f"专家门诊 {values['outpatient.expert_visits']}, 免挂号费 {values['registration.reuse_patients']} "
              f"patients ¥{values['registration.fees_waived']:.2f}")

