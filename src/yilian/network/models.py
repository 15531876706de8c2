"""The consortium, its member institutions and departments, and the staff who work there."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from yilian.network.data.clinical_subjects import CLINICAL_SUBJECTS
from yilian.network.roles import Role

division_code = RegexValidator(r"^\d{6}$", _("An administrative division code is 6 digits (GB/T 2260)."))


class Consortium(models.Model):
    """A medical consortium (医联体 / 县域医共体): one lead institution and its members."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    short_name = models.CharField(_("short name"), max_length=30)
    division_code = models.CharField(_("division code"), max_length=6, validators=[division_code])

    class Meta:
        verbose_name = _("consortium")
        verbose_name_plural = _("consortia")

    def __str__(self) -> str:
        return self.name


class InstitutionKind(models.TextChoices):
    GENERAL_TERTIARY = "general_3", _("Tertiary general hospital (三级医院)")
    GENERAL_SECONDARY = "general_2", _("Secondary general hospital (二级医院)")
    TCM = "tcm", _("TCM hospital (中医医院)")
    MATERNAL_CHILD = "mch", _("Maternal and child health hospital (妇幼保健院)")
    TOWNSHIP = "township", _("Township health centre (乡镇卫生院)")
    COMMUNITY_CENTRE = "community_centre", _("Community health service centre (社区卫生服务中心)")
    COMMUNITY_STATION = "community_station", _("Community health service station (社区卫生服务站)")
    VILLAGE = "village", _("Village clinic (村卫生室)")


# 基层医疗卫生机构: the grassroots level counted by 基层就诊率.
GRASSROOTS_KINDS = frozenset(
    {
        InstitutionKind.TOWNSHIP,
        InstitutionKind.COMMUNITY_CENTRE,
        InstitutionKind.COMMUNITY_STATION,
        InstitutionKind.VILLAGE,
    }
)


class Grade(models.TextChoices):
    G3A = "3A", _("Grade III-A (三级甲等)")
    G3B = "3B", _("Grade III-B (三级乙等)")
    G2A = "2A", _("Grade II-A (二级甲等)")
    G2B = "2B", _("Grade II-B (二级乙等)")
    G1 = "1", _("Grade I (一级)")
    UNGRADED = "none", _("Ungraded (未定级)")


class Institution(models.Model):
    """A member institution. `parent` is the institution that leads it (the county hospital for a
    township centre, the township centre for a village clinic)."""

    consortium = models.ForeignKey(Consortium, on_delete=models.PROTECT, related_name="institutions")
    code = models.CharField(_("institution code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=100)
    short_name = models.CharField(_("short name"), max_length=30)
    kind = models.CharField(_("kind"), max_length=20, choices=InstitutionKind.choices)
    grade = models.CharField(_("grade"), max_length=4, choices=Grade.choices, default=Grade.UNGRADED)
    division_code = models.CharField(_("division code"), max_length=6, validators=[division_code])
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="members", verbose_name=_("lead")
    )
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["consortium", "name"], name="institution_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.parent_id is None:
            return
        if self.pk is not None and self.parent_id == self.pk:
            raise ValidationError({"parent": _("An institution cannot lead itself.")})
        if self.parent.consortium_id != self.consortium_id:
            raise ValidationError({"parent": _("Lead institution: choose a member of the same consortium.")})

    @property
    def is_grassroots(self) -> bool:
        return self.kind in GRASSROOTS_KINDS


class Department(models.Model):
    """A department of an institution, registered under a standard clinical subject (诊疗科目)."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="departments")
    subject_code = models.CharField(
        _("clinical subject"), max_length=2, choices=sorted(CLINICAL_SUBJECTS.items())
    )
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["institution", "subject_code", "name"]
        constraints = [
            models.UniqueConstraint(fields=["institution", "name"], name="department_name_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.institution.short_name} {self.name}"


class Title(models.TextChoices):
    """Professional titles (专业技术职称)."""

    CHIEF_PHYSICIAN = "chief_physician", "主任医师"
    ASSOC_CHIEF_PHYSICIAN = "assoc_chief_physician", "副主任医师"
    ATTENDING = "attending", "主治医师"
    RESIDENT = "resident", "医师"
    ASSISTANT_PHYSICIAN = "assistant_physician", "助理医师"
    VILLAGE_DOCTOR = "village_doctor", "乡村医生"
    CHIEF_NURSE = "chief_nurse", "主任护师"
    ASSOC_CHIEF_NURSE = "assoc_chief_nurse", "副主任护师"
    NURSE_IN_CHARGE = "nurse_in_charge", "主管护师"
    SENIOR_NURSE = "senior_nurse", "护师"
    NURSE = "nurse", "护士"
    CHIEF_TECHNICIAN = "chief_technician", "主任技师"
    TECHNICIAN_IN_CHARGE = "technician_in_charge", "主管技师"
    TECHNICIAN = "technician", "技师"
    ADMINISTRATOR = "administrator", "管理人员"


class Staff(models.Model):
    """A person who works in the consortium; their log-in is `user`."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff")
    name = models.CharField(_("name"), max_length=50)
    title = models.CharField(_("professional title"), max_length=30, choices=Title.choices)
    licence_no = models.CharField(_("licence number"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_title_display()}）"


class Membership(models.Model):
    """A staff member's role at an institution (and department). A member acts as one at a time."""

    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="memberships")
    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="memberships")
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["staff", "institution", "role"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "institution", "department", "role"], name="membership_unique"
            ),
            # NULL departments are distinct to a plain unique constraint: close that gap too.
            models.UniqueConstraint(
                fields=["staff", "institution", "role"], condition=models.Q(department__isnull=True),
                name="membership_unique_without_department",
            ),
        ]

    def __str__(self) -> str:
        place = self.institution.short_name
        if self.department_id:
            place = f"{place} {self.department.name}"
        return f"{place} · {self.get_role_display()}"
