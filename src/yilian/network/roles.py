"""Roles and what each may do. Deny by default: a role not listed here, or a capability not listed for
a role, is refused everywhere.

The three administrator roles are kept apart (三员分立, GB/T 22239): the system admin configures the
network but reads no clinical data; the security admin reviews break-glass and grants; the auditor reads
the audit trail and nothing clinical.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    DOCTOR = "doctor", _("Doctor")
    NURSE = "nurse", _("Nurse")
    TECHNICIAN = "technician", _("Technician")
    REGISTRAR = "registrar", _("Registrar")
    MANAGER = "manager", _("Consortium manager")
    SYSADMIN = "sysadmin", _("System administrator")
    SECADMIN = "secadmin", _("Security administrator")
    AUDITOR = "auditor", _("Auditor")
    PHARMACIST = "pharmacist", _("Pharmacist")


class Cap(models.TextChoices):
    """Capabilities; each page and endpoint names the one it needs."""

    CLINICAL = "clinical", _("See patients in care")
    REGISTER = "register", _("Register patients")
    RECORD_VISIT = "record_visit", _("Record visits and charges")
    UNMASK = "unmask", _("Unmask identifiers")
    BREAK_GLASS = "break_glass", _("Break the glass")
    DASHBOARD = "dashboard", _("See aggregate indicators")
    CONFIGURE = "configure", _("Configure the network")
    REVIEW_ACCESS = "review_access", _("Review break-glass and grants")
    AUDIT = "audit", _("Read the audit trail")
    LINK_REVIEW = "link_review", _("Review possible duplicate patient records")
    MERGE = "merge", _("Merge and unmerge patient records")
    SCHEDULE = "schedule", _("Manage clinic schedules")
    POLICY = "policy", _("Set members' outpatient policy")


CAPABILITIES: dict[str, frozenset[str]] = {
    Role.DOCTOR: frozenset(
        {Cap.CLINICAL, Cap.RECORD_VISIT, Cap.UNMASK, Cap.BREAK_GLASS, Cap.DASHBOARD}
    ),
    Role.NURSE: frozenset({Cap.CLINICAL, Cap.BREAK_GLASS, Cap.DASHBOARD}),
    Role.TECHNICIAN: frozenset({Cap.CLINICAL}),
    # The master patient index desk (主索引管理) is a registrar's job; it works at the consortium's lead
    # institution only (`patients.stewardship`), on masked data (docs/mpi.md).
    Role.REGISTRAR: frozenset(
        {Cap.CLINICAL, Cap.REGISTER, Cap.RECORD_VISIT, Cap.UNMASK, Cap.LINK_REVIEW, Cap.MERGE, Cap.SCHEDULE}
    ),
    # The consortium management centre sets each member's outpatient policy rows (fees, booking limits,
    # registration validity, free-registration rules): docs/scheduling.md, "Staff pages".
    Role.MANAGER: frozenset({Cap.DASHBOARD, Cap.POLICY}),
    Role.SYSADMIN: frozenset({Cap.CONFIGURE}),
    Role.SECADMIN: frozenset({Cap.REVIEW_ACCESS}),
    Role.AUDITOR: frozenset({Cap.AUDIT}),
    # A pharmacist role exists in the network but has been granted nothing yet: it sees nothing.
}


def has_cap(role: str | None, cap: str) -> bool:
    return role is not None and cap in CAPABILITIES.get(role, frozenset())
