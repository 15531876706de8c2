"""The FHIR R4B endpoints under /fhir/r4b/ (docs/fhir.md): plain views, no session and no CSRF token, a
sending system's bearer token instead; JSON in and out as application/fhir+json; every refusal an
OperationOutcome (4xx), never a page.

POST DiagnosticReport / Observation create (conditionally with If-None-Exist), POST of a transaction
Bundle stores its entries all or nothing, GET reads back what the sender's own institution sent, GET
metadata answers the CapabilityStatement (without a token).
"""

import json
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.db import OperationalError, transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import http_date
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt

from yilian.interop import fhir_render as render
from yilian.interop.fhir import (
    Catalogue,
    Problem,
    condition,
    from_diagnostic_report,
    from_observation,
    load,
    problem,
    validate,
)
from yilian.interop.fhir_auth import sender_for
from yilian.interop.fhir_bundle import bundle_entries
from yilian.interop.fhir_ingest import audit_returned, ingest, ingest_bundle, read_report

FHIR_JSON = "application/fhir+json; charset=utf-8"
ACCEPTED = {"application/fhir+json", "application/json", "application/json+fhir"}
MAPPINGS = {"DiagnosticReport": from_diagnostic_report, "Observation": from_observation}
READ_NAMES = {"DiagnosticReport": "fhir:diagnostic_report_read", "Observation": "fhir:observation_read"}


def respond(data: dict | None, status: int = 200, headers: dict | None = None) -> HttpResponse:
    body = "" if data is None else json.dumps(data, ensure_ascii=False)
    response = HttpResponse(body, status=status, content_type=FHIR_JSON)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def refuse(exc: Problem, methods=()) -> HttpResponse:
    response = respond(render.outcome(exc), exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="yilian-fhir"'
    if exc.status == 405:
        response["Allow"] = ", ".join(methods)
    return response


def endpoint(*methods: str, authenticate: bool = True):
    """A FHIR view: the method is one of `methods`, the sender is authenticated (passed to the view), a
    `Problem` becomes an OperationOutcome."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                if request.method not in methods:
                    raise problem(405, "not-supported", _("This method is not supported here."))
                sender = sender_for(request) if authenticate else None
                if authenticate and sender is None:
                    raise problem(401, "login", _("Give the sending system's bearer token: "
                                                  "Authorization: Bearer <token>."))
                return view(request, sender, *args, **kwargs)
            except Problem as exc:
                return refuse(exc, methods)
            except OperationalError:  # a deadlock between two bundles, a locked or unreachable database
                response = refuse(problem(503, "transient", _("The database is busy: nothing was stored; send "
                                                             "the request again.")))
                response["Retry-After"] = "5"
                return response

        return wrapper

    return decorate


def _resource(request, resource_type: str):
    if request.content_type not in ACCEPTED:
        raise problem(415, "not-supported", _("Send the resource as application/fhir+json."))
    try:
        body = request.body
    except RequestDataTooBig:
        raise problem(413, "too-costly", _("The request is too large.")) from None
    return validate(load(body), resource_type)


def _answer(request, sender, resource_type: str, result) -> HttpResponse:
    report = result.report
    headers = {"Location": request.build_absolute_uri(reverse(READ_NAMES[resource_type], args=[report.pk])),
               "ETag": f'W/"{report.version}"', "Last-Modified": http_date(report.received_at.timestamp())}
    if "return=minimal" in request.headers.get("Prefer", ""):
        return respond(None, result.status, headers)
    if result.matched:
        audit_returned(sender, report)
    return respond(render.resource(resource_type, report), result.status, headers)


def _create(request, sender, resource_type: str) -> HttpResponse:
    cond = condition(request.headers.get("If-None-Exist"))
    parsed = MAPPINGS[resource_type](sender, _resource(request, resource_type), Catalogue())
    with transaction.atomic():
        result = ingest(sender, parsed, cond)
    return _answer(request, sender, resource_type, result)


@endpoint("POST")
def create_diagnostic_report(request, sender):
    return _create(request, sender, "DiagnosticReport")


@endpoint("POST")
def create_observation(request, sender):
    return _create(request, sender, "Observation")


@endpoint("POST")
def transaction_bundle(request, sender):
    entries = bundle_entries(sender, _resource(request, "Bundle"), Catalogue())
    results = ingest_bundle(sender, entries)
    kinds = ["DiagnosticReport" if e.parsed is None else e.parsed.resource_type for e in entries]
    return respond(render.transaction_response(kinds, results))


@endpoint("GET")
def read_diagnostic_report(request, sender, pk: str):
    report = read_report(sender, pk)
    return respond(render.resource("DiagnosticReport", report), headers={"ETag": f'W/"{report.version}"'})


@endpoint("GET")
def read_observation(request, sender, pk: str):
    report = read_report(sender, pk, one_value=True)
    return respond(render.resource("Observation", report), headers={"ETag": f'W/"{report.version}"'})


@endpoint("GET", authenticate=False)
def metadata(request, sender):
    return respond(render.capability(request.build_absolute_uri(reverse("fhir:transaction"))))


@endpoint("GET", "POST", "PUT", "DELETE", "PATCH", authenticate=False)
def unknown(request, sender):
    raise problem(404, "not-supported", _("Only DiagnosticReport, Observation, transaction bundles and "
                                          "metadata are served here."))
