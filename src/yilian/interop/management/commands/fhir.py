"""`yilian fhir token SENDER_CODE` gives a sending system a new FHIR bearer token (its old one stops
working) and prints it once; only its SHA-256 digest is kept, so a lost token is replaced, never shown
again (docs/fhir.md). From the command line it acts as the system."""

from django.core.management.base import BaseCommand, CommandError

from yilian.errors import ActionError
from yilian.interop.senders import do_new_token
from yilian.network.acting import SYSTEM


class Command(BaseCommand):
    help = "FHIR ingest: `token SENDER_CODE` sets a new bearer token for a sending system and prints it once."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="subcommand", required=True)
        token = sub.add_parser("token", help="Set a new random bearer token for the sender; print it once.")
        token.add_argument("sender_code")

    def handle(self, *args, **opts):
        try:
            token = do_new_token(SYSTEM, opts["sender_code"])
        except ActionError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(token)
