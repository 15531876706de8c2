"""The acting identity for API calls: the logged-in user's chosen membership, or 403."""

from django.core.exceptions import PermissionDenied

from yilian.network.acting import Actor, actor_for


def api_actor(request, cap: str | None = None) -> Actor:
    actor = actor_for(request)
    if actor.membership is None or (cap is not None and not actor.can(cap)):
        raise PermissionDenied
    return actor
