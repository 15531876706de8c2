"""The patient: one person across the consortium (the patient-identity issue extends this)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from yilian.patients.masking import mask_name, mask_phone, mask_resident_id


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
