"""`yilian hl7 listen [--host 127.0.0.1] [--port 2575] [--workers 4]` runs the MLLP listener until SIGTERM or
Ctrl-C (docs/hl7.md); `yilian hl7 send FILE... [--host] [--port]` sends the messages of the files (a message
begins at each MSH; LF or CR line ends) over MLLP, one connection, and prints each ACK's code.

They print control IDs, ACK codes and counts only (never a name, an identifier or a phone)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from yilian.interop.client import send_messages, split_messages
from yilian.interop.listener import run_forever


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
        listen.add_argument("--workers", type=int, default=4, help="messages in the database at once (threads)")
        listen.add_argument("--reuse-port", action="store_true",
                            help="bind with SO_REUSEPORT, so that several listener processes share the port")
        send = sub.add_parser("send", help="Send the messages of the files; print each ACK code.")
        send.add_argument("files", nargs="+", type=Path)
        send.add_argument("--host", default="127.0.0.1")
        send.add_argument("--port", type=int, default=2575)

    def handle(self, *args, **opts):
        if opts["subcommand"] == "listen":
            self.stdout.write(f"listening on {opts['host']}:{opts['port']} (MLLP, UTF-8); Ctrl-C stops")
            run_forever(opts["host"], opts["port"], opts["workers"], opts["reuse_port"])
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
