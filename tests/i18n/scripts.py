"""Telling Simplified from Traditional Chinese text, for the catalog and end-to-end tests."""

from __future__ import annotations

# Characters written differently in the two scripts, as (Simplified, Traditional).
SCRIPT_PAIRS = [
    ("这", "這"), ("们", "們"), ("说", "說"), ("为", "為"), ("发", "發"), ("问", "問"),
    ("题", "題"), ("请", "請"), ("谢", "謝"), ("么", "麼"), ("对", "對"), ("时", "時"),
    ("会", "會"), ("个", "個"), ("来", "來"), ("后", "後"), ("过", "過"), ("还", "還"),
    ("没", "沒"), ("让", "讓"), ("给", "給"), ("认", "認"), ("单", "單"), ("联", "聯"),
    ("务", "務"), ("户", "戶"), ("关", "關"), ("开", "開"), ("动", "動"), ("经", "經"),
    ("实", "實"), ("现", "現"), ("样", "樣"), ("点", "點"), ("间", "間"), ("处", "處"),
    ("决", "決"), ("应", "應"), ("写", "寫"), ("选", "選"), ("择", "擇"), ("语", "語"),
    ("满", "滿"), ("调", "調"), ("钮", "鈕"), ("链", "鏈"), ("号", "號"), ("记", "記"),
    ("录", "錄"), ("评", "評"), ("级", "級"), ("态", "態"), ("购", "購"), ("买", "買"),
    ("贴", "貼"), ("无", "無"), ("帮", "幫"), ("机", "機"), ("达", "達"), ("转", "轉"),
    ("长", "長"), ("盖", "蓋"), ("壶", "壺"), ("报", "報"), ("员", "員"), ("里", "裡"),
    ("顾", "顧"), ("导", "導"), ("订", "訂"), ("阅", "閱"), ("义", "義"), ("体", "體"),
]
# Mainland words a reader in Taiwan or Hong Kong would not write (訊息, 連結, 帳號, 資訊,
# 設定, 封鎖 are theirs).
MAINLAND_WORDS = ["消息", "鏈接", "賬號", "信息", "設置", "屏蔽", "默認", "網絡", "短信", "視頻"]


def simplified_only(text: str) -> list[str]:
    """The characters of `text` that only Simplified Chinese writes this way."""
    return [s for s, _t in SCRIPT_PAIRS if s in text]


def traditional_only(text: str) -> list[str]:
    """The characters of `text` that only Traditional Chinese writes this way."""
    return [t for _s, t in SCRIPT_PAIRS if t in text]
