"""Log-in, lock-out, idle timeout, choosing and switching the acting membership."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from yilian.network.acting import SESSION_KEY
from yilian.network.roles import Role
from yilian.testing import factories as f
from yilian.testing.checks import contains
from yilian.web.sessions import TOUCHED


def log_in(client, username, password=f.PASSWORD):
    return client.post(reverse("web:login"), {"username": username, "password": password})


def is_logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_idle_timeout_settings():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False  # renewed by IdleRenewMiddleware, once a minute
    assert settings.SESSION_RENEW_SECONDS == 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True


def _renewed_seconds_ago(client, seconds: int) -> str:
    """Pretend the session was last renewed `seconds` ago and expires in a minute; returns its key."""
    session = client.session
    session[TOUCHED] = int(time.time()) - seconds
    session.save()
    Session.objects.filter(session_key=session.session_key).update(
        expire_date=timezone.now() + timedelta(seconds=60))
    return session.session_key


def test_a_request_renews_the_idle_timeout_once_a_minute(client_as, owner):
    client = client_as(owner)
    key = _renewed_seconds_ago(client, 61)
    assert client.get("/").status_code == 200
    expires = Session.objects.get(session_key=key).expire_date
    assert expires > timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)


def test_a_request_within_the_minute_does_not_write_the_session(client_as, owner):
    client = client_as(owner)
    key = _renewed_seconds_ago(client, 10)
    before = Session.objects.get(session_key=key).expire_date
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("patients:list")).status_code == 200
    assert Session.objects.get(session_key=key).expire_date == before
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"] and "UPDATE" in q["sql"]]


def test_idle_past_the_timeout_after_many_unwritten_requests_is_logged_out(client_as, owner):
    """Requests inside the renewal minute do not extend the session past its expiry forever: the next
    request after the minute renews it, and a session left idle until its expiry is gone."""
    client = client_as(owner)
    key = _renewed_seconds_ago(client, 10)
    for _ in range(3):
        assert client.get("/").status_code == 200
    Session.objects.filter(session_key=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    resp = client.get(reverse("patients:list"))
    assert resp.status_code == 302
    assert resp["Location"].startswith(reverse("web:login"))


def test_idle_session_is_logged_out(client_as, owner):
    client = client_as(owner)
    Session.objects.filter(session_key=client.session.session_key).update(
        expire_date=timezone.now() - timedelta(seconds=1))
    resp = client.get(reverse("patients:list"))
    assert resp.status_code == 302
    assert resp["Location"].startswith(reverse("web:login"))


def test_anonymous_is_sent_to_log_in(client, db):
    for url in ("/", reverse("patients:list"), reverse("access:audit"), reverse("analytics:dashboard")):
        resp = client.get(url)
        assert resp.status_code == 302
        assert resp["Location"].startswith(reverse("web:login"))
    resp = client.get("/api/v1/patients")
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["field"] == ""


def test_login_with_one_membership_acts_as_it(client, owner):
    resp = log_in(client, "owner")
    assert resp.status_code == 302
    assert resp["Location"] == reverse("web:home")
    home = client.get("/")
    assert home.status_code == 200
    assert home.context["acting"] == owner
    assert client.session[SESSION_KEY] == owner.pk


def test_login_with_several_memberships_goes_to_the_chooser(client, net, owner):
    f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    resp = log_in(client, "owner")
    assert resp.status_code == 302
    assert resp["Location"] == reverse("web:choose_membership")
    assert client.get("/").url == reverse("web:choose_membership")
    chooser = client.get(reverse("web:choose_membership"))
    assert [m.pk for m in chooser.context["choices"]] == sorted(m.pk for m in owner.staff.memberships.all())


def test_choosing_a_membership_that_is_not_yours_is_refused(client, net, owner, outsider):
    f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    log_in(client, "owner")
    for bad in (outsider.pk, "abc", ""):
        resp = client.post(reverse("web:choose_membership"), {"membership": bad})
        assert resp.status_code == 400
        assert 'id="membership-errors"' in resp.content.decode()
        assert SESSION_KEY not in client.session


def test_chooser_does_not_redirect_off_site(client, net, owner):
    village = f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    log_in(client, "owner")
    resp = client.post(reverse("web:choose_membership"), {"membership": village.pk, "next": "https://evil.example/"})
    assert resp["Location"] == "/"


def test_switching_membership_changes_what_is_shown(client, net, owner, patient, encounter):
    village = f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    log_in(client, "owner")
    client.post(reverse("web:choose_membership"), {"membership": owner.pk})
    assert f.leaked(client.get(reverse("patients:list")).content, patient) == ["name", "resident_id_masked"]
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200

    resp = client.post(reverse("web:choose_membership"), {"membership": village.pk, "next": "/patients/"})
    assert resp["Location"] == "/patients/"
    listing = client.get(reverse("patients:list"))
    assert listing.context["acting"] == village
    assert f.leaked(listing.content, patient) == []
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 404
    assert client.get(f"/api/v1/patients/{patient.pk}").status_code == 404


def test_deactivated_membership_stops_acting(client_as, net, owner, patient):
    f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    f.make_membership(net.township, Role.DOCTOR, staff=owner.staff)
    client = client_as(owner)
    assert client.get(reverse("patients:detail", args=[patient.pk])).status_code == 200
    type(owner).objects.filter(pk=owner.pk).update(active=False)
    resp = client.get(reverse("patients:detail", args=[patient.pk]))
    assert resp.status_code == 302
    assert resp["Location"] == reverse("web:choose_membership")
    assert client.get(f"/api/v1/patients/{patient.pk}").status_code == 403


def test_deactivated_membership_falls_back_to_the_only_one_left(client_as, net, owner, patient):
    village = f.make_membership(net.village, Role.DOCTOR, staff=owner.staff)
    client = client_as(owner)
    type(owner).objects.filter(pk=owner.pk).update(active=False)
    resp = client.get(reverse("patients:detail", args=[patient.pk]))
    assert resp.status_code == 404
    assert resp.context["acting"] == village


def test_staff_without_membership_sees_nothing(client, db):
    staff = f.make_staff("nobody")
    log_in(client, staff.user.username)
    chooser = client.get(reverse("web:choose_membership"))
    assert chooser.status_code == 200
    assert list(chooser.context["choices"]) == []
    assert client.get(reverse("patients:list")).url == reverse("web:choose_membership")
    assert client.get("/api/v1/patients").status_code == 403


def test_failed_logins_lock_the_account(db, owner):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        resp = log_in(client, "owner", "wrong-Password-1")
        assert not is_logged_in(client)
    # The account is now locked: even the right password is refused.
    resp = log_in(client, "owner")
    assert resp.status_code == 429
    assert not is_logged_in(client)
    assert "web/locked_out.html" in [t.name for t in resp.templates]
    # From another address too (the lock is on the user name, not the address).
    other = Client(REMOTE_ADDR="10.1.2.3")
    assert log_in(other, "owner").status_code == 429
    assert not is_logged_in(other)


def test_a_few_failures_do_not_lock(db, owner):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        resp = log_in(client, "owner", "wrong-Password-1")
        assert resp.status_code == 200
        assert resp.context["form"].errors
    assert log_in(client, "owner").status_code == 302
    assert is_logged_in(client)


def test_lock_is_per_user_name(db, owner, outsider):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        log_in(client, "owner", "wrong-Password-1")
    assert log_in(Client(), "outsider").status_code == 302


def test_logout_requires_post_and_ends_the_session(client_as, owner):
    client = client_as(owner)
    assert client.get(reverse("web:logout")).status_code == 405
    resp = client.post(reverse("web:logout"))
    assert resp.status_code == 302
    assert not is_logged_in(client)


def test_healthz(client, db):
    assert client.get("/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("header", [{"HTTP_ACCEPT_LANGUAGE": "en"}, {"HTTP_ACCEPT_LANGUAGE": "en-US,en;q=0.9"}, {}])
def test_pages_are_chinese_whatever_the_browser_says(client, db, header):
    resp = client.get(reverse("web:login"), **header)
    assert contains(resp, '<html lang="zh-hans"')


@pytest.mark.parametrize("header, expected", [({"HTTP_ACCEPT_LANGUAGE": "en"}, "Log in first."), ({}, "请先登录。")])
def test_the_api_follows_accept_language(client, db, header, expected):
    resp = client.get("/api/v1/patients", **header)
    assert resp.status_code == 401
    assert resp.json()["errors"][0]["message"] == expected


def test_language_cookie_wins(client, db):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    resp = client.get(reverse("web:login"), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert contains(resp, '<html lang="en"')


def test_shell_shows_who_is_acting(client_as, owner):
    resp = client_as(owner).get("/")
    assert contains(resp, 'data-testid="acting"')
    assert contains(resp, owner.staff.name)
    labels = [item["url"] for item in resp.context["nav"]]
    assert labels == ["/", reverse("patients:list"), reverse("scheduling:doctor"), reverse("referrals:boxes"),
                      reverse("emergency:board"), reverse("consults:boxes"), reverse("diagnostics:index"), reverse("patients:break_glass"),
                      reverse("analytics:dashboard")]
