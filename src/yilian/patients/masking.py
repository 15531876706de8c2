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


def mask_identifier(value: str | None) -> str:
    """Any other identifier (a card, an MRN, a passport): the last 4 characters stay, 3 at most of the
    start for long values (the issuer's prefix), the rest masked."""
    if not value:
        return ""
    if len(value) == 18:
        return mask_resident_id(value)
    if len(value) <= 4:
        return "*" * len(value)
    head = 3 if len(value) >= 12 else 0
    return value[:head] + "*" * (len(value) - head - 4) + value[-4:]


def mask_address(value: str | None) -> str:
    """Down to the village or community (the level record linkage compares); the house number masked:
    河北省邯郸市杏林县柳营镇陈家庄村4号 → 河北省邯郸市杏林县柳营镇陈家庄村…"""
    if not value:
        return ""
    cut = max(value.rfind(mark) for mark in ("村", "社区", "居委会", "街道", "镇", "乡"))
    if cut < 0:
        return value[:6] + ("…" if len(value) > 6 else "")
    end = cut + (2 if value[cut:cut + 2] == "社区" else 3 if value[cut:cut + 3] == "居委会" else
                 2 if value[cut:cut + 2] == "街道" else 1)
    return value[:end] + ("…" if len(value) > end else "")
