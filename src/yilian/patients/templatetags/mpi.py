"""Template filters of the master patient index pages: the agreement pattern in words."""

from django import template
from django.utils.translation import gettext_lazy as _

register = template.Library()

FIELDS = {
    "name": _("Name"), "birth_date": _("Date of birth"), "sex": _("Sex"), "phone": _("Phone"),
    "address": _("Address"), "resident_id": _("Resident ID"), "insurance": _("Insurance card"),
}
LEVELS = {
    "exact": _("same"), "same": _("same"), "pinyin": _("same sound, other characters"),
    "fuzzy": _("look-alike or near sound"), "similar": _("similar"), "swapped": _("day and month swapped"),
    "one_off": _("one of year, month, day differs"), "last8": _("same last 8 digits"),
    "village": _("same village"), "township": _("same township"), "close": _("one digit off"),
    "different": _("different"), "missing": _("not recorded on both"),
}
RULES = {
    "twins": _("possible twins: not linked automatically"),
    "newborn": _("placeholder name: not linked automatically"),
    "two_ids": _("two different valid resident IDs: not linked automatically"),
    "sexes": _("linking would give one patient both sexes under different names: not linked automatically"),
    "ids": _("linking would give one patient resident IDs no typing error explains: not linked automatically"),
    "apart": _("linking would join records kept apart (possible twins, a placeholder name, two resident IDs): "
               "not linked automatically"),
    "refused": _("the merge refused this pair once: not linked automatically"),
}
DISAGREE = {"different", "missing"}


@register.filter
def why(agreement: dict | None) -> list[dict]:
    """[{field, level, agrees}] in a fixed order, then the rule that capped the score, if any."""
    agreement = agreement or {}
    out = [{"field": label, "level": LEVELS.get(agreement[key], agreement[key]),
            "agrees": agreement[key] not in DISAGREE, "missing": agreement[key] == "missing"}
           for key, label in FIELDS.items() if key in agreement]
    if agreement.get("rule"):
        out.append({"field": _("Rule"), "level": RULES.get(agreement["rule"], agreement["rule"]), "agrees": False,
                    "missing": False})
    return out
