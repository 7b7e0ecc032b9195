"""bootstrap.py's pip download, against an index served on 127.0.0.1.

The whole path (a Python without ensurepip, pip fetched from the real index,
README command 1 as written) is run by the ``quickstart`` nox session; here,
offline, the choice of wheel and the hash check.
"""

from __future__ import annotations

import hashlib
import http.server
import importlib.util
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _load_bootstrap() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bootstrap", ROOT / "bootstrap.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = _load_bootstrap()
WHEEL = b"not really a wheel"


def _files(sha_of_newest: str) -> list[dict[str, object]]:
    good = {"sha256": hashlib.sha256(WHEEL).hexdigest()}
    return [
        {"filename": "pip-9.0.1-py3-none-any.whl", "url": "/files/old.whl", "hashes": good},
        {
            "filename": "pip-10.1-py3-none-any.whl",
            "url": "/files/new.whl",
            "hashes": {"sha256": sha_of_newest},
        },
        # Newer, but yanked, a pre-release, or not a wheel: never chosen.
        {
            "filename": "pip-11.0-py3-none-any.whl",
            "url": "/files/y.whl",
            "hashes": good,
            "yanked": True,
        },
        {"filename": "pip-12.0b1-py3-none-any.whl", "url": "/files/b.whl", "hashes": good},
        {"filename": "pip-13.0.tar.gz", "url": "/files/s.tar.gz", "hashes": good},
    ]


@pytest.fixture
def index(request: pytest.FixtureRequest) -> Iterator[str]:
    files = _files(request.param)
    seen_accept: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/simple/pip/":
                seen_accept.append(self.headers.get("Accept", ""))
                body = json.dumps({"files": files}).encode()
            elif self.path.startswith("/files/"):
                body = WHEEL
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/simple"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
    assert seen_accept
    assert all("vnd.pypi.simple.v1+json" in a for a in seen_accept)


@pytest.mark.parametrize("index", [hashlib.sha256(WHEEL).hexdigest()], indirect=True)
def test_the_newest_final_wheel_is_chosen(index: str) -> None:
    name, url, sha256 = bootstrap._newest_pip_wheel(index)
    assert name == "pip-10.1-py3-none-any.whl"
    assert url.endswith("/files/new.whl")
    assert sha256 == hashlib.sha256(WHEEL).hexdigest()


@pytest.mark.parametrize("index", ["0" * 64], indirect=True)
def test_a_wheel_whose_hash_differs_is_refused_before_it_runs(
    index: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", index)
    never_run = tmp_path / "python-that-must-not-run"
    with pytest.raises(
        SystemExit, match=r"pip-10\.1-py3-none-any\.whl has SHA-256 .* the index says 0000"
    ):
        bootstrap._install_pip_from_index(never_run)


def test_a_python_without_ensurepip_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    assert bootstrap._has_ensurepip() == (importlib.util.find_spec("ensurepip") is not None)
    # What Debian's python3 without python3-venv looks like from inside.
    monkeypatch.setitem(sys.modules, "ensurepip", None)
    assert bootstrap._has_ensurepip() is False
