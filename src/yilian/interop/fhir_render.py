"""Yilian's answers as FHIR R4B JSON: a stored report as a DiagnosticReport (its current values as contained
Observations) or, when it is a one-value report, as an Observation; OperationOutcome, the transaction
response, the CapabilityStatement.

The subject is named by the consortium patient number (derived from the record's id), never by the
resident ID, a name or a phone. An OperationOutcome issue carries its message twice: `details.text` in
Chinese (for the member's interface staff), `diagnostics` in English (the msgid, for engineers).
"""

from decimal import Decimal
from importlib.metadata import PackageNotFoundError, version

from django.utils import timezone, translation
from django.utils.functional import Promise

from yilian.interop.fhir import CONSORTIUM_URI, INTERPRETATION_URI, ITEM_URI, LOINC_URI, Problem
from yilian.patients.identifiers import consortium_number
from yilian.results.models import Observation, Report

STATUS_TEXT = {200: "200 OK", 201: "201 Created"}


def _time(moment) -> str:
    return timezone.localtime(moment).isoformat()


def _number(value: Decimal) -> int | float:
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else float(value)


def current_observations(report: Report) -> list[Observation]:
    return list(Observation.objects.filter(report=report, superseded=False).order_by("pk"))


def is_one_value(report: Report, observations: list[Observation]) -> bool:
    """A report stored from a standalone Observation: its one value is of the report's own item."""
    return len(observations) <= 1 and all(o.code == report.code for o in observations)


def subject(report: Report) -> dict:
    division = report.institution.consortium.division_code
    return {"identifier": {"system": f"{CONSORTIUM_URI}{division}", "value": consortium_number(report.patient_id)}}


def _code(code: str, name: str, loinc: str = "") -> dict:
    codings = [{"system": ITEM_URI, "code": code, "display": name}]
    if loinc:
        codings.append({"system": LOINC_URI, "code": loinc})
    return {"coding": codings, "text": name}


def _value(obs: Observation) -> dict:
    out: dict = {}
    if obs.value_num is not None:
        quantity = {"value": _number(obs.value_num)}
        if obs.unit:
            quantity["unit"] = obs.unit
        out["valueQuantity"] = quantity
    else:
        out["valueString"] = obs.value
    if obs.flag:
        out["interpretation"] = [{"coding": [{"system": INTERPRETATION_URI, "code": obs.flag}]}]
    if obs.reference:
        out["referenceRange"] = [{"text": obs.reference}]
    return out


def _header(report: Report, resource_type: str) -> dict:
    return {"resourceType": resource_type, "id": str(report.pk),
            "meta": {"versionId": str(report.version), "lastUpdated": _time(report.received_at)},
            "identifier": [{"system": report.identifier_system, "value": report.identifier_value}],
            "status": report.status}


def diagnostic_report(report: Report, observations: list[Observation]) -> dict:
    out = _header(report, "DiagnosticReport")
    out["code"] = _code(report.code, report.name)
    out["subject"] = subject(report)
    out["effectiveDateTime"] = _time(report.collected_at)
    out["issued"] = _time(report.reported_at)
    if observations:
        out["contained"] = [
            {"resourceType": "Observation", "id": f"o{i}", "status": report.status,
             "code": _code(o.code, o.name, o.loinc), "effectiveDateTime": _time(o.observed_at), **_value(o)}
            for i, o in enumerate(observations, 1)]
        out["result"] = [{"reference": f"#o{i}"} for i in range(1, len(observations) + 1)]
    if report.conclusion:
        out["conclusion"] = report.conclusion
    return out


def observation(report: Report, observations: list[Observation]) -> dict:
    out = _header(report, "Observation")
    one = observations[0] if observations else None
    out["code"] = _code(report.code, report.name, one.loinc if one else "")
    out["subject"] = subject(report)
    out["effectiveDateTime"] = _time(report.collected_at)
    out["issued"] = _time(report.reported_at)
    if one is not None:
        out.update(_value(one))
    return out


def resource(resource_type: str, report: Report) -> dict:
    """The report as the resource type it was posted as (a report of several values stays a report)."""
    observations = current_observations(report)
    if resource_type == "Observation" and is_one_value(report, observations):
        return observation(report, observations)
    return diagnostic_report(report, observations)


def _text(message, language: str) -> str:
    with translation.override(language):
        return str(message) if isinstance(message, Promise | str) else message()


def outcome(problem: Problem) -> dict:
    issues = []
    for issue in problem.issues:
        english, chinese = _text(issue.message, "en"), _text(issue.message, "zh-hans")
        if issue.detail:
            english, chinese = f"{english} {issue.detail}", f"{chinese} {issue.detail}"
        item = {"severity": "error", "code": issue.code, "details": {"text": chinese}, "diagnostics": english}
        if issue.expression:
            item["expression"] = [issue.expression]
        issues.append(item)
    return {"resourceType": "OperationOutcome", "issue": issues}


def transaction_response(kinds: list[str], results) -> dict:
    entries = []
    for kind, result in zip(kinds, results, strict=True):
        report = result.report
        entries.append({"response": {"status": STATUS_TEXT[result.status], "location": f"{kind}/{report.pk}",
                                     "etag": f'W/"{report.version}"', "lastModified": _time(report.received_at)}})
    return {"resourceType": "Bundle", "type": "transaction-response", "entry": entries}


def _version() -> str:
    try:
        return version("yilian")
    except PackageNotFoundError:
        return "dev"


def capability(base_url: str) -> dict:
    created = [{"code": "create"}, {"code": "read"}]
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": timezone.localdate().isoformat(),
        "publisher": "Yilian (医联)",
        "kind": "instance",
        "software": {"name": "Yilian", "version": _version()},
        "implementation": {"description": "Yilian results ingest (检查检验结果)", "url": base_url},
        "fhirVersion": "4.3.0",
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "docs/fhir.md",
            "security": {"description": "Authorization: Bearer <token> of a registered sending system "
                                        "(yilian fhir token CODE)."},
            "resource": [
                {"type": "DiagnosticReport", "interaction": created, "versioning": "versioned",
                 "conditionalCreate": True,
                 "documentation": "Results as contained Observations; conditional create by identifier."},
                {"type": "Observation", "interaction": created, "versioning": "versioned",
                 "conditionalCreate": True, "documentation": "A standalone result: a one-value report."},
            ],
            "interaction": [{"code": "transaction"}],
        }],
    }
