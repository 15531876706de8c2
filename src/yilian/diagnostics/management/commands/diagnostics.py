"""`yilian diagnostics escalate`: escalate critical values nobody acknowledged within 15 minutes. Run it
every minute (cron or the task runner); each critical value is escalated once.

`yilian diagnostics centre --institution CODE --kind imaging [--name …] [--department NAME] [--serves CODE …]`
sets up a centre at a lead institution (the system administrator's job; from the command line it acts as
the system)."""

from django.core.management.base import BaseCommand, CommandError

from yilian.diagnostics.actions import do_escalate_critical, do_set_up_centre
from yilian.diagnostics.models import CentreKind
from yilian.errors import ActionError
from yilian.network.acting import SYSTEM
from yilian.network.models import Department, Institution

NAMES = {CentreKind.IMAGING: "影像诊断中心", CentreKind.ECG: "心电诊断中心", CentreKind.PATHOLOGY: "病理诊断中心",
         CentreKind.LAB: "医学检验中心"}


class Command(BaseCommand):
    help = "Diagnostic centres: `escalate` overdue critical values; `centre` sets up a centre."

    def add_arguments(self, parser):
        parser.add_argument("task", choices=["escalate", "centre"])
        parser.add_argument("--institution", help="code of the lead institution that runs the centre")
        parser.add_argument("--kind", choices=CentreKind.values)
        parser.add_argument("--name", default="")
        parser.add_argument("--department", default="", help="name of the department that reads")
        parser.add_argument("--serves", nargs="*", default=None, help="codes of the members served (default: all)")

    def handle(self, *args, task, **options):
        if task == "escalate":
            self.stdout.write(f"escalated={do_escalate_critical()}")
            return
        institution = Institution.objects.filter(code=options["institution"] or "").first()
        if institution is None or not options["kind"]:
            raise CommandError("--institution CODE and --kind are required")
        department = None
        if options["department"]:
            department = Department.objects.filter(institution=institution, name=options["department"]).first()
            if department is None:
                raise CommandError("no such department at that institution")
        serves = None
        if options["serves"] is not None:
            serves = list(Institution.objects.filter(code__in=options["serves"]).values_list("pk", flat=True))
        try:
            centre = do_set_up_centre(SYSTEM, institution_id=institution.pk, kind=options["kind"],
                                      name=options["name"] or f"{institution.short_name}{NAMES[options['kind']]}",
                                      department_id=department.pk if department else None, serves=serves)
        except ActionError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"centre={centre.pk} serves={centre.serves.count()}")
