"""`yilian mpi index` rewrites the blocking keys of every patient; `yilian mpi link` runs the batch linkage.

Both print counts and seconds only (never a name, an identifier or a phone)."""

import time

from django.core.management.base import BaseCommand, CommandError

from yilian.patients.linkage import do_link_all
from yilian.patients.matching.batch import ENGINES
from yilian.patients.matching.search import do_index_all


class Command(BaseCommand):
    help = "Master patient index: `index` rewrites the blocking keys, `link` runs the batch linkage."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        sub.add_parser("index", help="Rewrite the blocking keys (MatchKey) of every live patient.")
        link = sub.add_parser("link", help="Score every blocked pair; link or queue for review.")
        link.add_argument("--engine", choices=ENGINES, default="splink",
                          help="splink (Splink on DuckDB, default) or python (DuckDB blocking, Python scorer).")
        link.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores).")
        link.add_argument("--workers", type=int, default=2,
                          help="Processes that build the features for Splink (default 2; 1: in-process).")

    def handle(self, *args, **opts):
        if opts["subcommand"] == "index":
            started = time.perf_counter()
            written = do_index_all(progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(f"{written} keys written in {time.perf_counter() - started:.1f} s."))
        elif opts["subcommand"] == "link":
            run = do_link_all(engine=opts["engine"], threads=opts["threads"], workers=opts["workers"],
                              progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(
                f"{run.records} records: {run.linked} pairs linked, {run.pending} for review, {run.kept} decided "
                f"pairs kept, {run.removed} removed, in {run.seconds:.1f} s."))
        else:  # pragma: no cover - argparse refuses other values
            raise CommandError(opts["subcommand"])
