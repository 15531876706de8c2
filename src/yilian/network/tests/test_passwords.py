"""Password rules (等保 2.0): length, not common, not all digits, three character classes."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from yilian.network.passwords import CharacterClassValidator


@pytest.mark.parametrize("weak", ["password123", "abcdefghij", "1234567890", "Short-1", "ABCDEFGHIJKL",
                                  "Password1234", "qwertyuiop"])
def test_weak_passwords_are_rejected(weak):
    with pytest.raises(ValidationError):
        validate_password(weak)


@pytest.mark.parametrize("strong", ["Yilian-demo-2026", "县医院-Admin-2026", "t0ugh&Enough"])
def test_strong_passwords_are_accepted(strong):
    validate_password(strong)


@pytest.mark.django_db
def test_password_like_the_user_name_is_rejected():
    user = get_user_model()(username="zhangwei2026")
    with pytest.raises(ValidationError):
        validate_password("Zhangwei2026!", user=user)


def test_character_classes():
    validator = CharacterClassValidator(min_classes=3)
    validator.validate("abcDEF123")
    validator.validate("abc-def-123")
    with pytest.raises(ValidationError) as exc:
        validator.validate("abcdef123")
    assert exc.value.code == "password_too_simple"
    assert "3" in validator.get_help_text()
