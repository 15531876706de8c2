"""Template context for the shell: the acting membership, the others to switch to, and the navigation
for the acting role."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from yilian.network.acting import active_memberships
from yilian.network.roles import Cap, has_cap

NAV = [
    (_("Home"), "web:home", None),
    (_("Patients"), "patients:list", Cap.CLINICAL),
    (_("Register"), "patients:register", Cap.REGISTER),
    (_("QR check-in"), "patients:qr_check_in", Cap.REGISTER),
    (_("Booking"), "scheduling:book", Cap.REGISTER),
    (_("Queue check-in"), "scheduling:desk", Cap.REGISTER),
    (_("Calling"), "scheduling:doctor", Cap.CLINICAL),
    (_("Referrals"), "referrals:boxes", Cap.CLINICAL),
    (_("Green channels"), "emergency:board", Cap.CLINICAL),
    (_("Consultations"), "consults:boxes", Cap.CLINICAL),
    (_("Diagnostic centres"), "diagnostics:index", (Cap.CLINICAL, Cap.DASHBOARD)),
    (_("Overdue referrals"), "referrals:escalated", Cap.POLICY),
    (_("Green-channel quality"), "emergency:report", Cap.POLICY),
    (_("Result recognition quality"), "results:quality", Cap.POLICY),
    (_("Clinic schedules"), "scheduling:schedules", Cap.SCHEDULE),
    # Registrars set their own institution's policy rows; the consortium manager any member's.
    (_("Outpatient policy"), "scheduling:policy", (Cap.SCHEDULE, Cap.POLICY)),
    (_("Possible duplicates"), "patients:links", Cap.LINK_REVIEW),
    (_("Unmatched results"), "interop:unmatched", Cap.LINK_REVIEW),
    (_("Emergency access"), "patients:break_glass", Cap.BREAK_GLASS),
    (_("Indicators"), "analytics:dashboard", Cap.DASHBOARD),
    (_("Break-glass review"), "access:review", Cap.REVIEW_ACCESS),
    (_("Audit trail"), "access:audit", Cap.AUDIT),
    (_("Administration"), "admin:index", Cap.CONFIGURE),
]


def _holds(role: str | None, cap) -> bool:
    """`cap` is one capability, a tuple of which any one will do, or None (everyone acting)."""
    if cap is None:
        return True
    return any(has_cap(role, c) for c in cap) if isinstance(cap, tuple) else has_cap(role, cap)


def shell(request) -> dict:
    membership = getattr(request, "membership", None)
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"acting": None, "nav": [], "memberships": []}
    role = membership.role if membership else None
    # The master patient index desk works at the consortium's lead institution only (patients.stewardship).
    lead = membership is not None and membership.institution.parent_id is None
    nav = [
        {"label": label, "url": reverse(name), "active": request.path == reverse(name)}
        for label, name, cap in NAV
        if membership is not None and _holds(role, cap) and (cap != Cap.LINK_REVIEW or lead)
    ]
    return {"acting": membership, "nav": nav, "memberships": list(active_memberships(request.user))}
