"""Unified social credit codes (GB 32100-2015): check character, refusal messages."""
import pytest

from geo.errors import ParkAtlasError
from geo.uscc import WEIGHTS, make_uscc, uscc_problem, validate_uscc


def test_weights_are_the_standards():
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L"])
def test_published_codes_are_valid(code):
    # The example of GB 32100-2015 and a code printed on a public business licence (Beijing).
    assert uscc_problem(code) is None
    assert validate_uscc(f" {code} ") == code


def test_wrong_check_character_is_refused_with_the_expected_one():
    with pytest.raises(ParkAtlasError, match=r"check character 'X', GB 32100-2015 gives '3'"):
        validate_uscc("91350100M000100Y4X")


@pytest.mark.parametrize("code, reason", [("", "is empty"), ("9135", "has 4 characters"),
                                          ("91350100M000100YI3", "contains 'I'")])
def test_malformed_codes(code, reason):
    assert reason in uscc_problem(code)


def test_make_uscc_round_trips():
    code = make_uscc("91441200MA5" + "000001")
    assert len(code) == 18 and uscc_problem(code) is None
