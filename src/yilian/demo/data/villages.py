"""Village names in the style of the 冀南 plain (张家庄村, 东马庄村, 侯疃村, 三里铺村, …), generated from a fixed
seed so that the county's map is the same in every demo, whatever `--seed` says.

The first village of each township carries the township's own name (柳营镇 → 柳营村): the township
health centre stands there.
"""

import random

# Surnames that name villages on the plain.
SURNAMES = (
    "张王李刘赵杨郭马孙韩郝侯贾高孟段苏申牛霍路靳冯魏崔胡岳宋吕常朱庞付尚邢袁薛闫范史温白任陈周"
)
# What follows a surname or a direction: 营 (garrison), 寨 (stockade), 屯, 堡, 店 (inn), 疃 (hamlet), 集 (market), …
BASES = ("营", "寨", "屯", "堡", "店", "疃", "集", "桥", "固", "楼", "井", "寺", "庙", "口", "铺", "窑", "台", "坊")
DIRECTIONS = (("东", "西"), ("南", "北"), ("前", "后"), ("大", "小"))
NUMBERS = ("二", "三", "五", "六", "七", "八", "十")
DESCRIPTIVE = (
    "柳林", "槐树屯", "白塔", "双井", "枣园", "杏园", "沙河", "河头", "堤上", "梨园", "桃园", "苇园", "柴庄",
    "石桥", "新庄", "高庄", "孟仵", "沙窝", "榆林", "花园", "安乐", "永和", "太平", "兴隆", "东关", "西关",
)


def _candidate(rng: random.Random) -> list[str]:
    """One name, or a pair of names that face each other (东马庄 and 西马庄)."""
    roll = rng.random()
    surname = rng.choice(SURNAMES)
    if roll < 0.34:
        return [f"{surname}家庄"]
    if roll < 0.48:
        return [f"{surname}庄"]
    if roll < 0.64:
        return [f"{surname}{rng.choice(BASES)}"]
    if roll < 0.84:
        first, second = rng.choice(DIRECTIONS)
        stem = rng.choice((surname, f"{surname}庄", f"{surname}{rng.choice(BASES)}", rng.choice(BASES)))
        return [f"{first}{stem}", f"{second}{stem}"] if rng.random() < 0.5 else [f"{rng.choice((first, second))}{stem}"]
    if roll < 0.90:
        return [f"{rng.choice(NUMBERS)}里{rng.choice(('铺', '店', '庄', '屯'))}"]
    return [rng.choice(DESCRIPTIVE)]


def seat_village(township_name: str) -> str:
    return township_name.removesuffix("镇").removesuffix("乡") + "村"


def county_villages(townships: list[tuple[str, str, int, bool]]) -> dict[str, list[tuple[str, str]]]:
    """Township code → [(12-digit village code, village name)], names unique in the county."""
    rng = random.Random("杏林县-villages-v1")
    used = {seat_village(name) for _code, name, _count, _central in townships}
    out: dict[str, list[tuple[str, str]]] = {}
    for code, name, count, _central in townships:
        names = [seat_village(name)]
        while len(names) < count:
            for stem in _candidate(rng):
                village = f"{stem}村"
                if village not in used and len(names) < count:
                    used.add(village)
                    names.append(village)
        out[code] = [(f"{code}{200 + i:03d}", village) for i, village in enumerate(names)]
    return out
