"""The one error an action raises on bad input: which fields, each with a translated message."""


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

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": field, "message": message} for field, message in self.errors.items()]
