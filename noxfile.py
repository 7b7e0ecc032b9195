"""The whole test run: ``python3 -m nox`` (what the README and .ci/run call).

Sessions: ``tests`` on every supported Python, then ``typing`` and ``lint``
once. uv creates the environments when it is available (it comes with
``nox[uv]``), which keeps a cold run to a few minutes.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.12", "3.13"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The pytest suite, on each supported Python."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python="3.11")
def typing(session: nox.Session) -> None:
    """mypy --strict and pyright strict on the package and tests/typing."""
    session.install("-e", ".[test]")
    session.run("mypy")
    session.run("pyright")
    session.run("pyright", "--verifytypes", "futurebridge", "--ignoreexternal")


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff lint and format check over the whole tree."""
    session.install("ruff>=0.9")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
