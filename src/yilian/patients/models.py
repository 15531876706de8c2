"""The patient: one person across the consortium (the patient-identity issue extends this)."""

from datetime import date

from django.db import models
from django.utils.translation import gettext_lazy as _

from yilian.patients.masking import mask_name, mask_phone, mask_resident_id


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (a birthday counts from the day itself; 29 February from 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


class Sex(models.TextChoices):
    """GB/T 2261.1-2003."""

    UNKNOWN = "0", _("Unknown")
    MALE = "1", _("Male")
    FEMALE = "2", _("Female")
    UNSPECIFIED = "9", _("Unspecified")


class Patient(models.Model):
    """A person known to the consortium. The resident ID (公民身份号码) is validated by its GB 11643 check
    digit, and the birth date and sex it encodes must agree with what was recorded."""

    name = models.CharField(_("name"), max_length=50)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("date of birth"))
    resident_id = models.CharField(_("resident ID"), max_length=18, null=True, blank=True, unique=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    registered_at = models.ForeignKey(
        "network.Institution", on_delete=models.PROTECT, related_name="+", verbose_name=_("registered at")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    merged_into = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("merged into")
    )

    class Meta:
        verbose_name = _("patient")
        verbose_name_plural = _("patients")

    def __str__(self) -> str:  # never the name: str() ends up in logs
        return f"Patient #{self.pk}"

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    @property
    def masked_resident_id(self) -> str:
        return mask_resident_id(self.resident_id)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


class IdentifierType(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident ID (公民身份号码)")
    INSURANCE = "insurance", _("Social insurance card (社保卡/医保)")
    MRN = "mrn", _("Medical record number of a member (病历号)")
    CONSORTIUM = "consortium", _("Consortium patient number (医共体患者号)")
    HEALTH_CARD = "health_card", _("E-health card (电子健康卡)")
    PASSPORT = "passport", _("Passport (护照)")
    HKMO_PERMIT = "hkmo_permit", _("Hong Kong/Macau permit (港澳居民来往内地通行证)")
    TW_PERMIT = "tw_permit", _("Taiwan permit (台湾居民来往大陆通行证)")


class Identifier(models.Model):
    """One identifier of a patient: (type, issuing system, value) is unique across the consortium.

    `system` names the issuer: "GB11643" for resident IDs, a member's institution code for its MRNs, the
    insuring region's code for insurance cards, the issuing country for passports."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="identifiers")
    type = models.CharField(_("type"), max_length=20, choices=IdentifierType.choices)
    system = models.CharField(_("issuing system"), max_length=64)
    value = models.CharField(_("value"), max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.UniqueConstraint(fields=["type", "system", "value"], name="identifier_unique"),
        ]
        indexes = [models.Index(fields=["value"])]

    def __str__(self) -> str:
        return f"Identifier #{self.pk} ({self.type})"


class MatchKey(models.Model):
    """Blocking keys of a patient for online candidate search (pinyin of the surname with the birth year,
    the birth date, the phone, …): a search reads the few patients sharing a key, then scores them."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="match_keys")
    key = models.CharField(max_length=80)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "patient"], name="match_key_unique")]

    def __str__(self) -> str:
        return f"MatchKey #{self.pk}"


class LinkStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for review")
    LINKED = "linked", _("Linked automatically")
    SAME = "same", _("Same person")
    DIFFERENT = "different", _("Different people")


class LinkCandidate(models.Model):
    """A pair of patient records that linkage scored as possibly one person (`left_id < right_id`).

    The decision is kept: a pair decided once is never asked again."""

    left = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    right = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    match_weight = models.FloatField()
    probability = models.FloatField()
    agreement = models.JSONField(default=dict)
    source = models.CharField(max_length=10, default="batch")
    status = models.CharField(max_length=10, choices=LinkStatus.choices, default=LinkStatus.PENDING)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by_membership_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="link_pair_unique"),
            models.CheckConstraint(condition=models.Q(left__lt=models.F("right")), name="link_pair_ordered"),
        ]
        indexes = [models.Index(fields=["status", "-match_weight"])]

    def __str__(self) -> str:
        return f"LinkCandidate #{self.pk} ({self.status})"


class Merge(models.Model):
    """`merged` was found to be `survivor`: everything that pointed at it was moved. `moved` records each
    row moved (model label → list of [pk, field]) so that unmerge restores the exact prior state."""

    survivor = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_survived")
    merged = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="merges_absorbed")
    reason = models.CharField(max_length=200, blank=True)
    moved = models.JSONField(default=dict)
    merged_at = models.DateTimeField()
    merged_by_membership_id = models.BigIntegerField(null=True)
    unmerged_at = models.DateTimeField(null=True, blank=True)
    unmerged_by_membership_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            # One live merge per absorbed record.
            models.UniqueConstraint(fields=["merged"], condition=models.Q(unmerged_at__isnull=True),
                                    name="merge_one_live_per_record"),
        ]

    def __str__(self) -> str:
        return f"Merge #{self.pk}"


class QrToken(models.Model):
    """The patient's 就诊一码通 token: opaque, random, no identifier inside; rotating revokes the old one."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="qr_tokens")
    token = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["patient"], condition=models.Q(revoked_at__isnull=True),
                                    name="qr_one_live_per_patient"),
        ]

    def __str__(self) -> str:
        return f"QrToken #{self.pk}"
