"""公民身份号码 (GB 11643-1999): property tests of the parser and the check digit."""

from datetime import date, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from yilian.patients import residentid
from yilian.patients.residentid import InvalidResidentId, make, parse

TODAY = date(2026, 6, 30)

addresses = st.from_regex(r"[1-8][0-9]{5}", fullmatch=True)
birth_dates = st.dates(min_value=date(1880, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


@st.composite
def valid_ids(draw):
    address, born, sequence = draw(addresses), draw(birth_dates), draw(sequences)
    return make(address, born, sequence), address, born, sequence


@given(valid_ids())
@example(("11010519491231002X", "110105", date(1949, 12, 31), 2))  # the standard's own example
def test_every_valid_id_is_accepted_with_its_birth_date_and_sex(case):
    value, address, born, sequence = case
    parsed = parse(value, today=TODAY)
    assert parsed.value == value
    assert parsed.address_code == address
    assert parsed.birth_date == born
    assert parsed.sex == ("1" if sequence % 2 else "2")


@given(valid_ids())
def test_every_single_character_change_is_rejected(case):
    value = case[0]
    for position in range(18):
        alphabet = "0123456789X" if position == 17 else "0123456789"
        for char in alphabet:
            if char == value[position]:
                continue
            changed = value[:position] + char + value[position + 1:]
            with pytest.raises(InvalidResidentId):
                parse(changed, today=TODAY)


@given(valid_ids(), st.integers(min_value=0, max_value=16))
def test_swapping_two_different_neighbouring_digits_is_rejected(case, position):
    value = case[0]
    if value[position] == value[position + 1] or (position == 16 and value[17] == "X"):
        return
    swapped = value[:position] + value[position + 1] + value[position] + value[position + 2:]
    with pytest.raises(InvalidResidentId):
        parse(swapped, today=TODAY)


@given(valid_ids())
def test_spaces_and_lower_case_x_and_full_width_digits_are_normalised(case):
    value = case[0]
    spaced = f" {value[:6]} {value[6:14]} {value[14:].lower()} "
    assert parse(spaced, today=TODAY).value == value
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in value)  # ０-９ and Ｘ, as Chinese IMEs type them
    assert parse(full_width, today=TODAY).value == value
    assert residentid.normalise(full_width) == value


@given(valid_ids())
def test_other_scripts_digits_are_not_digits_here(case):
    value = case[0]
    arabic_indic = "".join(chr(0x0660 + int(c)) if c.isdigit() else c for c in value)
    with pytest.raises(InvalidResidentId) as exc:
        parse(arabic_indic)
    assert exc.value.code == "shape"


@pytest.mark.parametrize("value", ["", "1101051949123100", "110105194912310021X", "11010519491231002Y",
                                   "A1010519491231002X", "110105-1949-1231-002X", "110105490101001"])
def test_wrong_shapes(value):
    with pytest.raises(InvalidResidentId) as exc:
        parse(value)
    assert exc.value.code == "shape"


@pytest.mark.parametrize("born", ["19490230", "19491301", "18791231", "20260701"])
def test_impossible_birth_dates(born):
    first17 = f"110105{born}002"
    value = first17 + residentid.check_char(first17)
    with pytest.raises(InvalidResidentId) as exc:
        parse(value, today=TODAY)
    assert exc.value.code == "date"


def test_birth_today_is_fine_and_tomorrow_is_not():
    assert parse(make("110105", TODAY, 1), today=TODAY).birth_date == TODAY
    tomorrow = make("110105", TODAY + timedelta(days=1), 1)
    with pytest.raises(InvalidResidentId):
        parse(tomorrow, today=TODAY)
    assert parse(tomorrow).birth_date == TODAY + timedelta(days=1)  # no `today`: only the calendar is checked


def test_check_digit_x():
    assert residentid.check_char("11010519491231002") == "X"
    with pytest.raises(InvalidResidentId) as exc:
        parse("110105194912310020")
    assert exc.value.code == "check"
