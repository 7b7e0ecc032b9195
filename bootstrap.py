"""Make ``.venv``, a virtual environment with pip, from any Python 3.11+.

    python3 bootstrap.py [DIR]

The README's commands start with this, so they work with a system Python too:
Debian's and Ubuntu's ``python3`` refuses ``pip install`` outside a virtual
environment (PEP 668, "externally-managed-environment"), and without the
``python3-venv`` package it has no ``ensurepip`` to put pip in one.

Where ``ensurepip`` exists, this is ``python3 -m venv DIR``. Where it does not,
the environment is made without pip, the newest pip wheel is downloaded from
the package index (PyPI, or ``PIP_INDEX_URL``) and its SHA-256 checked against
the index's, and that wheel installs itself into the environment (a pip wheel
can run as ``python pip.whl/pip``). Uses only the standard library. Running it
again is harmless: an environment that already has pip is left as it is.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import ssl
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import venv
from pathlib import Path

DEFAULT_INDEX = "https://pypi.org/simple"
# PEP 691: the index's JSON form lists every file with its hashes.
ACCEPT = "application/vnd.pypi.simple.v1+json"
WHEEL = re.compile(r"^pip-(\d+(?:\.\d+)*)-py3-none-any\.whl$")


def _python(env_dir: Path) -> Path:
    scripts = "Scripts" if os.name == "nt" else "bin"
    return env_dir / scripts / ("python.exe" if os.name == "nt" else "python")


def _has_pip(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-m", "pip", "--version"], capture_output=True, check=False
    )
    return probe.returncode == 0


def _has_ensurepip() -> bool:
    try:
        return importlib.util.find_spec("ensurepip") is not None
    except (ImportError, ValueError):  # ValueError: blocked with sys.modules["ensurepip"] = None
        return False


def _ssl_context() -> ssl.SSLContext:
    # The certificate bundle pip is told to use (a company proxy's, say) also
    # serves here; otherwise the system's.
    cafile = os.environ.get("PIP_CERT") or None
    return ssl.create_default_context(cafile=cafile)


def _fetch(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=60, context=_ssl_context()) as response:
        data: bytes = response.read()
        return data


def _newest_pip_wheel(index: str) -> tuple[str, str, str]:
    """The (file name, URL, sha256) of the newest final pip wheel on *index*."""
    page_url = index.rstrip("/") + "/pip/"
    page = json.loads(_fetch(page_url, ACCEPT))
    best: tuple[tuple[int, ...], str, str, str] | None = None
    for entry in page["files"]:
        match = WHEEL.match(entry["filename"])
        if not match or entry.get("yanked") or "sha256" not in entry.get("hashes", {}):
            continue
        version = tuple(int(part) for part in match.group(1).split("."))
        if best is None or version > best[0]:
            url = urllib.parse.urljoin(page_url, entry["url"])
            best = (version, entry["filename"], url, entry["hashes"]["sha256"])
    if best is None:
        raise SystemExit(f"bootstrap: no pip wheel found at {page_url}")
    return best[1], best[2], best[3]


def _install_pip_from_index(python: Path) -> None:
    index = os.environ.get("PIP_INDEX_URL", DEFAULT_INDEX)
    name, url, sha256 = _newest_pip_wheel(index)
    print(f"bootstrap: no ensurepip here; installing {name} from {index}", flush=True)
    data = _fetch(url)
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise SystemExit(f"bootstrap: {name} has SHA-256 {digest}, the index says {sha256}")
    with tempfile.TemporaryDirectory() as tmp:
        wheel = Path(tmp) / name
        wheel.write_bytes(data)
        subprocess.run(
            [str(python), f"{wheel}/pip", "install", "--quiet", "--no-index", str(wheel)],
            check=True,
        )


def bootstrap(env_dir: Path) -> Path:
    """Make *env_dir* a virtual environment with pip (if it is not one); return its python."""
    python = _python(env_dir)
    if _has_pip(python):
        return python
    with_pip = _has_ensurepip()
    print(f"bootstrap: creating {env_dir} with Python {sys.version.split()[0]}", flush=True)
    venv.EnvBuilder(with_pip=with_pip, clear=python.exists()).create(env_dir)
    if not with_pip:
        _install_pip_from_index(python)
    if not _has_pip(python):
        raise SystemExit(f"bootstrap: {env_dir} still has no working pip")
    return python


def main() -> None:
    """``python3 bootstrap.py [DIR]`` (default ``.venv``)."""
    if sys.version_info < (3, 11):  # noqa: UP036  # run by any python3, old ones included
        raise SystemExit(
            f"futurebridge needs Python 3.11 or later, this is {sys.version.split()[0]}"
        )
    env_dir = Path(sys.argv[1] if len(sys.argv) > 1 else ".venv")
    python = bootstrap(env_dir)
    print(f"bootstrap: ready: {python} -m pip ...")


if __name__ == "__main__":
    main()
