"""公民身份号码 (resident identity number), GB 11643-1999.

18 characters: 6-digit address code, 8-digit birth date (YYYYMMDD), 3-digit sequence (odd for men, even for
women) and a check character computed by ISO 7064 MOD 11-2 over the first 17 digits.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
SHAPE = re.compile(r"^[0-9]{17}[0-9X]$")  # ASCII only: \d would also take other scripts' digits


class InvalidResidentId(ValueError):
    """`code` says what is wrong: shape, date or check."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ResidentId:
    value: str
    address_code: str
    birth_date: date
    sex: str  # GB/T 2261.1: "1" male, "2" female


def check_char(first17: str) -> str:
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise(value: str) -> str:
    """Upper case without spaces; full-width digits and Ｘ (as Chinese input methods type them) become ASCII."""
    return unicodedata.normalize("NFKC", value or "").strip().replace(" ", "").upper()


def parse(value: str, today: date | None = None) -> ResidentId:
    value = normalise(value)
    if not SHAPE.match(value):
        raise InvalidResidentId("shape")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise InvalidResidentId("date") from None
    if born.year < 1880 or (today is not None and born > today):
        raise InvalidResidentId("date")
    if check_char(value[:17]) != value[17]:
        raise InvalidResidentId("check")
    sex = "1" if int(value[16]) % 2 == 1 else "2"
    return ResidentId(value=value, address_code=value[:6], birth_date=born, sex=sex)


def make(address_code: str, born: date, sequence: int) -> str:
    """Build a valid number (for the demo and tests): `sequence` 0–999, odd for men, even for women."""
    first17 = f"{address_code}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_char(first17)
