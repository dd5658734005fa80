"""The unified social credit code (统一社会信用代码) of enterprises and other organisations.

GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》 gives every legal person one
18-character code: a registration-authority code (1 character), an organisation-type code
(1), the administrative-division code (6), the organisation code (9) and a check character (1).
The characters are the digits and the capital letters except I, O, S, V and Z; the check
character is computed with the weights of the standard's clause 4.4 (modulus 31).
Source: GB 32100-2015, https://openstd.samr.gov.cn/bzgk/gb/newGbInfo?hcno=24691C25985C1073D3A7C85629378AC0
"""
from __future__ import annotations

from geo.errors import KeyedError

#: The 31 characters of the code, in the order of their values 0–30 (GB 32100-2015, table 1).
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {char: value for value, char in enumerate(CHARSET)}
#: Weights of positions 1–17 (3^(i-1) mod 31, GB 32100-2015 clause 4.4).
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
LENGTH = 18


def check_character(first17: str) -> str:
    """The check character (position 18) for the first 17 characters of a code."""
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def uscc_issue(code) -> tuple[str, dict] | None:
    """What is wrong with ``code`` as a unified social credit code: a kind (``empty``, ``length``,
    ``characters``, ``check``) and its values, or ``None`` if it is valid."""
    if not isinstance(code, str) or not code.strip():
        return "empty", {}
    code = code.strip()
    if len(code) != LENGTH:
        return "length", {"length": len(code), "expected": LENGTH}
    bad = sorted({char for char in code if char not in _VALUE})
    if bad:
        return "characters", {"characters": "".join(bad)}
    expected = check_character(code[:17])
    if code[17] != expected:
        return "check", {"found": code[17], "expected": expected}
    return None


def uscc_problem(code) -> str | None:
    """Why ``code`` is not a valid unified social credit code (English, one phrase), or ``None``."""
    issue = uscc_issue(code)
    if issue is None:
        return None
    kind, values = issue
    if kind == "empty":
        return "is empty"
    if kind == "length":
        return f"has {values['length']} characters, not {values['expected']}"
    if kind == "characters":
        return f"contains {values['characters']!r}: only digits and capital letters except I, O, S, V, Z"
    return f"has check character {values['found']!r}, GB 32100-2015 gives {values['expected']!r}: a typing error?"


def validate_uscc(code) -> str:
    """Return the code (stripped) if valid; otherwise raise a one-line :class:`KeyedError` (the page
    says the problem by its ``enterprises.problem.uscc_*`` key)."""
    problem = uscc_problem(code)
    if problem:
        kind, values = uscc_issue(code)
        raise KeyedError(f"enterprises.problem.uscc_{kind}", f"unified social credit code {str(code).strip()!r} "
                         f"{problem} (GB 32100-2015)", **values)
    return code.strip()


def make_uscc(first17: str) -> str:
    """A valid code from 17 characters (for synthetic sample data and tests)."""
    return first17 + check_character(first17)
