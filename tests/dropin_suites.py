"""The compatibility runner: other projects' own test suites with
``tornado.gen.coroutine`` replaced by :func:`futurebridge.as_tornado`, on
futurebridge's loops, over asyncio and uvloop. Run by the ``dropin`` nox
session (``python tests/dropin_suites.py``); it exits non-zero on any
difference from stock.

1. Tornado 6.6.1's suite (the installed ``tornado.test``), through
   tests/dropin_tornado_runner.py: all of it on asyncio, the loop-heavy
   modules on uvloop. Tornado's runner is strict, so every test passes
   except the allowlisted ones, and each of those is checked to pass on stock
   and to differ with the swap, so the allowlist can only be short and true.
2. pytest-tornado 0.8.1's suite. Its tests are not in its PyPI sdist; the
   Debian archive's original tarball of the same release carries them. It is
   downloaded once from deb.debian.org (a package registry), checked against
   its SHA-256 and cached; then the suite runs stock and swapped, and the
   counts of each outcome must be equal.

``--tornado`` or ``--pytest-tornado`` runs one part only.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from dropin_tornado_runner import ALLOWLIST  # noqa: E402
from test_tornado_suite import LOOP_MODULES  # noqa: E402

PYTEST_TORNADO_URL = (
    "http://deb.debian.org/debian/pool/main/p/pytest-tornado/pytest-tornado_0.8.1.orig.tar.gz"
)
PYTEST_TORNADO_SHA256 = "681595361872f86fd1f9619f1b92c23dabeba2d62f09253b7472e01334055a42"
TIMEOUT = 1200


def _tornado(*args: str) -> tuple[bool, int, set[str], str]:
    """Run the Tornado runner: (all passed, tests run, ids of failed tests, output)."""
    command = [sys.executable, str(HERE / "dropin_tornado_runner.py"), *args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    output = result.stdout + result.stderr
    ran = re.search(r"^Ran (\d+) tests? in", output, re.MULTILINE)
    failed = set(re.findall(r"^(?:FAIL|ERROR): \S+ \(([\w.]+)\)", output, re.MULTILINE))
    passed = result.returncode == 0 and re.search(r"^OK\b", output, re.MULTILINE) is not None
    return passed, int(ran.group(1)) if ran else 0, failed, output


def _passes_alone(*args: str, attempts: int = 3) -> tuple[bool, str]:
    """Whether one test passes when run on its own, in up to *attempts* runs."""
    output = ""
    for _ in range(attempts):
        passed, _, _, output = _tornado(*args)
        if passed:
            return True, output
    return False, output


def check_tornado() -> list[str]:
    """Tornado's suite swapped, and the allowlist checked both ways.

    A test that fails swapped is run again on its own, swapped and then stock
    (Tornado's own decorator, on the same loops), up to three times each: a
    difference if it never passes swapped but passes stock, a problem of the
    loops if it never passes either way. Some of Tornado's tests time out on a loaded machine (an
    SSL transfer of 5 MB, a 0.2 s window around ``gc.collect()``; a request
    timeout of 0.1 s before the runner set Tornado's ``EMULATION=1``), whichever
    decorator runs them.
    """
    problems: list[str] = []
    runs = {"asyncio, whole suite": (), "uvloop, loop modules": ("--uvloop", *LOOP_MODULES)}
    for name, args in runs.items():
        passed, ran, failed, output = _tornado(*args)
        loop_args = args[:1] if args else ()
        verdict = "OK" if passed else f"{len(failed)} failed at first"
        print(f"Tornado suite with @as_tornado, {name}: ran {ran}, {verdict}")
        if ran == 0 or (not passed and not failed):
            problems.append(f"Tornado suite with @as_tornado, {name}:\n{output[-8000:]}")
            continue
        if not failed:
            continue
        for test_id in sorted(failed):
            swapped, swapped_out = _passes_alone(*loop_args, test_id)
            if swapped:
                print(f"  {test_id}: passed swapped when run again alone (timing)")
            elif not (stock := _passes_alone("--stock", *loop_args, test_id))[0]:
                # "--stock" is Tornado's own decorator on futurebridge's loops:
                # tests_slow runs only the loop modules strictly, so this run
                # is where a loop problem in the other modules shows.
                problems.append(
                    f"{test_id} fails on futurebridge's loops with Tornado's own "
                    f"@gen.coroutine too (a loop problem):\n{stock[1][-3000:]}"
                )
            else:
                problems.append(
                    f"{test_id} passes on stock, fails with @as_tornado:\n{swapped_out}"
                )
    for test_id, reason in ALLOWLIST.items():
        stock_ok, _, _, stock_out = _tornado("--stock", "--only", test_id)
        swap_ok, _, _, _ = _tornado("--only", test_id)
        stock_word = "passes" if stock_ok else "FAILS"
        swap_word = "passes" if swap_ok else "differs"
        print(f"allowlisted {test_id}: stock {stock_word}, swapped {swap_word} ({reason})")
        if not stock_ok:
            problems.append(f"{test_id} is allowlisted but fails on stock:\n{stock_out[-3000:]}")
        if swap_ok:
            problems.append(f"{test_id} is allowlisted but passes swapped: remove it")
    return problems


def _pytest_tornado_tests(cache: Path, target: Path) -> Path:
    archive = cache / "pytest-tornado_0.8.1.orig.tar.gz"
    if not archive.exists():
        cache.mkdir(parents=True, exist_ok=True)
        with urllib.request.urlopen(PYTEST_TORNADO_URL, timeout=60) as response:
            data = response.read()
        digest = hashlib.sha256(data).hexdigest()
        if digest != PYTEST_TORNADO_SHA256:
            raise RuntimeError(
                f"{PYTEST_TORNADO_URL}: SHA-256 {digest}, expected {PYTEST_TORNADO_SHA256}"
            )
        archive.write_bytes(data)
    elif hashlib.sha256(archive.read_bytes()).hexdigest() != PYTEST_TORNADO_SHA256:
        raise RuntimeError(f"{archive}: SHA-256 mismatch; delete it to download it again")
    with tarfile.open(archive) as tar:
        members = [m for m in tar.getmembers() if m.name.startswith("pytest-tornado-0.8.1/test/")]
        if hasattr(tarfile, "data_filter"):  # 3.11.4+: refuse paths outside *target*
            tar.extractall(target, members=members, filter="data")
        else:
            tar.extractall(target, members=members)  # checked against its SHA-256 above
    return target / "pytest-tornado-0.8.1"


def _pytest_counts(root: Path, *, swap: bool, uvloop: bool) -> tuple[dict[str, int], str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")]))
    env["FUTUREBRIDGE_SWAP"] = "1" if swap else "0"
    env["FUTUREBRIDGE_UVLOOP"] = "1" if uvloop else "0"
    command = [
        sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "dropin_swap_plugin", "--rootdir", str(root),
        # pytest-tornado 0.8.1 calls IOLoop.make_current(), deprecated since Tornado 6.2.
        "-W", "ignore::DeprecationWarning", "test",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=root, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    output = result.stdout + result.stderr
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    counts.pop("warning", None)
    counts.pop("warnings", None)
    return counts, output


def check_pytest_tornado() -> list[str]:
    """pytest-tornado's suite: the same counts of each outcome stock and swapped."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "futurebridge"
    with tempfile.TemporaryDirectory(prefix="pytest-tornado-suite-") as target:
        return _check_pytest_tornado(_pytest_tornado_tests(cache / "suites", Path(target)))


def _check_pytest_tornado(root: Path) -> list[str]:
    problems: list[str] = []
    for uvloop in (False, True):
        loop = "uvloop" if uvloop else "asyncio"
        stock, stock_out = _pytest_counts(root, swap=False, uvloop=uvloop)
        swapped, swapped_out = _pytest_counts(root, swap=True, uvloop=uvloop)
        print(f"pytest-tornado 0.8.1 suite, {loop}: stock {stock}, with @as_tornado {swapped}")
        if not stock.get("passed") or "failed" in stock or "error" in stock or "errors" in stock:
            problems.append(f"pytest-tornado stock run on {loop}:\n{stock_out[-6000:]}")
        if swapped != stock:
            problems.append(f"pytest-tornado swapped run on {loop}:\n{swapped_out[-6000:]}")
    return problems


def main() -> int:
    """Run both parts (or the one named), print the counts, return the exit status."""
    parts = set(sys.argv[1:]) or {"--tornado", "--pytest-tornado"}
    problems: list[str] = []
    if "--tornado" in parts:
        problems += check_tornado()
    if "--pytest-tornado" in parts:
        problems += check_pytest_tornado()
    for problem in problems:
        print("\n" + "=" * 70 + "\n" + problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
