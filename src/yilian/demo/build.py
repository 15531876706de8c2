"""Build the demo consortium, stage by stage (see docs/demo.md).

Deterministic: the same seed, sizes and `today` give identical data. `today` defaults to the local date
(Asia/Shanghai); activity covers the `months` months before it, up to and including yesterday, so that no
visit lies in the future whatever the hour of the build.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.utils import timezone

from yilian.analytics.registry import Scope
from yilian.care.indicators import drug_ratio, grassroots_visit_rate
from yilian.demo import green, institutions, network, outpatient, residents, results, staff, visits
from yilian.demo.data.county import TOWNSHIPS
from yilian.demo.world import World
from yilian.network.models import Consortium

DEFAULT_SEED = 2026
DEFAULT_RESIDENTS = 8000
DEFAULT_MONTHS = 6


@dataclass(frozen=True)
class Options:
    seed: int = DEFAULT_SEED
    residents: int = DEFAULT_RESIDENTS
    months: int = DEFAULT_MONTHS
    today: date | None = None


def months_before(today: date, months: int) -> date:
    year, month = divmod(today.year * 12 + today.month - 1 - months, 12)
    month += 1
    for day in (today.day, 30, 29, 28):
        try:
            return date(year, month, day)
        except ValueError:
            continue
    raise ValueError(today)


def link_records(world: World) -> None:
    """The master patient index's batch linkage over the whole register, as `yilian mpi link` runs it, then
    the merges of the pairs it linked automatically: the second records end up merged into their residents'
    records, the doubtful pairs wait in the review queue (docs/mpi.md)."""
    from yilian.patients.linkage import do_link_all
    from yilian.patients.merging import do_apply_links

    run = do_link_all()
    applied = do_apply_links()
    world.counts.update({"mpi.linked": run.linked, "mpi.pending": run.pending + applied.to_review,
                         "mpi.merged": applied.merged})
    world.say("mpi", f"batch linkage: {run.linked} pairs linked, {run.pending} for review; {applied.merged} "
              f"merged, {applied.to_review} more sent to review")


def exists() -> Consortium | None:
    return Consortium.objects.order_by("pk").first()


def build(options: Options = Options(), progress: Callable[[str], None] = lambda line: None) -> dict[str, object]:
    """Build the whole demo into an empty database and return its counts (never a name or an identifier)."""
    if options.residents < 1 or options.months < 1:
        raise ValueError("residents and months must be positive")
    today = options.today or timezone.localdate()
    world = World(seed=options.seed, today=today, start=months_before(today, options.months),
                  residents=options.residents, progress=progress)
    world.say("start", f"seed {options.seed}, {options.residents} residents, activity {world.start} to "
              f"{today} (exclusive)")
    with transaction.atomic():
        institutions.create_network(world)
        staff.create_staff(world, central={code for code, _n, _v, central in TOWNSHIPS if central})
    people = residents.plan_residents(world)
    planned = visits.plan_visits(world, people)
    duplicates = residents.plan_duplicates(world, people, visits.county_visitors(planned))
    visits.mark_duplicates(planned, duplicates, people)
    world.say("plan", f"{len(people)} residents, {len(duplicates)} second records, {len(planned)} visits planned")
    with transaction.atomic():
        residents.register_residents(world, people)
        residents.register_duplicates(world, duplicates)
        visits.check_in(world, people, planned)
        visits.record_emergencies(world, people, duplicates, planned)
        outpatient.run(world, people, duplicates, planned)
    link_records(world)
    outpatient.summarise(world)
    network.run(world, people)
    green.run(world, people)
    results.run(world, people)
    scope = Scope(start=world.start, end=today)
    grassroots, drugs = grassroots_visit_rate(scope), drug_ratio(scope)
    world.counts["grassroots_rate_pct"] = round(float(grassroots or 0) * 100, 1)
    world.counts["drug_ratio_pct"] = round(float(drugs or 0) * 100, 1)
    world.counts["seconds"] = round(time.perf_counter() - world.began, 1)
    world.say("done", f"基层就诊率 {world.counts['grassroots_rate_pct']}%, 药占比 {world.counts['drug_ratio_pct']}%")
    return {"seed": options.seed, "today": today.isoformat(), "start": world.start.isoformat(), **world.counts}
