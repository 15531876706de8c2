"""Log-in, choosing the acting membership, the home page and the health check."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from yilian.network.acting import SESSION_KEY, active_memberships, requires


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session.pop(SESSION_KEY, None)
        if active_memberships(form.get_user()).count() > 1:
            return redirect("web:choose_membership")
        return response


@login_required
@require_http_methods(["GET", "POST"])
def choose_membership(request):
    memberships = list(active_memberships(request.user))
    if request.method == "POST":
        chosen = request.POST.get("membership", "")
        if not chosen.isdigit() or int(chosen) not in {m.pk for m in memberships}:
            return render(request, "web/choose_membership.html",
                          {"choices": memberships, "error": _("Choose one of your own active roles.")}, status=400)
        request.session[SESSION_KEY] = int(chosen)
        target = request.POST.get("next") or "/"
        if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
            target = "/"
        return redirect(target)
    return render(request, "web/choose_membership.html", {"choices": memberships})


@requires()
def home(request):
    return render(request, "web/home.html")


def healthz(request):
    return JsonResponse({"status": "ok"})
