"""Residents' own log-in to the mobile pages (居民端): an account per verified mobile number, the one-time
codes sent to it, and the outbox of text messages an SMS gateway delivers.

A resident is not a staff user: the account is the mobile number the resident proved they hold, and the
patients they may act for (就诊人) are the patient records that carry that number (a family's elders and
children often share one phone). Codes are stored only as a keyed digest.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ResidentAccount(models.Model):
    phone = models.CharField(_("mobile number"), max_length=11, unique=True)
    created_at = models.DateTimeField()
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("resident account")
        verbose_name_plural = _("resident accounts")

    def __str__(self) -> str:  # never the number: str() ends up in logs
        return f"ResidentAccount #{self.pk}"


class LoginCode(models.Model):
    """A six-digit code sent by text message; valid for a few minutes and a few tries, used once."""

    phone_digest = models.CharField(max_length=64, db_index=True)
    code_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["phone_digest", "created_at"])]

    def __str__(self) -> str:
        return f"LoginCode #{self.pk}"


class OutgoingSms(models.Model):
    """A text message waiting for the SMS gateway (`sent_at` set by the gateway adapter)."""

    phone = models.CharField(_("mobile number"), max_length=11)
    text = models.CharField(_("text"), max_length=300)
    purpose = models.CharField(max_length=20)
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing text message")
        verbose_name_plural = _("outgoing text messages")
        indexes = [models.Index(fields=["sent_at", "created_at"])]

    def __str__(self) -> str:
        return f"OutgoingSms #{self.pk} ({self.purpose})"
