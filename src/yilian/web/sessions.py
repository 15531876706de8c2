"""Idle timeout without a database write on every request.

`SESSION_SAVE_EVERY_REQUEST` would renew the idle timeout by rewriting the session row at every request —
three statements (BEGIN, UPDATE, COMMIT) on each API call of a busy registration desk. This middleware
renews it at most once per `YILIAN_SESSION_RENEW_SECONDS` (default 60): it keeps the time of the last
renewal in the session and, when that is older, touches the session so Django saves it with a fresh
expiry. A session therefore expires between `SESSION_COOKIE_AGE − renew` and `SESSION_COOKIE_AGE` seconds
after its last request, which is what an idle timeout of "30 minutes" can honestly promise anyway.
"""

import time

from django.conf import settings

TOUCHED = "_yilian_touched"


class IdleRenewMiddleware:
    """Placed after SessionMiddleware: its response half runs first and marks the session modified."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or session.is_empty():  # no session, or logged out: nothing to renew
            return response
        now = int(time.time())
        if session.modified or now - session.get(TOUCHED, 0) >= settings.SESSION_RENEW_SECONDS:
            session[TOUCHED] = now  # marks it modified: SessionMiddleware saves it with a fresh expiry
        return response
