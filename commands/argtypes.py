"""Argparse types shared by the command modules: each rejects bad input with a one-line reason."""
from __future__ import annotations

import argparse
from datetime import date

from geo.errors import ParkAtlasError


def iso_date(text: str | None, option: str) -> date | None:
    """``text`` (YYYY-MM-DD) as a date, ``None`` when not given; ``option`` names it in the error."""
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ParkAtlasError(f"{option} {text!r} is not a date (YYYY-MM-DD)") from None


def non_negative_number(text: str) -> float:
    """A number ≥ 0, e.g. an area bound in 亩."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def count(option: str):
    """The type of ``option``: a whole number ≥ 1 (``10_000_000`` is fine); the error names the option."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{option} must be at least 1, not {text}")
        return value
    return parse


class Once(argparse.Action):
    """A single-value option given twice is an error (argparse would silently keep the last)."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest, None) is not None:
            parser.error(f"{option_string} given twice ({getattr(namespace, self.dest)!r} and {values!r}); "
                         f"give it once")
        setattr(namespace, self.dest, values)
