"""The admin site, open only to a system administrator acting as one (三员分立: not the security admin,
not the auditor, and never clinical data)."""

from django.contrib.admin import AdminSite
from django.utils.translation import gettext_lazy as _

from yilian.network.roles import Cap, has_cap


class YilianAdminSite(AdminSite):
    site_header = _("Yilian system administration")
    site_title = _("Yilian")
    index_title = _("Consortium network")

    def has_permission(self, request) -> bool:
        membership = getattr(request, "membership", None)
        return bool(
            request.user.is_active and membership is not None and has_cap(membership.role, Cap.CONFIGURE)
        )


site = YilianAdminSite(name="admin")
