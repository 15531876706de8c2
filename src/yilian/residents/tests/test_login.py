"""Log-in by text-message code: the number's form, what is sent and stored, resend and daily limits, five
tries per code, one use, expiry, and no answer that tells whether a number is on record."""

from datetime import timedelta

import pytest
from django.utils import timezone

from yilian.errors import ActionError
from yilian.residents.login import (
    MAX_ATTEMPTS,
    PER_DAY,
    clean_phone,
    do_request_code,
    do_verify,
)
from yilian.residents.models import LoginCode, OutgoingSms, ResidentAccount
from yilian.residents.tests.conftest import PHONE

pytestmark = pytest.mark.django_db


def test_clean_phone():
    assert clean_phone("+86 138-0013-8000") == PHONE
    assert clean_phone("0086 13800138000") == PHONE
    for bad in ("", "1380013800", "23800138000", "138001380001", "010-12345678", "１３８００１３８０００"):
        with pytest.raises(ActionError) as exc:
            clean_phone(bad)
        assert set(exc.value.errors) == {"phone"}


def test_a_number_on_record_gets_a_text_message_and_only_a_digest_is_kept(family):
    sent = do_request_code(PHONE)
    assert sent.shown and len(sent.shown) == 6
    sms = OutgoingSms.objects.get()
    assert sms.phone == PHONE and sent.shown in sms.text and sms.purpose == "login_code"
    row = LoginCode.objects.get()
    assert PHONE not in row.phone_digest and sent.shown not in row.code_digest


def test_an_unknown_number_gets_the_same_answer_and_no_message(family, settings):
    settings.YILIAN_SMS_SHOW_CODES = False
    assert do_request_code("13612345678").shown is None
    assert do_request_code(PHONE).shown is None
    assert OutgoingSms.objects.count() == 1  # only the number on record
    assert LoginCode.objects.count() == 2  # both rate-limited alike


def test_an_unknown_number_cannot_log_in_even_with_its_code():
    sent = do_request_code("13612345678")
    with pytest.raises(ActionError):
        do_verify("13612345678", sent.shown)
    assert not ResidentAccount.objects.exists()


def test_resend_waits_a_minute_and_a_day_allows_ten(family):
    start = timezone.now()
    do_request_code(PHONE, now=start)
    with pytest.raises(ActionError) as exc:
        do_request_code(PHONE, now=start + timedelta(seconds=30))
    assert "30" in exc.value.errors["phone"]
    for n in range(1, PER_DAY):
        do_request_code(PHONE, now=start + timedelta(minutes=2 * n))
    with pytest.raises(ActionError) as exc:
        do_request_code(PHONE, now=start + timedelta(hours=1))
    assert set(exc.value.errors) == {"phone"}
    do_request_code(PHONE, now=start + timedelta(days=1, minutes=1))  # a new day


def test_the_right_code_logs_in_once(family):
    code = do_request_code(PHONE).shown
    account = do_verify(PHONE, f" {code} ")
    assert account.phone == PHONE and account.last_login_at is not None
    with pytest.raises(ActionError):
        do_verify(PHONE, code)  # used
    assert do_verify(PHONE, do_request_code(PHONE, now=timezone.now() + timedelta(minutes=2)).shown) == account


def test_five_wrong_tries_spend_the_code(family):
    code = do_request_code(PHONE).shown
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for n in range(MAX_ATTEMPTS):
        with pytest.raises(ActionError) as exc:
            do_verify(PHONE, wrong)
        assert set(exc.value.errors) == {"code"}
        assert LoginCode.objects.get().attempts == n + 1  # counted although refused
    with pytest.raises(ActionError):
        do_verify(PHONE, code)
    assert not ResidentAccount.objects.exists()


def test_an_expired_code_is_refused(family):
    code = do_request_code(PHONE, now=timezone.now() - timedelta(minutes=6)).shown
    with pytest.raises(ActionError):
        do_verify(PHONE, code)


def test_malformed_codes_name_the_field(family):
    for bad in ("", "12345", "abcdef", "1234567"):
        with pytest.raises(ActionError) as exc:
            do_verify(PHONE, bad)
        assert set(exc.value.errors) == {"code"}
    assert LoginCode.objects.count() == 0
