"""The resident's log-in lives in the ordinary session (server-side rows, the same idle timeout as staff)
under its own key; a staff log-in in the same browser is a separate matter."""

from functools import wraps
from urllib.parse import urlencode

from django.shortcuts import redirect
from django.urls import reverse

from yilian.residents.models import ResidentAccount

SESSION_KEY = "_resident_account"


def log_in(request, account: ResidentAccount) -> None:
    request.session.cycle_key()  # a new session id at log-in: no fixation
    request.session[SESSION_KEY] = account.pk


def log_out(request) -> None:
    request.session.pop(SESSION_KEY, None)
    request.session.cycle_key()


def resident_required(view):
    """Sets `request.resident`, or sends the visitor to the log-in page and back."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        account_id = request.session.get(SESSION_KEY)
        account = ResidentAccount.objects.filter(pk=account_id).first() if account_id else None
        if account is None:
            return redirect(f"{reverse('residents:login')}?{urlencode({'next': request.get_full_path()})}")
        request.resident = account
        return view(request, *args, **kwargs)

    return wrapper
