"""Migrate a real project from its sdist and check its own tests give the same results.

Run by the ``migrate_real_code`` nox session (see noxfile.py), in an
environment that has the project's test dependencies and futurebridge[migrate]::

    python tests/real_code/compare_migrated.py SDIST PACKAGE WORKDIR [-- PYTEST_ARGS...]

The sdist is unpacked twice. One copy is migrated with
``python -m futurebridge migrate PACKAGE --write``; then the project's test
suite runs on both copies at once (one per core), each in its own interpreter.
A test whose outcome differs is run again on both copies, twice, so that a
timing-sensitive test of the project's own does not pass for a change the
codemod made; a difference that holds every time fails the run.
Prints the codemod's summary, each copy's counts and the differences.

The stock copy's outcomes depend on nothing of futurebridge's: they are kept
in ``~/.cache/futurebridge/real-code-stock/`` under a hash of everything they
do depend on (see :func:`_stock_key`), and a later run with the same inputs
runs only the migrated suite against them (a difference is still run again on
both copies). ``FUTUREBRIDGE_REAL_CODE_FRESH=1`` runs both.
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
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

RERUNS = 2


def unpack(sdist: Path, into: Path) -> Path:
    if into.exists():
        shutil.rmtree(into)
    into.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        if hasattr(tarfile, "data_filter"):  # 3.11.4+: refuse paths outside *into*
            archive.extractall(into, filter="data")
        else:
            archive.extractall(into)  # an sdist from the package index
    [root] = into.iterdir()
    if not has_pytest_config(root):
        # Else pytest would climb to an enclosing project's configuration
        # (futurebridge's own, under .nox) and run the suite under its rules.
        (root / "pytest.ini").write_text("[pytest]\n")
    return root


def has_pytest_config(root: Path) -> bool:
    """Whether *root* holds a configuration file pytest would stop at."""
    sections = {
        "pytest.ini": "",
        "pyproject.toml": "[tool.pytest.ini_options]",
        "tox.ini": "[pytest]",
        "setup.cfg": "[tool:pytest]",
    }
    for name, section in sections.items():
        path = root / name
        if path.is_file() and section in path.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def start_pytest(root: Path, package: str, xml: Path, args: list[str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir=."]
    command += [f"--junitxml={xml}", *args]
    # The child writes to its own copy of the descriptor; this one closes at once.
    with xml.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(command, cwd=root, stdout=log, stderr=subprocess.STDOUT)


def outcomes(xml: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for case in ElementTree.parse(xml).getroot().iter("testcase"):
        name = f"{case.attrib.get('classname', '')}::{case.attrib['name']}"
        tags = {child.tag for child in case}
        if tags & {"failure", "error"}:
            found[name] = "failed"
        elif "skipped" in tags:
            found[name] = "skipped"
        else:
            found[name] = "passed"
    return found


def node_id(name: str, root: Path) -> str:
    """The pytest node id under *root* for a junit ``classname::name``.

    A module skipped or failed as a whole has no classname: its ``name`` is
    the dotted module path, and its node id the file.
    """
    module, _, test = name.partition("::")
    if not module:
        module, test = test, ""
    parts = module.split(".")
    # classname is the dotted module path, then a class if the test has one.
    for cut in range(len(parts), 0, -1):
        candidate = "/".join(parts[:cut]) + ".py"
        if (root / candidate).is_file():
            return "::".join([candidate, *parts[cut:], *([test] if test else [])])
    return name


def run_both(
    roots: dict[str, Path], package: str, work: Path, args: list[str], tag: str
) -> dict[str, dict[str, str]]:
    processes = {
        kind: start_pytest(root, package, work / f"{kind}-{tag}.xml", args)
        for kind, root in roots.items()
    }
    for process in processes.values():
        process.wait()
    return {kind: outcomes(work / f"{kind}-{tag}.xml") for kind in roots}


def _stock_key(sdist: Path, package: str, pytest_args: list[str]) -> str:
    """What the stock copy's outcomes depend on, hashed: never futurebridge itself.

    The sdist, the package and the pytest arguments, this script, the Python,
    Dask's settings from the environment (``DASK_*``), and every distribution
    installed beside them but futurebridge (the stock copy does not import
    it). Any change to one of them gives another key.
    """
    digest = hashlib.sha256()
    digest.update(sdist.read_bytes())
    digest.update(Path(__file__).read_bytes())
    dask_settings = sorted((k, v) for k, v in os.environ.items() if k.startswith("DASK_"))
    digest.update(repr((package, pytest_args, sys.version, dask_settings)).encode())
    installed = sorted(
        f"{dist.metadata['Name']}=={dist.version}"
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"] != "futurebridge"
    )
    digest.update("\n".join(installed).encode())
    return digest.hexdigest()[:32]


def _write_atomically(path: Path, text: str) -> None:
    """Write *path* whole or not at all (two runs may write it at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def _stock_cache() -> Path:
    """Where the stock copies' outcomes are kept between runs on this machine."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(base) / "futurebridge" / "real-code-stock"


def counts(results: dict[str, str]) -> str:
    totals = {k: sum(v == k for v in results.values()) for k in ("passed", "failed", "skipped")}
    return ", ".join(f"{n} {k}" for k, n in totals.items())


def main(argv: list[str]) -> int:
    sdist, package, work_dir, *rest = argv
    pytest_args = rest[1:] if rest[:1] == ["--"] else rest
    work = Path(work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    roots = {
        "stock": unpack(Path(sdist), work / "stock"),
        "migrated": unpack(Path(sdist), work / "migrated"),
    }
    report = work / "migrate-report.json"
    migrate = subprocess.run(
        [
            sys.executable,
            "-m",
            "futurebridge",
            "migrate",
            package,
            "--write",
            "--report",
            str(report),
        ],
        cwd=roots["migrated"],
        capture_output=True,
        text=True,
        check=False,
    )
    (work / "migrate-table.txt").write_text(migrate.stderr)
    if migrate.returncode not in (0, 1):
        print(migrate.stderr, file=sys.stderr)
        return 1
    summary = json.loads(report.read_text())["summary"]
    print(f"{package}: migrate exit {migrate.returncode}, summary {summary}")

    started = time.monotonic()
    kept = _stock_cache() / f"{package}-{_stock_key(Path(sdist), package, pytest_args)}.json"
    reused = kept.exists() and os.environ.get("FUTUREBRIDGE_REAL_CODE_FRESH") != "1"
    if reused:
        # The stock copy's outcomes depend on nothing of futurebridge's: reuse them.
        migrated = {"migrated": roots["migrated"]}
        results = run_both(migrated, package, work, [*pytest_args, package], "all")
        results["stock"] = json.loads(kept.read_text())
        took = time.monotonic() - started
        print(f"{package}: the migrated suite took {took:.0f} s (stock outcomes reused: {kept})")
    else:
        results = run_both(roots, package, work, [*pytest_args, package], "all")
        print(f"{package}: both suites took {time.monotonic() - started:.0f} s (run side by side)")
        _write_atomically(kept, json.dumps(results["stock"], indent=0, sort_keys=True))
    for kind, found in results.items():
        print(f"{package} {kind}: {counts(found)}")
    differing = sorted(
        name
        for name in results["stock"].keys() | results["migrated"].keys()
        if results["stock"].get(name) != results["migrated"].get(name)
        # A kept stock failure is run again on both copies every time, so
        # that one stock failure, kept, cannot hide a migrated failure of the
        # same test. (A skip depends on the environment, which the key holds.)
        or (reused and results["stock"].get(name) == "failed")
    )
    for attempt in range(1, RERUNS + 1):
        if not differing:
            break
        print(f"{package}: {len(differing)} tests differ; running them again ({attempt})")
        ids = [node_id(name, roots["stock"]) for name in differing]
        again = run_both(roots, package, work, [*pytest_args, *ids], f"rerun{attempt}")
        # A rerun that ran nothing must not pass for a rerun that agreed.
        unrun = [name for name in differing if any(name not in found for found in again.values())]
        if unrun:
            print(f"{package}: the rerun gave {len(unrun)} of them no outcome:", file=sys.stderr)
            for name in unrun:
                print(f"  {name} ({node_id(name, roots['stock'])})", file=sys.stderr)
            print(f"See {work}/*-rerun{attempt}.log", file=sys.stderr)
            return 1
        differing = [
            name for name in differing if again["stock"].get(name) != again["migrated"].get(name)
        ]
    if differing:
        print(f"{package}: outcomes differ after the codemod:")
        for name in differing:
            stock, migrated = results["stock"].get(name), results["migrated"].get(name)
            print(f"  {name}: stock {stock}, migrated {migrated}")
        return 1
    print(f"{package}: the same pass/fail set before and after the codemod")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
