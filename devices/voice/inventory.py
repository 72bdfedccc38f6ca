"""The segments a call is made of: the name an announcement lists, the ASCII file stem, and what espeak-ng reads.

Pure data (no numpy, no subprocess) so `hallctl config check` can validate a template's words against it without
loading a driver. Names are the words themselves (请, 号窗口, A, 零) so an announcement reads as what it says; files
use the ASCII stem (qing.wav, hao_chuangkou.wav) because recordings arrive on FAT-formatted USB sticks and in zip
files made on Windows, where Chinese file names are often mangled. A recording may use either name.

The espeak text is pinyin for the `cmn-latn-pinyin` voice: Debian 12's espeak-ng 1.51 `cmn` voice reads 请 and 号
with the wrong tone (upstream #1236, #1370), while numbered pinyin is read as written. Single capital letters are
spelled by that voice the way Chinese halls say them (A "ei", W "da-bu-liu"), so letters need no pinyin.
"""

from __future__ import annotations

from dataclasses import dataclass

CHIME = "chime"


@dataclass(frozen=True, slots=True)
class Segment:
    name: str
    stem: str
    pinyin: str | None  # None: not spoken (the chime is synthesised)


_WORDS = (
    ("请", "qing", "qing3"),
    ("号", "hao", "hao4"),
    ("到", "dao", "dao4"),
    ("号窗口", "hao_chuangkou", "hao4 chuang1 kou3"),
    ("窗口", "chuangkou", "chuang1 kou3"),
    ("办理", "banli", "ban4 li3"),
    ("再次", "zaici", "zai4 ci4"),
    ("呼叫", "hujiao", "hu1 jiao4"),
    ("零", "ling", "ling2"),
    ("一", "yi", "yi1"),
    ("幺", "yao", "yao1"),  # some halls read the digit 1 as yāo in ticket numbers (readings = {"1" = "幺"})
    ("二", "er", "er4"),
    ("三", "san", "san1"),
    ("四", "si", "si4"),
    ("五", "wu", "wu3"),
    ("六", "liu", "liu4"),
    ("七", "qi", "qi1"),
    ("八", "ba", "ba1"),
    ("九", "jiu", "jiu3"),
    ("十", "shi", "shi2"),
    ("百", "bai", "bai3"),
    ("千", "qian", "qian1"),
)

INVENTORY: dict[str, Segment] = {
    CHIME: Segment(CHIME, CHIME, None),
    **{name: Segment(name, stem, pinyin) for name, stem, pinyin in _WORDS},
    **{c: Segment(c, c, c) for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
}
