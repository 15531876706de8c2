"""Log-in by a code sent to the resident's mobile number (短信验证码登录).

`do_request_code` writes a code row for any well-formed number, so the answer never tells whether a number
is on record; the text message is queued only when some patient record carries the number. `do_verify`
counts every try (five per code), accepts a code once and within five minutes, and opens the account.
Codes are kept only as a keyed digest (HMAC-SHA256 with the site's secret key).
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from yilian.errors import ActionError
from yilian.patients.models import Patient
from yilian.residents.models import LoginCode, OutgoingSms, ResidentAccount

MOBILE = re.compile(r"^1[3-9]\d{9}$", re.ASCII)
CODE_MINUTES = 5
MAX_ATTEMPTS = 5
RESEND_SECONDS = 60
PER_DAY = 10


@dataclass
class CodeSent:
    """`shown` is the code itself only where the site shows codes on the page (the demo, no SMS gateway)."""

    shown: str | None = None


def clean_phone(raw) -> str:
    """An 11-digit mainland mobile number; spaces, dashes and a +86 prefix are dropped."""
    phone = re.sub(r"[\s\-]", "", str(raw or ""))
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("0086"):
        phone = phone[4:]
    if not MOBILE.match(phone):
        raise ActionError("phone", _("Mobile number: 11 digits starting with 1."))
    return phone


def _digest(*parts: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


def patients_with(phone: str):
    """The patient records the resident may act for: those carrying the number (merged records excluded)."""
    return Patient.objects.filter(phone=phone, merged_into__isnull=True).order_by("birth_date", "pk")


def demo_household_phone() -> str | None:
    """Demo sites only (`YILIAN_SMS_SHOW_CODES`): a mobile number that several patient records share — a
    family whose pages a visitor can try. The most shared one, ties by the number: the same every time."""
    if not settings.YILIAN_SMS_SHOW_CODES:
        return None
    row = (Patient.objects.filter(merged_into__isnull=True).exclude(phone="").values("phone")
           .annotate(n=Count("id")).filter(n__gte=2).order_by("-n", "phone").first())
    return row["phone"] if row else None


def do_request_code(raw_phone, now=None) -> CodeSent:
    phone = clean_phone(raw_phone)
    now = now or timezone.now()
    key = _digest("phone", phone)
    with transaction.atomic():
        recent = LoginCode.objects.filter(phone_digest=key, created_at__gt=now - timedelta(days=1))
        last = recent.order_by("-created_at").first()
        if last is not None and (now - last.created_at).total_seconds() < RESEND_SECONDS:
            wait = RESEND_SECONDS - int((now - last.created_at).total_seconds())
            raise ActionError("phone", _("A code was just sent. Ask again in %(n)d seconds.") % {"n": wait})
        if recent.count() >= PER_DAY:
            raise ActionError("phone", _("Too many codes for this number today. Try again tomorrow."))
        code = f"{secrets.randbelow(10**6):06d}"
        LoginCode.objects.create(phone_digest=key, code_digest=_digest("code", phone, code), created_at=now,
                                 expires_at=now + timedelta(minutes=CODE_MINUTES))
        if patients_with(phone).exists():
            text = _("Your Yilian log-in code is %(code)s, valid for %(minutes)d minutes. Do not tell anyone.") % {
                "code": code, "minutes": CODE_MINUTES}
            OutgoingSms.objects.create(phone=phone, text=text, purpose="login_code", created_at=now)
    return CodeSent(shown=code if settings.YILIAN_SMS_SHOW_CODES else None)


def do_verify(raw_phone, raw_code, now=None) -> ResidentAccount:
    """The account of a number whose latest code was typed right; every try counts, right or wrong."""
    phone = clean_phone(raw_phone)
    code = re.sub(r"\s", "", str(raw_code or ""))
    if not re.fullmatch(r"\d{6}", code, re.ASCII):
        raise ActionError("code", _("Code: the six digits of the text message."))
    now = now or timezone.now()
    wrong = ActionError("code", _("The code is wrong or has expired. Ask for a new one."))
    with transaction.atomic():
        row = (LoginCode.objects.select_for_update()
               .filter(phone_digest=_digest("phone", phone), used_at__isnull=True, expires_at__gt=now)
               .order_by("-created_at").first())
        if row is None or row.attempts >= MAX_ATTEMPTS:
            raise wrong
        row.attempts += 1
        right = hmac.compare_digest(row.code_digest, _digest("code", phone, code))
        if right and patients_with(phone).exists():
            row.used_at = now
        row.save(update_fields=["attempts", "used_at"])
    if row.used_at is None:  # the try is counted (committed above) before the refusal
        raise wrong
    account, _created = ResidentAccount.objects.get_or_create(phone=phone, defaults={"created_at": now})
    account.last_login_at = now
    account.save(update_fields=["last_login_at"])
    return account
