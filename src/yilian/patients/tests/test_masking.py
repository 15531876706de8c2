"""Masking of identifiers shown on screen."""

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yilian.logfilter import mask_text
from yilian.patients.masking import mask_name, mask_phone, mask_resident_id
from yilian.patients.residentid import make


def test_resident_id_keeps_region_and_last_four():
    assert mask_resident_id("11010519491231002X") == "110105********002X"
    assert mask_resident_id("110105490101001") == "110105*****1001"  # the old 15-digit number
    assert mask_resident_id("") == ""
    assert mask_resident_id(None) == ""
    assert mask_resident_id("1234567") == "*******"


@pytest.mark.parametrize(("phone", "masked"), [("13912345678", "139****5678"), ("0571-87654321", "057******4321"),
                                               ("12345", "*****"), ("", "")])
def test_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("name", "masked"), [("张伟", "张*"), ("张小伟", "张*伟"), ("欧阳小明", "欧**明"),
                                              ("李", "李"), ("", "")])
def test_name(name, masked):
    assert mask_name(name) == masked


DATES = st.dates(min_value=date(1880, 1, 1), max_value=date(2100, 12, 31))


@given(DATES, st.integers(0, 999))
def test_masked_id_never_shows_the_birth_date(born, sequence):
    value = make("330782", born, sequence)
    masked = mask_resident_id(value)
    assert len(masked) == 18
    assert masked[6:14] == "********"
    assert masked[:6] == value[:6] and masked[-4:] == value[-4:]


@given(DATES, st.integers(0, 999), st.integers(10**7, 10**8 - 1))
def test_log_filter_masks_ids_and_mobiles_inside_text(born, sequence, tail):
    rid, phone = make("330782", born, sequence), f"139{tail}"
    masked = mask_text(f"id={rid};tel={phone}.")
    assert rid not in masked and phone not in masked
    assert mask_resident_id(rid) in masked and mask_phone(phone) in masked
