"""The JSON API (django-ninja): one NinjaAPI, a router per app, errors as {"errors": [{field, message}]}."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from yilian.errors import ActionError

api = NinjaAPI(
    title="Yilian API", version="1", urls_namespace="api", auth=django_auth,
    description="医联 JSON API. Log in first (session cookie); every call acts as the chosen membership.",
)

_MESSAGES = {
    "missing": lambda: _("This field is required."),
    "string_too_long": lambda: _("Too long."),
    "string_too_short": lambda: _("Too short."),
    "int_parsing": lambda: _("Must be a whole number."),
    "int_type": lambda: _("Must be a whole number."),
    "date_from_datetime_parsing": lambda: _("Must be a date like 2026-01-31."),
    "date_parsing": lambda: _("Must be a date like 2026-01-31."),
    "date_type": lambda: _("Must be a date like 2026-01-31."),
    "datetime_parsing": lambda: _("Must be a date and time like 2026-01-31T08:30:00+08:00."),
    "datetime_from_date_parsing": lambda: _("Must be a date and time like 2026-01-31T08:30:00+08:00."),
    "timezone_aware": lambda: _("The time must carry a time zone, e.g. +08:00."),
    "decimal_parsing": lambda: _("Must be a number."),
    "extra_forbidden": lambda: _("Unknown field."),
    "literal_error": lambda: _("Not one of the allowed values."),
    "enum": lambda: _("Not one of the allowed values."),
    "string_pattern_mismatch": lambda: _("Not in the expected format."),
    "greater_than": lambda: _("Too small."),
    "greater_than_equal": lambda: _("Too small."),
    "less_than_equal": lambda: _("Too large."),
    "model_attributes_type": lambda: _("Must be a JSON object."),
    "dict_type": lambda: _("Must be a JSON object."),
    "list_type": lambda: _("Must be a list."),
    "json_invalid": lambda: _("The body is not valid JSON."),
}


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "payload", "query", "path", "form", "file")]
    return ".".join(parts) or "body"


def errors_response(request, errors: list[dict], status: int):
    return api.create_response(request, {"errors": errors}, status=status)


@api.exception_handler(ValidationError)
def on_validation_error(request, exc: ValidationError):
    errors = []
    for err in exc.errors:
        make = _MESSAGES.get(err.get("type", ""))
        errors.append({"field": _field(err.get("loc", ())),
                       "message": make() if make else _("Invalid value.")})
    return errors_response(request, errors, 422)


@api.exception_handler(ActionError)
def on_action_error(request, exc: ActionError):
    return errors_response(request, exc.as_list(), 422)


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return errors_response(request, [{"field": "", "message": _("Not found.")}], 404)


@api.exception_handler(PermissionDenied)
def on_denied(request, exc):
    return errors_response(request, [{"field": "", "message": _("Your acting role may not do this.")}], 403)


@api.exception_handler(AuthenticationError)
def on_unauthenticated(request, exc):
    return errors_response(request, [{"field": "", "message": _("Log in first.")}], 401)


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):  # django-ninja's words
        return errors_response(request, [{"field": "body", "message": _("The body is not valid JSON.")}], 400)
    return errors_response(request, [{"field": "", "message": str(exc)}], exc.status_code)


def _routers() -> None:
    from yilian.analytics.api import router as analytics_router
    from yilian.care.api import router as care_router
    from yilian.consults.api import router as consults_router
    from yilian.diagnostics.api import router as diagnostics_router
    from yilian.emergency.api import router as emergency_router
    from yilian.patients.api import router as patients_router
    from yilian.referrals.api import router as referrals_router
    from yilian.results.api import router as results_router
    from yilian.scheduling.api import router as scheduling_router
    from yilian.scheduling.api_queue import router as queue_router

    api.add_router("/patients", patients_router)
    api.add_router("/encounters", care_router)
    api.add_router("/indicators", analytics_router)
    api.add_router("/scheduling", scheduling_router)
    api.add_router("/emergency", emergency_router)
    api.add_router("/scheduling/queue", queue_router)
    api.add_router("/referrals", referrals_router)
    api.add_router("/diagnostics", diagnostics_router)
    api.add_router("/consults", consults_router)
    api.add_router("/results", results_router)


_routers()
