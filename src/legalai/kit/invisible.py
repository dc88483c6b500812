"""Characters that are not seen but change what is seen: bidi controls, zero-width and format characters.

A file name such as ``"invoice\\u202efdp.exe"`` is displayed as ``invoiceexe.pdf``: the RIGHT-TO-LEFT
OVERRIDE reverses what follows it. Zero-width characters make two names that look identical differ,
or hide a word. Names that are stored and shown therefore lose these characters
(:func:`strip_invisible`), and where the exact text must be kept but is also shown, they are written
out as ``<U+202E>`` (:func:`reveal_invisible`).

Invisible here means: control characters (Cc), format characters (Cf: every bidi embedding,
override, isolate and mark, U+061C, zero-width space/joiners, word joiner, BOM, soft hyphen, tag
characters...), lone surrogates (Cs, which cannot even be encoded as UTF-8), line and paragraph
separators (Zl, Zp), and the rest of Unicode's Default_Ignorable_Code_Point set (Hangul fillers,
variation selectors, ...), which renderers draw as nothing.

Stripping ZERO WIDTH (NON-)JOINER changes the shaping of some Persian and Indic names slightly;
they stay readable, and a file name is no place for a disguise.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_invisible", "reveal_invisible", "strip_invisible"]

_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})

# Default_Ignorable_Code_Point (Unicode DerivedCoreProperties.txt) beyond the categories above.
_DEFAULT_IGNORABLE = (
    (0x034F, 0x034F),  # COMBINING GRAPHEME JOINER
    (0x115F, 0x1160),  # HANGUL CHOSEONG/JUNGSEONG FILLER
    (0x17B4, 0x17B5),  # KHMER VOWEL INHERENT AQ/AA
    (0x180B, 0x180F),  # MONGOLIAN FREE VARIATION SELECTORS, VOWEL SEPARATOR
    (0x2065, 0x2065),  # unassigned, reserved as ignorable
    (0x3164, 0x3164),  # HANGUL FILLER
    (0xFE00, 0xFE0F),  # VARIATION SELECTORS
    (0xFFA0, 0xFFA0),  # HALFWIDTH HANGUL FILLER
    (0xFFF0, 0xFFF8),  # unassigned, reserved as ignorable
    (0x1BCA0, 0x1BCA3),  # SHORTHAND FORMAT CONTROLS
    (0x1D173, 0x1D17A),  # MUSICAL SYMBOL BEGIN/END BEAM...
    (0xE0000, 0xE0FFF),  # TAGS and VARIATION SELECTORS SUPPLEMENT
)

_NON_ASCII_OR_CONTROL = re.compile(r"[^\x20-\x7e]")


def is_invisible(ch: str) -> bool:
    if unicodedata.category(ch) in _INVISIBLE_CATEGORIES:
        return True
    code = ord(ch)
    return any(low <= code <= high for low, high in _DEFAULT_IGNORABLE)


def strip_invisible(text: str) -> str:
    """``text`` without invisible characters (printable ASCII is returned as is, quickly)."""
    if not _NON_ASCII_OR_CONTROL.search(text):
        return text
    return "".join(ch for ch in text if not is_invisible(ch))


def reveal_invisible(text: str) -> str:
    """``text`` with each invisible character written as ``<U+XXXX>``: safe to store and show."""
    if not _NON_ASCII_OR_CONTROL.search(text):
        return text
    return "".join(f"<U+{ord(ch):04X}>" if is_invisible(ch) else ch for ch in text)
