"""Who may see which patient, and the trail of every access.

A staff member acting for an institution may see a patient when the institution has a care relationship
with them, an active grant covers it, or they broke the glass with a reason. Everything else is denied.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class CareRelation(models.Model):
    """The institution cares for the patient because of an encounter, booking or open episode.

    Written by the actions that create those (care, scheduling, …); one row per source object.
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="care_relations")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    source_type = models.CharField(max_length=40)
    source_id = models.BigIntegerField()
    since = models.DateTimeField()
    until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source_type", "source_id", "institution"], name="care_source_unique")
        ]
        indexes = [models.Index(fields=["institution", "patient"])]

    def __str__(self) -> str:
        return f"Care #{self.pk} ({self.source_type})"


class GrantKind(models.TextChoices):
    REFERRAL = "referral", _("Referral")
    CONSULTATION = "consultation", _("Consultation")
    FAMILY_DOCTOR = "family_doctor", _("Family-doctor contract")
    GREEN_CHANNEL = "green_channel", _("Green channel (pre-arrival notice)")
    HOME_NURSING = "home_nursing", _("Home-nursing order")
    DIAGNOSTIC = "diagnostic", _("Diagnostic study (remote diagnosis)")
    OTHER = "other", _("Other")


class Grant(models.Model):
    """Access to one patient granted to an institution or a single staff member for a period.

    `scope` names what it covers: "all" for the whole record, or an object type ("encounter", …).
    """

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="grants")
    kind = models.CharField(max_length=20, choices=GrantKind.choices)
    scope = models.CharField(max_length=40, default="all")
    to_institution = models.ForeignKey(
        "network.Institution", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_staff = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    source_type = models.CharField(max_length=40, blank=True)
    source_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(to_institution__isnull=False) | models.Q(to_staff__isnull=False),
                name="grant_has_grantee",
            ),
            models.CheckConstraint(condition=models.Q(valid_to__gt=models.F("valid_from")), name="grant_period"),
        ]
        indexes = [models.Index(fields=["patient", "valid_to"])]

    def __str__(self) -> str:
        return f"Grant #{self.pk} ({self.kind})"


class BreakGlass(models.Model):
    """Emergency access without a relationship: a stated reason, 24 hours, reviewed afterwards."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.CASCADE, related_name="break_glasses")
    membership = models.ForeignKey("network.Membership", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("reason"), max_length=500)
    started_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey("network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    review_note = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["membership", "patient", "expires_at"])]
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"Break-glass #{self.pk}"


class Action(models.TextChoices):
    CREATE = "create", _("create")
    READ = "read", _("read")
    UPDATE = "update", _("update")
    DELETE = "delete", _("delete")
    EXPORT = "export", _("export")
    UNMASK = "unmask", _("unmask")


class Outcome(models.TextChoices):
    SUCCESS = "success", _("success")
    DENIED = "denied", _("denied")


class Basis(models.TextChoices):
    CARE = "care", _("care relationship")
    GRANT = "grant", _("grant")
    BREAK_GLASS = "break_glass", _("break the glass")
    SELF = "self", _("the patient themself")
    NONE = "none", _("none")


class AuditEvent(models.Model):
    """One access to patient data. Append-only: the application never updates or deletes a row, and on
    PostgreSQL a trigger makes the database refuse UPDATE and DELETE.

    Plain ids rather than foreign keys, so that no cascade can ever touch a row.
    """

    at = models.DateTimeField(db_index=True)
    user_id = models.BigIntegerField(null=True)
    username = models.CharField(max_length=150)
    membership_id = models.BigIntegerField(null=True)
    institution_id = models.BigIntegerField(null=True, db_index=True)
    role = models.CharField(max_length=20, blank=True)
    patient_id = models.BigIntegerField(null=True, db_index=True)
    object_type = models.CharField(max_length=40)
    object_id = models.CharField(max_length=40, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    basis = models.CharField(max_length=12, choices=Basis.choices, default=Basis.NONE)
    grant_id = models.BigIntegerField(null=True)
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=45, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user_id", "at"])]

    def __str__(self) -> str:
        return f"Audit #{self.pk} {self.action} {self.outcome}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValueError("audit rows are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("audit rows are append-only")
