"""The acting identity for API calls: the logged-in user's chosen membership, or 403."""

from django.core.exceptions import PermissionDenied
from ninja.security import SessionAuth

from yilian.network.acting import Actor, actor_for


def api_actor(request, cap: str | None = None) -> Actor:
    actor = actor_for(request)
    if actor.membership is None or (cap is not None and not actor.can(cap)):
        raise PermissionDenied
    return actor


class ActingRole(SessionAuth):
    """Session log-in, acting as a membership whose role holds `cap` (401 when not logged in, 403 without
    the capability). As an operation's `auth` it runs before the request is parsed, so a role that may not
    use an endpoint gets 403 whatever it sends, never a validation error."""

    def __init__(self, cap: str | None = None) -> None:
        super().__init__()
        self.cap = cap

    def authenticate(self, request, key):
        user = super().authenticate(request, key)
        if user is not None:
            api_actor(request, self.cap)
        return user
