"""A site's own recognition rules: the action the system administrator's pages call (`results.admin`). The
shipped rules (`data/rules.csv`) are created when missing after every migrate and never overwritten, so a rule
changed here stays changed (docs/recognition.md). Quality-control passes are recorded by the consortium's
management centre through `results.actions.do_record_quality_passes`."""

from django.db import transaction
from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.network.acting import Actor
from yilian.network.actions import check_configure
from yilian.network.models import Grade
from yilian.results.models import AT_ORDER_TIME, ORDERABLE, Item, Rule

MAX_DAYS = 3650


def check_rule(actor: Actor, rule: Rule) -> None:
    """An orderable item, 1–3650 days, a known grade (or none), exclusions known at order time."""
    check_configure(actor)
    errors = {}
    if not Item.objects.filter(pk=rule.item_id, kind__in=ORDERABLE).exists():
        errors["item"] = _("A rule is for a lab panel or an exam.")
    if not isinstance(rule.validity_days, int) or not 1 <= rule.validity_days <= MAX_DAYS:
        errors["validity_days"] = _("Validity: 1 to 3650 days.")
    if rule.min_grade not in ("", *Grade.values):
        errors["min_grade"] = _("Lowest source grade: 3A, 3B, 2A, 2B, 1, none, or empty for any.")
    if not isinstance(rule.exclusions, list) or any(e not in AT_ORDER_TIME for e in rule.exclusions):
        errors["exclusions"] = _("Excluded circumstances: a list of emergency and pregnancy.")
    if errors:
        raise ActionError(errors=errors)


def do_save_rule(actor: Actor, rule: Rule) -> Rule:
    """Save a new or changed rule after its checks; it applies to the next check."""
    check_rule(actor, rule)
    rule.exclusions = sorted(set(rule.exclusions))
    with transaction.atomic():
        rule.save()
    return rule
