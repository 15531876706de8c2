"""Storing what a FHIR sender posts, and reading it back (docs/fhir.md).

`ingest` stores one mapped resource through `results.actions.store_report` (which writes the report's audit
row), as a conditional create when the request carried `If-None-Exist`: no match creates (201), one match
answers it and changes nothing (200), several refuse (412). The match is looked for among the reports of
the sender's institution only. Concurrent creates of one identifier are decided by the unique constraint on
the report identifier: the loser's insert fails, its savepoint is rolled back and the match read again, so
exactly one request creates. A report stored under the same identifier by another member is never changed.

`ingest_bundle` stores a transaction bundle's entries in one database transaction: all or nothing.
"""

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yilian.access.gate import MAX_ID, audit_row
from yilian.access.models import Action, Outcome
from yilian.errors import ActionError
from yilian.interop.fhir import Condition, Issue, Parsed, Problem, problem
from yilian.interop.fhir_bundle import Entry
from yilian.interop.fhir_render import current_observations, is_one_value
from yilian.interop.identity import interface_actor
from yilian.results.actions import store_report
from yilian.results.models import Report

FIELDS = {"identifier": "identifier", "status": "status", "code": "code", "collected_at": "effectiveDateTime",
          "observations": "result"}


@dataclass(frozen=True)
class Result:
    report: Report
    status: int  # 201: created; 200: a new version, or the match of a conditional create
    matched: bool = False  # a conditional create found it: nothing was changed


class _Undo(Exception):
    def __init__(self, report_id: int, matched: bool):
        self.report_id, self.matched = report_id, matched


def matches(sender, cond: Condition) -> list[int]:
    """Ids of (at most two of) the sender's institution's reports the condition names."""
    reports = Report.objects.filter(institution_id=sender.institution_id)
    if cond.system is not None:
        reports = reports.filter(identifier_system=cond.system)
    if cond.value:
        reports = reports.filter(identifier_value=cond.value)
    return list(reports.order_by("pk").values_list("pk", flat=True)[:2])


def _matched(sender, cond: Condition | None) -> Result | None:
    if cond is None:
        return None
    found = matches(sender, cond)
    if len(found) > 1:
        raise problem(412, "multiple-matches", _("If-None-Exist: more than one report matches; nothing was "
                                                 "stored."), "If-None-Exist")
    return Result(Report.objects.get(pk=found[0]), 200, matched=True) if found else None


def _refusal(parsed: Parsed, exc: ActionError) -> Problem:
    """The store's refusal (its messages in English) as the issues of an OperationOutcome."""
    issues = []
    for name, message in exc.errors.items():
        head, _dot, index = name.partition(".")
        element = FIELDS.get(head, head)
        if parsed.resource_type == "Observation" and head == "observations":
            element = "value[x]"
        elif index:
            element = f"{element}[{index}]"
        issues.append(Issue("business-rule" if head == "identifier" else "invalid",
                            lambda msgid=message: gettext(msgid), f"{parsed.expression}.{element}"))
    return Problem(422, issues)


def _store(sender, parsed: Parsed, cond: Condition | None) -> Result:
    with translation.override("en"):  # the store's messages, English, are the msgids rendered both ways
        stored = store_report(interface_actor(sender, "fhir"), parsed.patient, parsed.incoming)
    if not stored.created:
        if stored.report.institution_id != sender.institution_id:
            raise _Undo(stored.report.pk, matched=False)
        if cond is not None and stored.report.pk in matches(sender, cond):
            raise _Undo(stored.report.pk, matched=True)  # created meanwhile by a concurrent request
    return Result(stored.report, 201 if stored.created else 200)


def ingest(sender, parsed: Parsed, cond: Condition | None = None) -> Result:
    """Store one resource (a new report, or a new version of the sender's report with its identifier), or
    answer the match of `cond`. Runs in a savepoint: call it inside the request's transaction."""
    found = _matched(sender, cond)
    if found is not None:
        return found
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _store(sender, parsed, cond)
        except ActionError as exc:
            raise _refusal(parsed, exc) from None
        except _Undo as undo:
            if undo.matched:
                return Result(Report.objects.get(pk=undo.report_id), 200, matched=True)
            raise problem(422, "business-rule", _("This report identifier belongs to another member's report."),
                          f"{parsed.expression}.identifier") from None
        except IntegrityError:  # a concurrent request inserted this identifier first
            found = _matched(sender, cond)
            if found is not None:
                return found
            if attempt == 2:
                raise problem(409, "conflict", _("A concurrent request changed this report; send it again."),
                              f"{parsed.expression}.identifier") from None
    raise AssertionError("unreachable")


def ingest_bundle(sender, entries: list[Entry]) -> list[Result]:
    """Store a transaction bundle's mapped entries in one transaction; a result entry answers as its report."""
    results: list[Result | None] = [None] * len(entries)
    with transaction.atomic():
        for i, entry in enumerate(entries):
            if entry.parsed is None:
                continue
            try:
                results[i] = ingest(sender, entry.parsed, entry.condition)
            except Problem as exc:
                for issue in exc.issues:
                    if issue.expression == "If-None-Exist":
                        issue.expression = f"Bundle.entry[{i}].request.ifNoneExist"
                raise
    return [results[e.part_of] if e.parsed is None else results[i] for i, e in enumerate(entries)]


def _audit_read(sender, patient_id, report_id, outcome: str = Outcome.SUCCESS) -> None:
    row = audit_row(interface_actor(sender, "fhir"), patient_id=patient_id, object_type="result_report",
                    object_id=report_id, action=Action.READ, outcome=outcome)
    row.institution_id = sender.institution_id
    row.save()


def read_report(sender, report_id, *, one_value: bool = False) -> Report:
    """One of the reports the sender's institution sent (`one_value`: stored from a standalone Observation),
    with a read audit row; anything else is 404 and audited as denied, another member's report as a
    missing one."""
    try:
        pk = int(report_id)
    except (TypeError, ValueError):
        pk = 0
    report = (Report.objects.select_related("institution__consortium").filter(pk=pk).first()
              if 0 < pk <= MAX_ID else None)
    shown = report is not None and report.institution_id == sender.institution_id and (
        not one_value or is_one_value(report, current_observations(report)))
    if not shown:
        _audit_read(sender, report.patient_id if report else None, str(report_id)[:40], Outcome.DENIED)
        raise problem(404, "not-found", _("No such resource."), "id")
    _audit_read(sender, report.patient_id, report.pk)
    return report


def audit_returned(sender, report: Report) -> None:
    """A read row for a stored report returned in a response (the match of a conditional create)."""
    _audit_read(sender, report.patient_id, report.pk)
