"""The text policy's shortcuts change no result: a value they let through at C speed is one the
character-by-character walk would have left as it is, for every code point, for arbitrary text
and for the hostile corpus."""

import sys
import unicodedata

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sales_pipeline.domain import text
from sales_pipeline_tests.hostile import CORPUS

_PIECES = st.sampled_from(
    [
        "&amp;",
        "&lt;b&gt;",
        "<script>",
        "<",
        ">",
        "&",
        " ",
        "\t",
        "\xa0",
        "\u2028",
        "\x00",
        "\x85",
        "\u200c",
        "\u200d",
        "\u202e",
        "\ufeff",
        "\ud800",
        "\udc00",
        "\U0001f3f4",
        "\U000e0067",
        "\U000e007f",
        "\U0001f469",
        "\u094d",
        "\u0301",
        "\u3164",
        "\ufdd0",
        "\ue000",
        "Anna",
        "\u0628",
    ]
)
_TEXT = st.lists(st.one_of(st.characters(codec=None), _PIECES), max_size=60).map("".join)
_VALUES = [case.raw for case in CORPUS]


def _walked_length(value: str) -> int:
    """UTF-16 code units, counted character by character."""
    return len(value) + sum(1 for ch in value if ord(ch) > 0xFFFF)


def test_every_clear_code_point_is_one_the_walk_keeps_as_it_is() -> None:
    for code in range(sys.maxunicode + 1):
        ch = chr(code)
        if not ch.isprintable():
            continue
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Zl", "Zp"), hex(code)
        assert not ch.isspace() or ch == " ", hex(code)
        if text._clear(ch):
            assert not text._invisible(ch), hex(code)
            assert text._visible_walk(ch) == ch, hex(code)


def test_the_shortcuts_agree_with_the_walk_on_the_hostile_corpus() -> None:
    for value in _VALUES:
        assert text._visible(value) == text._visible_walk(value)
        assert text._without_markup(value) == text._unmarked(value)
        assert text.text_length(value) == _walked_length(value)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=st.one_of(_TEXT, st.sampled_from(_VALUES)))
def test_the_shortcuts_agree_with_the_walk_on_any_text(value: str) -> None:
    if text._clear(value):
        assert text._visible_walk(value) == value
    assert text._visible(value) == text._visible_walk(value)
    assert text._without_markup(value) == text._unmarked(value)
    assert text.text_length(value) == _walked_length(value)
