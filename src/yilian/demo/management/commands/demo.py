"""`yilian demo`: build the synthetic county consortium (or reuse it), then print the demo log-ins."""

from datetime import date

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from yilian.demo.build import DEFAULT_MONTHS, DEFAULT_RESIDENTS, DEFAULT_SEED, Options, build, exists
from yilian.demo.logins import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "Build the demo county consortium (杏林县, synthetic) unless one exists; print the demo log-ins."

    def add_arguments(self, parser):
        parser.add_argument("--reset", action="store_true", help="Flush the database and build afresh.")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED}).")
        parser.add_argument("--residents", type=int, default=DEFAULT_RESIDENTS,
                            help=f"Number of residents (default {DEFAULT_RESIDENTS}).")
        parser.add_argument("--months", type=int, default=DEFAULT_MONTHS,
                            help=f"Months of activity before today (default {DEFAULT_MONTHS}).")
        parser.add_argument("--today", type=date.fromisoformat, default=None,
                            help="Pin the build date (YYYY-MM-DD, not after the real date); default: today.")

    def handle(self, *args, **opts):
        if opts["residents"] < 1 or opts["months"] < 1:
            raise CommandError("--residents and --months must be at least 1.")
        if opts["today"] is not None and opts["today"] > timezone.localdate():
            raise CommandError("--today cannot be after today.")
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise CommandError("The database is not up to date: run `yilian migrate` first.")
        if opts["reset"]:
            self.stdout.write("Flushing the database …")
            call_command("flush", interactive=False, verbosity=0)
        consortium = exists()
        if consortium is not None:
            self.stdout.write(f"A consortium exists already ({consortium.short_name}): reusing it. "
                              "Use --reset to rebuild.")
        else:
            summary = build(Options(seed=opts["seed"], residents=opts["residents"], months=opts["months"],
                                    today=opts["today"]), progress=self.stdout.write)
            self.stdout.write(self.style.SUCCESS(f"Demo built in {summary['seconds']} s."))
        self._logins()

    def _logins(self):
        self.stdout.write("")
        self.stdout.write("Demo log-ins (password for all: " + self.style.WARNING(DEMO_PASSWORD) + "):")
        width = max(len(login.username) for login in DEMO_LOGINS)
        for login in DEMO_LOGINS:
            self.stdout.write(f"  {login.username:<{width}}  {login.role:<10} {login.description}")
        self.stdout.write("")
        self.stdout.write("Residents' mobile pages (居民端): /m/ — on the demo site the log-in page offers the number "
                          "a demo family shares, and shows the text-message code on the page.")
