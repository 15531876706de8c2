"""`yilian serve`: serve Yilian with gunicorn (WSGI), static files through WhiteNoise."""

import os
import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Yilian with gunicorn on --bind (default 127.0.0.1:8000)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("YILIAN_BIND", "127.0.0.1:8000"))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("YILIAN_WORKERS", "2")))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("YILIAN_THREADS", "4")))

    def handle(self, *args, bind, workers, threads, **options):
        self.stdout.write(f"Yilian 医联 serving on http://{bind}/  (Ctrl-C to stop)")
        self.stdout.flush()
        argv = [sys.executable, "-m", "gunicorn", "yilian.wsgi:application", "--bind", bind,
                "--workers", str(workers), "--threads", str(threads), "--access-logfile", "-",
                # Access log without the query string: a URL never carries identifiers, and this keeps it so.
                "--access-logformat", '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms']
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn, fixed argv
