"""The master patient index desk (主索引管理): who reviews possible duplicates and merges records.

Deciding that two records are one person concerns every member that holds either record, so it is done
centrally: by a registrar (capabilities `link_review` and `merge`) acting at the consortium's lead
institution (the member no other member leads). The desk sees both records of a pair **masked** (name
张*伟, masked identifiers and phone, the address down to the village), which is what a decision needs and
no more; each record shown is audited. A registrar at any other member keeps the capabilities on paper but
the desk's pages and actions refuse them.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.models import Institution


def is_steward(actor: Actor, cap: str) -> bool:
    membership = actor.membership
    if membership is None or not actor.can(cap):
        return False
    return Institution.objects.filter(pk=membership.institution_id, parent__isnull=True).exists()


def check_steward(actor: Actor, cap: str) -> None:
    """For actions: ActionError naming the role."""
    if not is_steward(actor, cap):
        raise ActionError("role", _("Only the master patient index desk (a registrar at the consortium's lead "
                                    "institution) may review and merge patient records."))


def require_steward(actor: Actor, cap: str) -> None:
    """For pages and endpoints: 403 like any other missing capability."""
    if not is_steward(actor, cap):
        raise PermissionDenied


def consortium_id(actor: Actor) -> int | None:
    return Institution.objects.filter(pk=actor.institution_id).values_list("consortium_id", flat=True).first()
