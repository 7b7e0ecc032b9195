"""Count the errors that the tornado stubs alone cause on code nobody here wrote.

The code is Tornado 6.6.1's own sdist tree (the library and ``tornado/test/``)
and streamz 0.6.6, from the package index. Each checker runs twice over it,
once without the stubs and once with them; an error of the second run that
the first run has not (same file, line and error code) is a *stub-only*
error. The check passes when there are none.

Two steps, so that the caller installs or removes the stubs in between::

    python stubs/real_code_check.py collect without   # stubs not installed
    python -m pip install ./stubs
    python stubs/real_code_check.py collect with
    python stubs/real_code_check.py compare           # exit status 1 on any stub-only error

``nox -s realcode`` does exactly this. The sdists are downloaded once
(``pip download --no-deps --no-binary :all:``) into ``.realcode-cache/``.

How the code is checked: the sdist's ``tornado/`` is copied as the package
``tornado_sdist``, so its ``from tornado import ...`` lines resolve to the
installed Tornado, with or without the stubs, as they do in any program using
Tornado. Each checker runs in the mode a user gets without a strict
configuration: mypy with ``--check-untyped-defs`` (streamz is unannotated),
pyright ``basic``, pyrefly's ``default`` preset, ty's defaults. Every
checker honours the code's own ``# type: ignore`` comments.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".realcode-cache"
ALLOWLIST = Path(__file__).resolve().parent / "real-code-allowlist.txt"
PYTHON_VERSION = "3.11"
SDISTS = {"tornado": "6.6.1", "streamz": "0.6.6"}
#: What is checked: (name in the report, directory in the sdist, package name used).
TARGETS = (
    ("tornado", "tornado-6.6.1/tornado", "tornado_sdist"),
    ("streamz", "streamz-0.6.6/streamz", "streamz"),
)
CHECKERS = ("mypy", "pyright", "pyrefly", "ty")

# File relative to the checked tree, line (1-based), error code, message. Two
# runs are matched on the first three.
Error = tuple[str, int, str, str]


def _sdists() -> Path:
    """Download the sdists once, unpack them, and return the unpacked root."""
    CACHE.mkdir(exist_ok=True)
    for name, version in SDISTS.items():
        archive = CACHE / f"{name}-{version}.tar.gz"
        if not archive.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--no-binary",
                    ":all:",
                    f"{name}=={version}",
                    "-d",
                    str(CACHE),
                ],
                check=True,
            )
        unpacked = CACHE / f"{name}-{version}"
        if not unpacked.exists():
            with tarfile.open(archive) as tar:
                if hasattr(tarfile, "data_filter"):  # 3.11.4+: refuse paths outside CACHE
                    tar.extractall(CACHE, filter="data")
                else:
                    tar.extractall(CACHE)  # an sdist from the package index
    return CACHE


def _tree(workdir: Path) -> None:
    """Lay the checked packages out under *workdir*."""
    cache = _sdists()
    for _, source, package in TARGETS:
        shutil.copytree(cache / source, workdir / package)


def _run(command: list[str], cwd: Path) -> str:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if result.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout


def _relative(path: str, workdir: Path) -> str:
    return (workdir / path).resolve().relative_to(workdir.resolve()).as_posix()


def _mypy_cache(package: str) -> list[str]:
    """mypy's cache option: FUTUREBRIDGE_MYPY_CACHE names a folder kept
    between runs (the realcode session's, for the run with the stubs)."""
    cache = os.environ.get("FUTUREBRIDGE_MYPY_CACHE")
    return [f"--cache-dir={cache}/{package}"] if cache else ["--no-incremental"]


def _mypy(workdir: Path, package: str) -> set[Error]:
    out = _run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--config-file=",
            *_mypy_cache(package),
            "--check-untyped-defs",
            "--python-version",
            PYTHON_VERSION,
            "--output",
            "json",
            package,
        ],
        workdir,
    )
    errors: set[Error] = set()
    for line in out.splitlines():
        item = json.loads(line)
        if item["severity"] == "error":
            file = _relative(item["file"], workdir)
            errors.add((file, item["line"], item["code"] or "", item["message"]))
    return errors


def _pyright(workdir: Path, package: str) -> set[Error]:
    config = {"typeCheckingMode": "basic", "pythonVersion": PYTHON_VERSION}
    (workdir / "pyrightconfig.json").write_text(json.dumps(config))
    out = _run(
        [
            sys.executable,
            "-m",
            "pyright",
            "--pythonpath",
            sys.executable,
            "--project",
            str(workdir),
            "--outputjson",
            package,
        ],
        workdir,
    )
    errors: set[Error] = set()
    for item in json.loads(out)["generalDiagnostics"]:
        if item["severity"] == "error":
            file = _relative(item["file"], workdir)
            line = item["range"]["start"]["line"] + 1
            errors.add((file, line, item.get("rule", ""), item["message"]))
    return errors


def _pyrefly(workdir: Path, package: str) -> set[Error]:
    out = _run(
        [
            str(Path(sys.executable).parent / "pyrefly"),
            "check",
            "--preset",
            "default",
            "--python-interpreter-path",
            sys.executable,
            "--python-version",
            PYTHON_VERSION,
            "--output-format",
            "json",
            "--summary=none",
            package,
        ],
        workdir,
    )
    errors: set[Error] = set()
    for item in json.loads(out)["errors"]:
        if item.get("severity", "error") == "error":
            file = _relative(item["path"], workdir)
            errors.add((file, item["line"], item["name"], item["concise_description"]))
    return errors


