"""The one error an action raises on bad input: which fields, each with a translated message."""

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


class ActionError(Exception):
    def __init__(self, field: str | None = None, message: str = "", *, errors: dict[str, str] | None = None):
        self.errors: dict[str, str] = dict(errors or {})
        if field is not None:
            self.errors[field] = message
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))

    @property
    def message(self) -> str:
        return "；".join(self.errors.values())

    def prefixed(self, prefix: str) -> "ActionError":
        """The same errors under `prefix.` (item `i` of a batch: `visits.3.start`)."""
        return ActionError(errors={f"{prefix}.{field}": message for field, message in self.errors.items()})

    def unprefixed(self, prefix: str) -> "ActionError":
        """The errors of a one-item batch, named as the single form names them."""
        return ActionError(errors={field.removeprefix(f"{prefix}."): m for field, m in self.errors.items()})

    def add_to(self, form, names: dict[str, str | None] | None = None) -> None:
        """Put each message on the form's field: `names` maps an action's field to the form's (None: the
        form as a whole); otherwise the field itself, an item's `files.0` its list `files`; a field the form
        does not have becomes a message of the whole form."""
        for field, message in self.errors.items():
            name = (names or {}).get(field, field.split(".")[0])
            form.add_error(name if name in form.fields else None, message)

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": field, "message": message} for field, message in self.errors.items()]


def check_each(prefix: str, items: Iterable[T], check: Callable[[T], R]) -> list[R]:
    """`check` every item of a batch; the first failure is raised with its fields named `prefix.i.field`."""
    out = []
    for i, item in enumerate(items):
        try:
            out.append(check(item))
        except ActionError as exc:
            raise exc.prefixed(f"{prefix}.{i}") from None
    return out
