"""Transaction bundles in (docs/fhir.md): DiagnosticReport and Observation entries, each POST to its own
type, optionally with `request.ifNoneExist`. A report's `result` may reference Observation entries by their
`fullUrl` (`urn:uuid:…`): those are stored as the report's values (and answer as the report); the other
Observation entries are standalone one-value reports. Nothing here writes (`fhir_ingest.ingest_bundle`
stores the entries in one transaction)."""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from yilian.interop.fhir import (
    Catalogue,
    Condition,
    Parsed,
    condition,
    from_diagnostic_report,
    from_observation,
    problem,
)

MAX_ENTRIES = 500


@dataclass
class Entry:
    """One bundle entry: its mapped resource and condition, or the index of the report entry whose result
    it is (`part_of`)."""

    parsed: Parsed | None = None
    condition: Condition | None = None
    part_of: int | None = None


def _check_entry(i: int, entry) -> str:
    where = f"Bundle.entry[{i}]"
    if entry.resource is None:
        raise problem(400, "required", _("A bundle entry has no resource."), f"{where}.resource")
    kind = entry.resource.get_resource_type()
    if kind not in ("DiagnosticReport", "Observation"):
        raise problem(422, "not-supported", _("A transaction bundle may hold DiagnosticReport and Observation "
                                              "entries only."), f"{where}.resource")
    if entry.request is None or entry.request.method != "POST":
        raise problem(422, "not-supported", _("Only POST (create) entries are accepted."), f"{where}.request.method")
    if (entry.request.url or "").split("?")[0].strip("/") != kind:
        raise problem(422, "value", _("The entry's request.url must be its resource type."), f"{where}.request.url")
    return kind


def bundle_entries(sender, bundle, catalogue: Catalogue) -> list[Entry]:
    """Map a transaction bundle's entries (nothing stored): reports with the Observation entries their
    results reference (`urn:uuid:` fullUrls), and standalone Observations."""
    if bundle.type != "transaction":
        raise problem(422, "not-supported", _("Only transaction bundles are accepted."), "Bundle.type")
    entries = bundle.entry or []
    if not entries:
        raise problem(422, "required", _("The bundle has no entries."), "Bundle.entry")
    if len(entries) > MAX_ENTRIES:
        raise problem(422, "too-costly", lambda: gettext("At most %(n)d entries per bundle.") % {"n": MAX_ENTRIES},
                      "Bundle.entry")
    kinds = [_check_entry(i, e) for i, e in enumerate(entries)]
    urls: dict[str, int] = {}
    for i, e in enumerate(entries):
        if e.fullUrl:
            if e.fullUrl in urls:
                raise problem(400, "duplicate", _("Two entries have the same fullUrl."), f"Bundle.entry[{i}].fullUrl")
            urls[e.fullUrl] = i
    out = [Entry() for _e in entries]
    for i, e in enumerate(entries):
        if kinds[i] != "DiagnosticReport":
            continue
        for ref in e.resource.result or []:
            j = urls.get(ref.reference or "")
            if j is None or kinds[j] != "Observation":
                continue
            if out[j].part_of is not None and out[j].part_of != i:
                raise problem(422, "business-rule", _("An Observation entry is the result of two reports."),
                              f"Bundle.entry[{j}]")
            out[j].part_of = i
    for i, e in enumerate(entries):
        where = f"Bundle.entry[{i}]"
        if out[i].part_of is not None:
            continue
        out[i].condition = condition(e.request.ifNoneExist, f"{where}.request.ifNoneExist") \
            if e.request.ifNoneExist else None
        if kinds[i] == "DiagnosticReport":
            own = {url: (entries[j].resource, f"Bundle.entry[{j}].resource") for url, j in urls.items()
                   if out[j].part_of == i}
            out[i].parsed = from_diagnostic_report(sender, e.resource, catalogue, f"{where}.resource", in_bundle=own)
        else:
            out[i].parsed = from_observation(sender, e.resource, catalogue, f"{where}.resource")
    return out
