"""Admin pages for the network, open only to a system administrator acting as one (see
`yilian.web.admin_site`). Every save goes through `network.actions`: a form shows the action's checks
beside its fields, and `save_model` calls the action."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from yilian.errors import ActionError
from yilian.network import actions
from yilian.network.acting import actor_for
from yilian.network.models import Consortium, Department, Institution, Membership, Staff
from yilian.web.admin_site import site


class ActionAdmin(admin.ModelAdmin):
    """Permissions follow the acting role (checked by the site), not Django's per-user permission table;
    `check_action(request, form, obj)` runs the action's checks, `save_model` the action."""

    error_fields: dict[str, str] = {}

    def has_view_permission(self, request, obj=None):
        return site.has_permission(request)

    has_module_permission = has_add_permission = has_change_permission = has_view_permission

    def has_delete_permission(self, request, obj=None):
        return False  # history matters: deactivate a membership instead

    def get_form(self, request, obj=None, **kwargs):
        base = super().get_form(request, obj, **kwargs)
        model_admin = self

        class Checked(base):
            def _post_clean(self):
                super()._post_clean()
                if self.errors:
                    return
                try:
                    model_admin.check_action(request, self, obj)
                except ActionError as exc:
                    for field, message in exc.errors.items():
                        name = model_admin.error_fields.get(field, field)
                        self.add_error(name if name in self.fields else None, message)

        return Checked

    def check_action(self, request, form, obj) -> None:
        if obj is not None:
            actions.check_configure(actor_for(request))

    def save_model(self, request, obj, form, change):
        if change:
            actions.do_save_network_row(actor_for(request), obj)
        else:
            created = self.create(actor_for(request), form.cleaned_data)
            obj.pk = created.pk

    def create(self, actor, data):
        raise NotImplementedError


@admin.register(Consortium, site=site)
class ConsortiumAdmin(ActionAdmin):
    list_display = ["name", "short_name", "division_code"]

    @staticmethod
    def _new(data) -> actions.NewConsortium:
        return actions.NewConsortium(data["name"], data["short_name"], data["division_code"])

    def check_action(self, request, form, obj):
        if obj is None:
            actions.check_consortium(actor_for(request), self._new(form.cleaned_data))
        super().check_action(request, form, obj)

    def create(self, actor, data):
        return actions.do_create_consortium(actor, self._new(data))


@admin.register(Institution, site=site)
class InstitutionAdmin(ActionAdmin):
    list_display = ["code", "name", "kind", "grade", "division_code", "parent"]
    list_filter = ["kind", "grade"]
    search_fields = ["name", "short_name", "code"]
    autocomplete_fields = ["parent"]
    error_fields = {"parent_code": "parent"}

    @staticmethod
    def _new(data) -> actions.NewInstitution:
        parent = data.get("parent")
        return actions.NewInstitution(
            code=data["code"], name=data["name"], short_name=data["short_name"], kind=data["kind"],
            division_code=data["division_code"], grade=data["grade"], address=data.get("address", ""),
            parent_code=parent.code if parent else "")

    def check_action(self, request, form, obj):
        if obj is None:
            actions.check_institution(actor_for(request), form.cleaned_data["consortium"], self._new(form.cleaned_data))
        super().check_action(request, form, obj)

    def create(self, actor, data):
        return actions.do_create_institution(actor, data["consortium"], self._new(data))


@admin.register(Department, site=site)
class DepartmentAdmin(ActionAdmin):
    list_display = ["name", "subject_code", "institution"]
    list_filter = ["subject_code"]
    search_fields = ["name", "institution__name"]
    autocomplete_fields = ["institution"]

    @staticmethod
    def _new(data) -> actions.NewDepartment:
        return actions.NewDepartment(data["institution"].pk, data["subject_code"], data["name"])

    def check_action(self, request, form, obj):
        if obj is None:
            actions.check_department(actor_for(request), self._new(form.cleaned_data))
        super().check_action(request, form, obj)

    def create(self, actor, data):
        return actions.do_create_department(actor, self._new(data))


class MembershipInline(admin.TabularInline):
    """Read-only here: memberships are granted and ended on the membership pages, through the actions."""

    model = Membership
    extra = 0
    fields = ["institution", "department", "role", "active"]
    readonly_fields = fields
    show_change_link = True

    def has_view_permission(self, request, obj=None):
        return site.has_permission(request)

    def has_add_permission(self, request, obj=None):
        return False

    has_change_permission = has_delete_permission = has_add_permission


class NewStaffForm(forms.ModelForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    password = forms.CharField(label=_("Initial password"), widget=forms.PasswordInput, required=False,
                               help_text=_("Leave it empty and the account cannot log in until a password is set."))

    class Meta:
        model = Staff
        fields = ["name", "title", "licence_no"]


@admin.register(Staff, site=site)
class StaffAdmin(ActionAdmin):
    list_display = ["name", "title", "licence_no", "user"]
    list_filter = ["title"]
    search_fields = ["name", "licence_no", "user__username"]
    def get_inlines(self, request, obj):
        return [MembershipInline] if obj is not None else []

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = NewStaffForm
            kwargs["fields"] = ["username", "password", "name", "title", "licence_no"]
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["username", "password", "name", "title", "licence_no"]
        return ["user", "name", "title", "licence_no"]

    def get_readonly_fields(self, request, obj=None):
        return ["user"] if obj is not None else []

    @staticmethod
    def _new(data) -> actions.NewStaff:
        return actions.NewStaff(username=data["username"], name=data["name"], title=data["title"],
                                licence_no=data.get("licence_no", ""), password=data.get("password", ""))

    def check_action(self, request, form, obj):
        if obj is None:
            actions.check_staff(actor_for(request), self._new(form.cleaned_data))
        super().check_action(request, form, obj)

    def create(self, actor, data):
        return actions.do_create_staff(actor, self._new(data))


@admin.register(Membership, site=site)
class MembershipAdmin(ActionAdmin):
    list_display = ["staff", "institution", "department", "role", "active"]
    list_filter = ["role", "active", "institution__kind"]
    search_fields = ["staff__name", "institution__name"]
    autocomplete_fields = ["staff", "institution", "department"]
    error_fields = {"staff_id": "staff", "institution_id": "institution", "department_id": "department"}

    def get_readonly_fields(self, request, obj=None):
        # A role is ended by deactivating it and granted anew: history stays readable.
        return ["staff", "institution", "department", "role"] if obj is not None else []

    @staticmethod
    def _new(data) -> actions.NewMembership:
        department = data.get("department")
        return actions.NewMembership(staff_id=data["staff"].pk, institution_id=data["institution"].pk,
                                     role=data["role"], department_id=department.pk if department else None)

    def check_action(self, request, form, obj):
        actor = actor_for(request)
        if obj is None:
            try:
                actions.check_grants(actor, [self._new(form.cleaned_data)])
            except ActionError as exc:
                raise exc.unprefixed("items.0") from None
        else:
            actions.check_membership_active(actor, obj, form.cleaned_data["active"])

    def save_model(self, request, obj, form, change):
        if change:
            actions.do_set_membership_active(actor_for(request), obj, form.cleaned_data["active"])
        else:
            obj.pk = actions.do_grant_membership(actor_for(request), self._new(form.cleaned_data)).pk


