"""Data the matcher reads: compound surnames, surname readings, look-alike characters (形近字).

Kept as plain tables so that a registrar's confusion found in the field can be added in one line.
"""

# 复姓: a name that starts with one of these (and is longer) splits after two characters.
COMPOUND_SURNAMES = frozenset("""
欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 司徒 夏侯 轩辕 令狐 钟离 澹台 公冶 太史 申屠 万俟 闻人
赫连 独孤 南宫 西门 百里 呼延 端木 拓跋 司空 第五 左丘 濮阳 淳于 单于 仲孙 乐正 东郭 羊舌 梁丘 微生 公羊 漆雕
壤驷 公良 谷梁 宰父 巫马 亓官 鲜于 闾丘 子车 颛孙 段干 司寇 太叔 叱干 完颜 东门 公西 即墨
""".split())

# How a character reads as a surname when that differs from its common reading (单 shàn, 曾 zēng, …).
SURNAME_READINGS: dict[str, str] = {
    "单": "shan", "曾": "zeng", "解": "xie", "区": "ou", "仇": "qiu", "朴": "piao", "查": "zha", "盖": "ge",
    "覃": "qin", "缪": "miao", "翟": "zhai", "尉": "yu", "种": "chong", "秘": "bi", "召": "shao", "那": "na",
    "都": "du", "俟": "qi", "长": "zhang", "乐": "yue", "员": "yun", "贲": "ben", "宿": "su", "繁": "po",
    "过": "guo", "句": "gou", "枞": "zong", "阚": "kan", "藏": "zang", "柏": "bai", "任": "ren", "华": "hua",
    "纪": "ji", "燕": "yan", "黑": "he", "牟": "mou", "沈": "shen", "尹": "yin", "能": "nai", "洗": "xian",
    "相": "xiang", "葛": "ge", "隗": "wei", "眭": "sui", "冼": "xian",
}

# Readings of characters in given names where the first dictionary reading is the rare one (长 cháng, not zhǎng).
GIVEN_READINGS: dict[str, str] = {
    "长": "chang", "重": "chong", "朝": "chao", "乐": "le", "行": "xing", "和": "he", "茜": "qian", "颉": "jie",
}

# 形近字: characters clerks misread or mistype for one another (handwritten forms, 五笔/仓颉 near misses).
# Each group folds onto its first character. Homophones (张/章, 王/汪) need no entry: pinyin catches them.
LOOKALIKE_GROUPS: tuple[str, ...] = (
    "王玉主丰", "未末", "己已巳", "戊戌戍戎", "日曰", "土士", "人入八", "大太犬", "天夭", "刀力", "千干于",
    "午牛", "申甲由田", "问间", "白百自", "侯候", "梁粱", "治冶", "徽微徵", "崇祟", "拔拨", "晴睛", "清请情",
    "辩辨辫瓣", "陈阵", "杨扬汤场", "贝见", "兔免", "乌鸟", "令今", "折拆析", "壁璧", "即既", "钓钩", "洒酒",
    "斤斥", "厉历", "苦若", "茶荼", "休体", "亳毫", "郝赫", "姚桃", "褚诸储", "沈沉", "淑叔", "季李", "秀秃",
    "贵责", "兵乒乓", "晓烧浇", "卉奔", "奕弈", "琪棋", "祺褀", "亭享", "嵩蒿", "苗笛", "柏伯", "佟冬",
    "艾文", "丙内", "刁习", "尤龙", "占古", "凤风", "宏宠", "婉宛", "娟绢", "锐税", "昊吴", "玮纬", "荣蓉",
    "芮苪", "毓毒", "坚竖", "恺铠", "琳淋", "萍苹", "瑶摇遥", "莹萤荧", "炜伟苇", "鹏朋", "峰锋蜂",
)

LOOKALIKE: dict[str, str] = {c: group[0] for group in LOOKALIKE_GROUPS for c in group}
