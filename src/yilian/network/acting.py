"""Who is acting: the user, the membership they act as, and where the request came from.

Every action and every scoped query takes an `Actor`, so an audit row always knows all three.
"""

from dataclasses import dataclass
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect

from yilian.errors import ActionError
from yilian.network.models import Membership
from yilian.network.roles import has_cap

SESSION_KEY = "yilian_membership_id"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    username: str
    membership: Membership | None
    source: str = ""

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None

    @property
    def institution_id(self) -> int | None:
        return self.membership.institution_id if self.membership else None

    def can(self, cap: str) -> bool:
        return has_cap(self.role, cap)


def require_cap(actor: Actor, cap: str, message: str) -> None:
    """The first check of an action: the acting role holds `cap`, or the field `role` says why not."""
    if not actor.can(cap):
        raise ActionError("role", message)


SYSTEM = Actor(user_id=None, username="system", membership=None, source="system")


def active_memberships(user):
    return (
        Membership.objects.filter(staff__user=user, active=True)
        .select_related("institution", "department", "staff")
        .order_by("institution__code", "role")
    )


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "")[:45]


def actor_for(request) -> Actor:
    user = request.user
    return Actor(
        user_id=user.pk if user.is_authenticated else None,
        username=user.get_username() if user.is_authenticated else "",
        membership=getattr(request, "membership", None),
        source=client_address(request),
    )


def actor_for_membership(membership: Membership, source: str = "") -> Actor:
    user = membership.staff.user
    return Actor(user_id=user.pk, username=user.get_username(), membership=membership, source=source)


def requires(cap: str | None = None):
    """View decorator: logged in, acting as a membership, and that membership's role has `cap`."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.membership is None:
                return redirect("web:choose_membership")
            if cap is not None and not has_cap(request.membership.role, cap):
                raise PermissionDenied
            request.actor = actor_for(request)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
