"""Encounters at member institutions and what was charged for them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EncounterClass(models.TextChoices):
    OUTPATIENT = "outpatient", _("Outpatient")
    EMERGENCY = "emergency", _("Emergency")
    INPATIENT = "inpatient", _("Inpatient")
    DAY_SURGERY = "day_surgery", _("Day surgery")
    HOME = "home", pgettext_lazy("encounter class", "Home")
    REMOTE = "remote", _("Remote")


class Encounter(models.Model):
    """One visit or stay of a patient at an institution (FHIR Encounter)."""

    patient = models.ForeignKey("patients.Patient", on_delete=models.PROTECT, related_name="encounters")
    institution = models.ForeignKey("network.Institution", on_delete=models.PROTECT, related_name="+")
    department = models.ForeignKey("network.Department", on_delete=models.PROTECT, related_name="+")
    klass = models.CharField(_("class"), max_length=12, choices=EncounterClass.choices)
    practitioner = models.ForeignKey(
        "network.Staff", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    start = models.DateTimeField(_("start"))
    end = models.DateTimeField(_("end"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("encounter")
        verbose_name_plural = _("encounters")
        indexes = [
            models.Index(fields=["institution", "start"]),
            models.Index(fields=["patient", "start"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end__isnull=True) | models.Q(end__gte=models.F("start")), name="encounter_period"
            )
        ]

    def __str__(self) -> str:
        return f"Encounter #{self.pk}"


class ChargeCategory(models.TextChoices):
    """Charge categories as the finance indicators need them (药占比 excludes herbal pieces)."""

    WESTERN_DRUG = "western_drug", _("Western drugs (西药)")
    PATENT_DRUG = "patent_drug", _("Chinese patent drugs (中成药)")
    HERBAL = "herbal", _("Herbal pieces (中药饮片)")
    CONSUMABLE = "consumable", _("Consumables (卫生材料)")
    EXAMINATION = "examination", _("Examination (检查)")
    LAB = "lab", _("Laboratory (化验)")
    TREATMENT = "treatment", _("Treatment (治疗)")
    SURGERY = "surgery", _("Surgery (手术)")
    NURSING = "nursing", _("Nursing (护理)")
    BED = "bed", _("Bed (床位)")
    REGISTRATION = "registration", _("Registration (挂号)")
    OTHER = "other", _("Other (其他)")


DRUG_CATEGORIES = frozenset({ChargeCategory.WESTERN_DRUG, ChargeCategory.PATENT_DRUG})


class ChargeItem(models.Model):
    """One charge on an encounter, in yuan."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="charges")
    category = models.CharField(_("category"), max_length=16, choices=ChargeCategory.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    description = models.CharField(_("description"), max_length=100, blank=True)
    charged_at = models.DateTimeField()

    class Meta:
        verbose_name = _("charge item")
        verbose_name_plural = _("charge items")
        indexes = [models.Index(fields=["charged_at", "category"])]

    def __str__(self) -> str:
        return f"Charge #{self.pk} {self.category} {self.amount}"


class EncounterEvent(models.Model):
    """Append-only history of an encounter: opened, charged, closed."""

    encounter = models.ForeignKey(Encounter, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=20)
    at = models.DateTimeField()
    user_id = models.BigIntegerField(null=True)
    membership_id = models.BigIntegerField(null=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"Encounter #{self.encounter_id} {self.kind}"