def _ty(workdir: Path, package: str) -> set[Error]:
    out = _run(
        [
            str(Path(sys.executable).parent / "ty"),
            "check",
            "--python",
            sys.executable,
            "--python-version",
            PYTHON_VERSION,
            "--output-format",
            "gitlab",
            "--no-progress",
            package,
        ],
        workdir,
    )
    errors: set[Error] = set()
    for item in json.loads(out or "[]"):
        if item["severity"] in ("major", "critical", "blocker"):
            file = _relative(item["location"]["path"], workdir)
            line = item["location"]["positions"]["begin"]["line"]
            errors.add((file, line, item["check_name"], item["description"]))
    return errors


RUNNERS = {"mypy": _mypy, "pyright": _pyright, "pyrefly": _pyrefly, "ty": _ty}


def _baseline_key(checkers: tuple[str, ...]) -> str:
    """What the errors without the stubs depend on, hashed.

    They depend on this script (the commands and modes), the checkers, the
    sdists, the Python and every distribution installed beside them (Tornado,
    typeshed's bundled copies, anything a checked import resolves to), never on
    futurebridge or its stubs. Any change to one of them gives another key.
    """
    digest = hashlib.sha256()
    digest.update(Path(__file__).read_bytes())
    digest.update(repr((checkers, sys.version, sorted(SDISTS.items()))).encode())
    for name, version in SDISTS.items():
        digest.update((CACHE / f"{name}-{version}.tar.gz").read_bytes())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}" for dist in importlib.metadata.distributions()
    )
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()[:32]


def _baseline_cache() -> Path:
    """Where the errors without the stubs are kept between runs on this machine."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "futurebridge" / "realcode"


def collect(label: str, checkers: tuple[str, ...]) -> None:
    """Run every checker over every target and store the errors under *label*.

    The errors *without* the stubs depend on nothing of this project's (see
    :func:`_baseline_key`): they are computed once per machine and input,
    kept in ``~/.cache/futurebridge/realcode/``, and reused while every input
    is the same. ``FUTUREBRIDGE_REALCODE_FRESH=1`` recomputes them.
    """
    target = CACHE / f"errors-{label}.json"
    kept: Path | None = None
    if label == "without":
        try:
            importlib.metadata.distribution("futurebridge-tornado-stubs")
        except importlib.metadata.PackageNotFoundError:
            pass
        else:
            raise SystemExit(
                "collect without: futurebridge-tornado-stubs is installed; uninstall it"
                " (python -m pip uninstall futurebridge-tornado-stubs) and run again"
            )
        _sdists()
        kept = _baseline_cache() / f"errors-without-{_baseline_key(checkers)}.json"
        if kept.exists() and os.environ.get("FUTUREBRIDGE_REALCODE_FRESH") != "1":
            shutil.copyfile(kept, target)
            print(f"errors without the stubs: reused {kept} (same checkers, sdists, packages)")
            return
    results: dict[str, dict[str, list[Error]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        _tree(workdir)
        for checker in checkers:
            for name, _, package in TARGETS:
                errors = RUNNERS[checker](workdir, package)
                results.setdefault(checker, {})[name] = sorted(errors)
                print(f"{label:8} {checker:8} {name:8} {len(errors):5} errors")
    target.write_text(json.dumps(results, indent=1))
    if kept is not None:
        # Whole or not at all: two runs may write it at once.
        kept.parent.mkdir(parents=True, exist_ok=True)
        partial = kept.with_name(f"{kept.name}.{os.getpid()}.partial")
        shutil.copyfile(target, partial)
        os.replace(partial, kept)


def _allowlist() -> list[tuple[str, str, str]]:
    """The known true reports: (checker or *, FILE:LINE, code or *)."""
    entries: list[tuple[str, str, str]] = []
    for line in ALLOWLIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            checker, where, code = line.split()
            entries.append((checker, where, code))
    return entries


def compare() -> int:
    """Print the stub-only errors per checker and target; 1 if any is not allowlisted."""
    without = json.loads((CACHE / "errors-without.json").read_text())
    with_ = json.loads((CACHE / "errors-with.json").read_text())
    allowed = _allowlist()
    used: set[tuple[str, str, str]] = set()
    total = unexplained = 0
    print(f"{'checker':8} {'target':8} {'without':>8} {'with':>8} {'stub-only':>10} {'listed':>7}")
    for checker, targets in with_.items():
        for name, errors in targets.items():
            before = {(e[0], e[1], e[2]) for e in without[checker][name]}
            only = [e for e in errors if (e[0], e[1], e[2]) not in before]
            listed = 0
            lines: list[str] = []
            for file, line, code, message in only:
                match = [
                    entry
                    for entry in allowed
                    if entry[0] in ("*", checker)
                    and entry[1] == f"{file}:{line}"
                    and entry[2] in ("*", code)
                ]
                used.update(match)
                listed += bool(match)
                mark = "listed" if match else "NEW"
                lines.append(f"    {mark:6} {file}:{line}: [{code}] {message.splitlines()[0]}")
            total += len(only)
            unexplained += len(only) - listed
            print(f"{checker:8} {name:8} {len(before):8} {len(errors):8} {len(only):10} {listed:7}")
            if lines:
                print("\n".join(lines))
    stale = [entry for entry in allowed if entry not in used]
    for entry in stale:
        print(f"stale allowlist entry (no such error any more): {' '.join(entry)}")
    print(f"stub-only errors: {total}, of them not in {ALLOWLIST.name}: {unexplained}")
    return 1 if unexplained or stale else 0


def main(argv: list[str]) -> int:
    """Command line: ``collect LABEL [CHECKER...]`` or ``compare``."""
    if len(argv) >= 2 and argv[0] == "collect":
        collect(argv[1], tuple(argv[2:]) or CHECKERS)
        return 0
    if argv == ["compare"]:
        return compare()
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
