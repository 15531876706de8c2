"""Masking of identifiers shown on screen: resident IDs, phones and names."""


def mask_resident_id(value: str | None) -> str:
    if not value:
        return ""
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def mask_phone(value: str | None) -> str:
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_name(value: str | None) -> str:
    """张伟 → 张*, 张小伟 → 张*伟, 欧阳小明 → 欧**明, 阿依·买买提 → 阿****提: the first and last characters
    stay (two-character names keep the first only), everything between is masked, · included."""
    if not value:
        return ""
    if len(value) == 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]
