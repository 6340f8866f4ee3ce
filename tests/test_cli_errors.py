"""Domain errors: all in programme/errors.py, turned into exit statuses in one table (cli/main.py)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
from pathlib import Path

import pytest

from cli.common import OutputError
from cli.main import ERRORS, exit_status, main
from programme.errors import (
    DeliveryBusyError,
    ManifestError,
    NotAllowedError,
    NotFoundError,
    ProgrammeError,
    RosterError,
    UnknownAudienceError,
)
from store import StoreError
from tests.test_layers import PACKAGES, ROOT


def _subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub, *_subclasses(sub)}
    return found


def test_every_domain_error_lives_in_programme_errors() -> None:
    for package in PACKAGES:
        for module in pkgutil.walk_packages([str(ROOT / package)], prefix=f"{package}."):
            if not module.name.endswith("__main__"):
                importlib.import_module(module.name)
    elsewhere = {
        f"{cls.__module__}.{cls.__qualname__}"
        for cls in _subclasses(ProgrammeError)
        if cls.__module__.split(".")[0] in PACKAGES and cls.__module__ != "programme.errors"
    }
    assert not elsewhere, sorted(elsewhere)


def test_the_table_lists_a_subclass_before_its_base() -> None:
    kinds = [kind for kind, _, _ in ERRORS]
    for i, later in enumerate(kinds):
        assert not any(issubclass(later, earlier) for earlier in kinds[:i]), later


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (NotFoundError("No one with the email a@x.org."), "reflect: No one with the email a@x.org."),
        (NotAllowedError("Only coordinators can do that."), "reflect: Only coordinators can do that."),
        (UnknownAudienceError("There is no group 'x'."), "reflect: There is no group 'x'."),
        (ManifestError("icon missing"), "reflect: icon missing"),
        (StoreError("reflect.json is not valid JSON"), "reflect: reflect.json is not valid JSON"),
        (OutputError("cannot write out.csv"), "reflect: cannot write out.csv"),
        (
            DeliveryBusyError("the outbox is being delivered"),
            "reflect: the outbox is being delivered; nothing was changed",
        ),
    ],
)
def test_domain_errors_print_one_line_and_exit_1(
    error: Exception, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert exit_status(error, argparse.Namespace()) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", message + "\n")


def test_roster_problems_are_listed_with_the_file(capsys: pytest.CaptureFixture[str]) -> None:
    error = RosterError(["hr.csv:3: no email", "hr.csv:7: unknown role 'boss'"])
    assert exit_status(error, argparse.Namespace(file="./hr.csv")) == 1
    assert capsys.readouterr().err == (
        "hr.csv:3: no email\nhr.csv:7: unknown role 'boss'\nhr.csv: 2 problem(s); nothing was imported\n"
    )


def test_other_errors_are_bugs_and_propagate(monkeypatch: pytest.MonkeyPatch) -> None:
    assert exit_status(KeyError("x"), argparse.Namespace()) is None

    def broken(args: argparse.Namespace) -> int:
        raise KeyError("a bug")

    monkeypatch.setattr("cli.roster.list_roster", broken)
    with pytest.raises(KeyError):
        main(["roster", "list"])


def test_a_handler_error_reaches_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "reflect.json"
    db.write_text("{not json")
    assert main(["roster", "list", "--db", str(db)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"reflect: {db} is not valid JSON")
