"""A missing test service (PostgreSQL, Chromium) skips locally and fails under CI."""
from __future__ import annotations

import pytest

from tests.conftest import in_ci, unavailable


@pytest.mark.parametrize("value", ["1", "true", "True", "yes", "on"])
def test_a_missing_service_fails_under_ci(monkeypatch, value):
    monkeypatch.setenv("CI", value)
    assert in_ci()
    with pytest.raises(pytest.fail.Exception, match="PostgreSQL is missing.*CI is set"):
        unavailable("PostgreSQL is missing")


@pytest.mark.parametrize("value", [None, "", "0", "false", "no"])
def test_a_missing_service_skips_outside_ci(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", value)
    assert not in_ci()
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing.*with CI=true this fails"):
        unavailable("Chromium is missing")
