"""Running `reflect` in-process the way a shell would, and reading a store's files as bytes."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`reflect ARGS...`: its exit code, standard output and standard error."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def data_files(db: Path) -> dict[str, bytes]:
    """The main file and every file under `<db>.d/`, by path relative to the db's folder."""
    files = [db, *sorted(db.parent.glob(db.name + ".d/**/*"))]
    return {str(f.relative_to(db.parent)): f.read_bytes() for f in files if f.is_file()}
