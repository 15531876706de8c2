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

    def as_list(self) -> list[dict[str, str]]:
        return [{"field": field, "message": message} for field, message in self.errors.items()]
