"""`yilian mpi index` rewrites the blocking keys of every patient; `yilian mpi link` runs the batch linkage
and merges what it linked (`--no-merge`: only link); `yilian mpi estimate` re-estimates the model's m and u
from the register (docs/mpi.md).

They print counts, shares and seconds only (never a name, an identifier or a phone)."""

import time

from django.core.management.base import BaseCommand, CommandError

from yilian.network.acting import SYSTEM
from yilian.patients.linkage import do_link_all, estimate_parameters
from yilian.patients.matching.batch import ENGINES
from yilian.patients.matching.model import PARAMETERS
from yilian.patients.matching.search import do_index_all
from yilian.patients.merging import do_apply_links


class Command(BaseCommand):
    help = "Master patient index: `index` rewrites the blocking keys, `link` runs the batch linkage."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("index", help="Rewrite the blocking keys (MatchKey) of every live patient.")
        link = sub.add_parser("link", help="Score every blocked pair; link or queue for review.")
        link.add_argument("--engine", choices=ENGINES, default="splink",
                          help="splink (Splink on DuckDB, default) or python (DuckDB blocking, Python scorer).")
        link.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
        link.add_argument("--no-merge", action="store_true",
                          help="Only link and queue; leave the merges of the linked pairs for a later run.")
        estimate = sub.add_parser("estimate", help="Re-estimate m and u from the register; print them.")
        estimate.add_argument("--pairs", type=int, default=200_000, help="Random pairs for u (default 200,000).")

    def handle(self, *args, **opts):
        if opts["subcommand"] == "index":
            started = time.perf_counter()
            written = do_index_all(progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(f"{written} keys written in {time.perf_counter() - started:.1f} s."))
        elif opts["subcommand"] == "link":
            run = do_link_all(engine=opts["engine"], threads=opts["threads"], progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(
                f"{run.records} records: {run.linked} pairs linked, {run.pending} for review, {run.kept} decided "
                f"pairs kept, {run.removed} removed, in {run.seconds:.1f} s."))
            if not opts["no_merge"]:
                started = time.perf_counter()
                applied = do_apply_links(SYSTEM)
                self.stdout.write(self.style.SUCCESS(
                    f"{applied.merged} records merged, {applied.to_review} pairs sent to review, {applied.skipped} "
                    f"already one patient, in {time.perf_counter() - started:.1f} s."))
        elif opts["subcommand"] == "estimate":
            self._estimate(opts["pairs"])
        else:  # pragma: no cover - argparse refuses other values
            raise CommandError(opts["subcommand"])

    def _estimate(self, pairs: int) -> None:
        rows, source = estimate_parameters(pairs)
        self.stdout.write(f"m from {source} pairs, u from random pairs; the current value in brackets.")
        self.stdout.write(f"{'field':<12} {'level':<10} {'m':>18} {'u':>22}")

        def show(value, now):
            return f"{'-' if value is None else f'{value:.4g}'} ({now:.4g})"

        for e in rows:
            m_now, u_now = PARAMETERS[e.field][e.level]
            self.stdout.write(f"{e.field:<12} {e.level:<10} {show(e.m, m_now):>18} {show(e.u, u_now):>22}"
                              f"   [{e.m_pairs} / {e.u_pairs} pairs]")
