"""Admin pages for the network. Only a system administrator acting as such may use them (see
`yilian.web.admin_site`)."""

from django.contrib import admin

from yilian.network.models import Consortium, Department, Institution, Membership, Staff
from yilian.web.admin_site import site


class RolePermissions:
    """Permissions follow the acting role (checked by the site), not Django's per-user permission table."""

    def has_view_permission(self, request, obj=None):
        return site.has_permission(request)

    has_module_permission = has_add_permission = has_view_permission

    def has_change_permission(self, request, obj=None):
        return site.has_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False  # history matters: deactivate a membership instead


class RoleAdmin(RolePermissions, admin.ModelAdmin):
    pass


@admin.register(Consortium, site=site)
class ConsortiumAdmin(RoleAdmin):
    list_display = ["name", "short_name", "division_code"]


@admin.register(Institution, site=site)
class InstitutionAdmin(RoleAdmin):
    list_display = ["code", "name", "kind", "grade", "division_code", "parent"]
    list_filter = ["kind", "grade"]
    search_fields = ["name", "short_name", "code"]
    autocomplete_fields = ["parent"]


@admin.register(Department, site=site)
class DepartmentAdmin(RoleAdmin):
    list_display = ["name", "subject_code", "institution"]
    list_filter = ["subject_code"]
    search_fields = ["name", "institution__name"]
    autocomplete_fields = ["institution"]


class MembershipInline(RolePermissions, admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["institution", "department"]


@admin.register(Staff, site=site)
class StaffAdmin(RoleAdmin):
    list_display = ["name", "title", "licence_no", "user"]
    list_filter = ["title"]
    search_fields = ["name", "licence_no", "user__username"]
    inlines = [MembershipInline]
    raw_id_fields = ["user"]


@admin.register(Membership, site=site)
class MembershipAdmin(RoleAdmin):
    list_display = ["staff", "institution", "department", "role", "active"]
    list_filter = ["role", "active", "institution__kind"]
    search_fields = ["staff__name", "institution__name"]
    autocomplete_fields = ["staff", "institution", "department"]
