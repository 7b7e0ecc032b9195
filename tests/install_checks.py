"""What a newcomer runs first, run as written: the README's quick start and the packages.

These checks install from the package index, so they are not part of the
pytest suite (whose network is loopback only): the ``quickstart`` and
``package`` nox sessions run them.

``python tests/install_checks.py quickstart``
    README command 1, exactly as the README writes it, in a copy of the
    source, with nothing on ``PATH`` but ``python3`` and a Python that has no
    ``ensurepip`` (as Debian's and Ubuntu's ``python3`` without
    ``python3-venv``): ``bootstrap.py`` must fetch pip, and the demo must pass.

``python tests/install_checks.py bench-from-wheel WHEEL``
    ``python -m futurebridge bench --quick`` from the installed wheel, run
    outside the source tree, exits 0 with every row measured.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Network settings of the machine's pip (a proxy's certificates, a mirror)
# still apply: they are how this machine reaches the package index.
PASSED_THROUGH = ("PIP_", "SSL_CERT_", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")
IGNORED = shutil.ignore_patterns(
    ".venv", ".nox", ".git", "_build", "__pycache__", "*.egg-info", ".*_cache", "dist"
)


def readme_command(number: int) -> str:
    """README command *number*, as written under its ``# N.`` comment."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.findall(rf"```sh\n# {number}\.[^\n]*\n([^\n]+)\n```", readme)
    if len(found) != 1:
        raise SystemExit(f"README.md has {len(found)} command {number}s, expected 1")
    return str(found[0])


def _environment(bin_dir: Path, home: Path, *, extra_path: str = "") -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key.startswith(PASSED_THROUGH) or key.upper() in PASSED_THROUGH
    }
    env.update(HOME=str(home), LANG="C.UTF-8", PATH=str(bin_dir) + extra_path)
    return env


def quickstart() -> int:
    """Run README command 1 where only ``python3`` exists; return its exit status."""
    command = readme_command(1)
    with tempfile.TemporaryDirectory(prefix="futurebridge-quickstart-") as tmp:
        work = Path(tmp)
        source = work / "futurebridge"
        shutil.copytree(ROOT, source, ignore=IGNORED)
        # A Python without ensurepip, like Debian's python3 without python3-venv:
        # this sitecustomize hides it from every interpreter started below.
        site = work / "no-ensurepip"
        site.mkdir()
        (site / "sitecustomize.py").write_text('import sys\nsys.modules["ensurepip"] = None\n')
        bin_dir = work / "bin"
        bin_dir.mkdir()
        python3 = bin_dir / "python3"
        python3.write_text(
            textwrap.dedent(
                f"""\
                #!/bin/sh
                PYTHONPATH={site} exec {sys.executable} "$@"
                """
            )
        )
        python3.chmod(0o755)
        env = _environment(bin_dir, work)
        env["PYTHONPATH"] = str(site)
        for tool in ("pip", "pip3", "uv", "nox", "node", "npm", "futurebridge"):
            assert shutil.which(tool, path=env["PATH"]) is None, tool
        print(f"quickstart: {command}", flush=True)
        result = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=source,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        print(result.stdout)
        print(result.stderr, file=sys.stderr)
        problems = []
        if result.returncode != 0:
            problems.append(f"command 1 exited {result.returncode}")
        if "no ensurepip here; installing pip-" not in result.stdout:
            problems.append("bootstrap.py did not fetch pip (was ensurepip really hidden?)")
        if not re.search(r"^(\d+)/\1 endpoints passed their checks$", result.stdout, re.M):
            problems.append("the demo did not pass every check")
        if "shutdown: clean" not in result.stdout:
            problems.append("the demo did not shut down cleanly")
        for problem in problems:
            print(f"quickstart: FAILED: {problem}", file=sys.stderr)
        if not problems:
            print("quickstart: README command 1 works with nothing installed but Python")
        return 1 if problems else 0


def bench_from_wheel() -> int:
    """``bench --quick`` of the installed package, run away from the source tree."""
    with tempfile.TemporaryDirectory(prefix="futurebridge-bench-") as tmp:
        result = subprocess.run(
            [sys.executable, "-m", "futurebridge", "bench", "--quick"],
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    print(result.stdout)
    imported_from = subprocess.run(
        [sys.executable, "-c", "import futurebridge; print(futurebridge.__file__)"],
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    problems = []
    if Path(imported_from).resolve().parent == ROOT / "futurebridge":
        problems.append(f"futurebridge was imported from the source tree: {imported_from}")
    if result.returncode != 0:
        problems.append(f"bench --quick exited {result.returncode}: {result.stderr[-2000:]}")
    if "rows skipped: 0" not in result.stdout:
        problems.append("a row was skipped")
    for problem in problems:
        print(f"bench-from-wheel: FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    """Run the check named on the command line."""
    checks = {"quickstart": quickstart, "bench-from-wheel": bench_from_wheel}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        raise SystemExit(f"usage: python tests/install_checks.py {{{','.join(checks)}}}")
    return checks[sys.argv[1]]()


if __name__ == "__main__":
    sys.exit(main())
