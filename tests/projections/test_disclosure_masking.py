"""Masked names on notice lists: the rule, the placeholder and erasure."""

from __future__ import annotations

import pytest

from projections.masking import (
    ERASED_NAME,
    mask_name,
    placeholder,
    public_name,
)

REF = "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        pytest.param("张", "*", id="one-character"),
        pytest.param("张三", "张*", id="two-characters"),
        pytest.param("张三明", "张*明", id="three-characters"),
        pytest.param("张小三明", "张**明", id="four-characters"),
        pytest.param("欧阳明", "欧*明", id="compound-surname-three"),
        pytest.param("欧阳小明", "欧**明", id="compound-surname-four"),
        pytest.param("司马相如", "司**如", id="compound-surname-sima"),
        pytest.param("诸葛亮", "诸*亮", id="compound-surname-zhuge"),
        pytest.param("买买提·艾力", "买****力", id="middle-dot"),
    ],
)
def test_mask_keeps_the_first_and_from_three_characters_the_last(
    name: str, masked: str
) -> None:
    assert mask_name(name) == masked
    assert public_name(lambda _: name, REF) == masked


def test_without_a_lookup_the_name_is_a_placeholder_with_four_hex_digits() -> None:
    assert placeholder(REF) == "学生cdef"
    assert public_name(None, REF) == "学生cdef"
    assert public_name(lambda _: None, REF) == "学生cdef"
    assert public_name(lambda _: "  ", REF) == "学生cdef"
    assert REF not in public_name(None, REF)


def test_a_name_the_mask_would_leave_whole_is_starred() -> None:
    assert public_name(lambda _: "A", REF) == "*"


def test_the_erased_marker_names_nobody() -> None:
    assert "*" not in ERASED_NAME
    assert not any(c in "0123456789abcdef" for c in ERASED_NAME)
