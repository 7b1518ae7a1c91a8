"""examples.need: a test whose optional tool is missing is skipped on a learner's machine and
fails in CI (where the environment variable CI is set), so CI can never pass by skipping."""

from __future__ import annotations

import json

import pytest
from examples import missing, need

ABSENT = "tinygrad_edu_no_such_module"


def test_a_missing_module_is_skipped_locally_saying_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        need(ABSENT)
    assert f"No module named '{ABSENT}'" in str(skipped.value)
    assert "pip install -e '.[dev]'" in str(skipped.value)


@pytest.mark.parametrize("ci", ["true", "1"])
def test_a_missing_module_fails_with_the_import_error_in_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(ImportError, match=f"No module named '{ABSENT}'") as failed:
        need(ABSENT)
    assert failed.value.name == ABSENT


@pytest.mark.parametrize("ci", ["", "0", "false"])
def test_ci_set_to_empty_or_false_is_a_local_run(monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception):
        need(ABSENT)


@pytest.mark.parametrize("ci", [None, "true"])
def test_an_installed_module_is_returned(monkeypatch: pytest.MonkeyPatch, ci: str | None) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert need("json") is json


def test_a_missing_program_fails_in_ci_and_is_skipped_locally(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(FileNotFoundError, match="apt-get install chromium"):
        missing(FileNotFoundError("the browser test needs chromium: apt-get install chromium"))
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install chromium"):
        missing(FileNotFoundError("the browser test needs chromium: apt-get install chromium"))
