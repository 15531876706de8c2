"""`yilian referrals escalate`: alert the consortium manager to referrals not accepted in time. Run it
every few minutes (cron or the task runner); each overdue referral is escalated once."""

from django.core.management.base import BaseCommand

from yilian.referrals.actions import do_escalate_overdue


class Command(BaseCommand):
    help = "Referral housekeeping: `escalate` marks referrals past their acceptance deadline."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=["escalate"])

    def handle(self, *args, task, **options):
        count = do_escalate_overdue()
        self.stdout.write(f"escalated={count}")
