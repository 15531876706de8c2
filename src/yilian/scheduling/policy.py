"""Per-institution outpatient policy, read with its defaults: fees by tier, booking limits, the validity of
a registration and who registers without a fee. Rows, not settings, so the consortium can change them."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from django.utils import timezone

from yilian.access.models import Grant, GrantKind
from yilian.network.models import Staff, Title
from yilian.patients.models import age_on
from yilian.scheduling.models import FeePolicy, FeeTier, FreeRegistrationRule, FreeRule, OutpatientPolicy

EXPERT_TITLES = frozenset({Title.CHIEF_PHYSICIAN, Title.ASSOC_CHIEF_PHYSICIAN})


def tier_for(doctor: Staff | None, special: bool = False) -> str:
    """特需 when the clinic is declared special; 专家 for a (deputy) chief physician; otherwise 普通, which is
    also the tier of a general clinic without a named doctor."""
    if special:
        return FeeTier.SPECIAL
    if doctor is not None and doctor.title in EXPERT_TITLES:
        return FeeTier.EXPERT
    return FeeTier.ORDINARY


def policy_for(institution_id: int) -> OutpatientPolicy:
    """The institution's policy row, or an unsaved one holding the defaults."""
    return (OutpatientPolicy.objects.filter(institution_id=institution_id).first()
            or OutpatientPolicy(institution_id=institution_id))


def fee_for(institution_id: int, tier: str) -> Decimal | None:
    return FeePolicy.objects.filter(institution_id=institution_id, tier=tier).values_list("amount", flat=True).first()


def _contracted(patient_id: int) -> bool:
    """A family-doctor contract is, for now, an active family-doctor grant anywhere in the consortium."""
    now = timezone.now()
    return Grant.objects.filter(patient_id=patient_id, kind=GrantKind.FAMILY_DOCTOR, valid_from__lte=now,
                                valid_to__gt=now, revoked_at__isnull=True).exists()


def first_rule(rules, patient, department_id: int, day: date,
               contracted: Callable[[], bool]) -> FreeRegistrationRule | None:
    """The first of `rules` (active, in order) that waives this patient's fee in this department on `day`;
    `contracted()` says whether the patient has a family-doctor contract (asked only when a rule needs it).
    Shared by `free_rule_for` and the batch registration (`batch.py`)."""
    for rule in rules:
        if rule.kind == FreeRule.DEPARTMENT and rule.department_id == department_id:
            return rule
        if rule.kind == FreeRule.AGE and patient.birth_date and age_on(patient.birth_date, day) >= rule.min_age:
            return rule
        if rule.kind == FreeRule.CONTRACTED and contracted():
            return rule
    return None


def free_rule_for(patient, institution_id: int, department_id: int, day: date) -> FreeRegistrationRule | None:
    """The first active rule of the institution that waives this patient's fee in this department."""
    rules = FreeRegistrationRule.objects.filter(institution_id=institution_id, active=True).order_by("pk")
    return first_rule(rules, patient, department_id, day, lambda: _contracted(patient.pk))
