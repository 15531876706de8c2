"""`yilian hl7 listen [--host 127.0.0.1] [--port 2575] [--processes N] [--workers 3]` runs the MLLP listener
until SIGTERM or Ctrl-C, as N processes on the port (default: one per core; `interop.processes`) of
`--workers` database threads each (docs/hl7.md); `yilian hl7 send FILE... [--host] [--port]` sends the
messages of the files (a message begins at each MSH; LF or CR line ends) over MLLP, one connection, and
prints each ACK's code.

They print control IDs, ACK codes and counts only (never a name, an identifier or a phone)."""

import argparse
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yilian.interop.client import send_messages, split_messages
from yilian.interop.listener import run_forever
from yilian.interop.processes import StartFailed, default_processes, run_processes


def _msa(ack: str) -> list[str]:
    for segment in ack.replace("\n", "\r").split("\r"):
        if segment.startswith("MSA"):
            return (segment.split("|") + ["", "", ""])[1:4]
    return ["", "", ""]


class Command(BaseCommand):
    help = "HL7 v2 over MLLP: `listen` runs the listener, `send` sends messages from files."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        listen = sub.add_parser("listen", help="Run the MLLP listener until SIGTERM or Ctrl-C.")
        listen.add_argument("--host", default="127.0.0.1")
        listen.add_argument("--port", type=int, default=2575)
        listen.add_argument("--processes", type=int, default=default_processes(),
                            help="listener processes sharing the port (default: one per core)")
        listen.add_argument("--workers", type=int, default=3,
                            help="messages in the database at once per process (threads; default 3)")
        listen.add_argument("--reuse-port", action="store_true",
                            help="bind with SO_REUSEPORT, so that listeners started apart share the port")
        listen.add_argument("--child", action="store_true", help=argparse.SUPPRESS)  # started by --processes
        send = sub.add_parser("send", help="Send the messages of the files; print each ACK code.")
        send.add_argument("files", nargs="+", type=Path)
        send.add_argument("--host", default="127.0.0.1")
        send.add_argument("--port", type=int, default=2575)

    def handle(self, *args, **opts):
        if opts["subcommand"] == "listen":
            self._listen(opts)
            return
        messages = []
        for path in opts["files"]:
            try:
                messages += split_messages(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError) as exc:
                raise CommandError(f"{path}: {type(exc).__name__}") from None
        try:
            acks = send_messages(opts["host"], opts["port"], messages)
        except (OSError, TimeoutError) as exc:
            raise CommandError(f"cannot reach {opts['host']}:{opts['port']}: {type(exc).__name__}") from None
        refused = 0
        for ack in acks:
            code, control_id, text = _msa(ack)
            refused += code != "AA"
            self.stdout.write(f"{control_id} {code}" + (f" {text}" if text else ""))
        self.stdout.write(f"sent={len(acks)} accepted={len(acks) - refused} refused={refused}")
        if refused:
            raise CommandError(f"{refused} message(s) not accepted")

    def _listen(self, opts) -> None:
        host, port, processes, workers = opts["host"], opts["port"], opts["processes"], opts["workers"]
        if processes < 1 or workers < 1:
            raise CommandError("--processes and --workers must be at least 1")
        if processes > 1 and port == 0:
            raise CommandError("several processes need a fixed --port")
        if not opts["child"]:
            self.stdout.write(f"listening on {host}:{port} (MLLP, UTF-8), {processes} process(es) × {workers} "
                              "workers; Ctrl-C stops")
        if processes == 1:
            run_forever(host, port, workers, opts["reuse_port"])
            return
        try:
            run_processes(host, port, workers, processes)
        except StartFailed as exc:
            raise CommandError(f"{exc}; is port {port} free and the database reachable?") from None
