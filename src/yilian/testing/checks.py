"""Assertions shared by the tests of pages and endpoints: the shape of error answers, and row counts that
show nothing was half-written."""

import re

from django.apps import apps

# Every table a failed request must leave untouched.
WRITTEN_MODELS = ("patients.Patient", "access.CareRelation", "access.Grant", "access.BreakGlass",
                  "care.Encounter", "care.ChargeItem", "care.EncounterEvent")

LANGUAGES = {"zh": {}, "en": {"language": "en"}}  # keyword arguments for the client_as fixture


def row_counts(*extra: str) -> dict[str, int]:
    return {label: apps.get_model(label).objects.count() for label in WRITTEN_MODELS + extra}


def api_errors(resp) -> dict[str, str]:
    """The `{"errors": [{field, message}]}` body of an API error, as {field: message}; every message must
    be non-empty text."""
    body = resp.json()
    assert set(body) == {"errors"}
    out = {}
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
        assert isinstance(error["message"], str) and error["message"].strip()
        out[error["field"]] = error["message"]
    return out


def form_errors(resp) -> dict[str, list[str]]:
    """Field errors of the form a page re-rendered (the context's `form`)."""
    form = resp.context["form"]
    return {name: [str(e) for e in errs] for name, errs in form.errors.items()}


def marked_invalid(resp, field: str) -> bool:
    """The page marks the field's input as invalid, or lists errors under it (`<field>-errors`)."""
    html = resp.content.decode()
    if f'id="{field}-errors"' in html:
        return True
    return re.search(rf'<(input|select|textarea)[^>]*name="{field}"[^>]*aria-invalid="true"', html) is not None


def is_english(text: str) -> bool:
    return bool(re.search(r"[A-Za-z]{3}", text)) and not re.search(r"[\u4e00-\u9fff]", text)


def contains(resp, text: str) -> bool:
    """Whether the response body contains `text`. Use `assert contains(resp, …)` rather than `… in
    resp.content.decode()`: a failing assertion then prints no part of a body that may hold patient data."""
    return text in resp.content.decode()
