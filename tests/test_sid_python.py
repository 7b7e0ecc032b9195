"""tools/sid_python.py, the provisioning of Python 3.14 and 3.15 for the test
matrix: the parts that need no root and no network (the root itself is built
and used by ``nox -s tests-3.14``)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "sid_python.py"


@pytest.fixture(scope="module")
def sid_python() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sid_python", TOOL)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_mirror_is_the_one_apt_uses_for_this_release(
    sid_python: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list").write_text(
        "# deb http://commented.example/debian bookworm main\n"
        "deb [arch=amd64] http://other.example/ubuntu jammy main\n"
    )
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb-src\nURIs: http://sources-only.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nEnabled: no\n\n"
        "Types: deb\n"
        "# a comment inside the stanza\n"
        "URIs: http://mirror.example/debian\n"
        "Suites: bookworm bookworm-updates\n"
        "Components: main\n\n"
        "Types: deb\nURIs: http://security.example/debian-security\nSuites: bookworm-security\n"
    )
    assert sid_python.debian_mirror(tmp_path, "bookworm") == "http://mirror.example/debian"
    assert sid_python.debian_mirror(tmp_path, "jammy") == "http://other.example/ubuntu"
    assert sid_python.debian_mirror(tmp_path, "trixie") is None


def test_a_one_line_source_wins_when_it_comes_first(sid_python: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text("deb http://first.example/debian trixie main\n")
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "x.sources").write_text(
        "Types: deb\nURIs: http://second.example/debian\nSuites: trixie\n"
    )
    assert sid_python.debian_mirror(tmp_path, "trixie") == "http://first.example/debian"


def test_only_registry_settings_valid_inside_the_root_cross_into_it(
    sid_python: ModuleType, tmp_path: Path
) -> None:
    (tmp_path / "etc" / "ssl").mkdir(parents=True)
    (tmp_path / "etc" / "ssl" / "ca.crt").write_text("")
    inside = sid_python._exists_inside  # pyright: ignore[reportPrivateUsage]
    assert inside(tmp_path, "https://pypi.example/simple")
    assert inside(tmp_path, "/etc/ssl/ca.crt")
    assert not inside(tmp_path, "/opt/wheels")
    assert not inside(tmp_path, "file:///opt/pypi/simple")
    passed = sid_python._PASSED_ENV  # pyright: ignore[reportPrivateUsage]
    for name in ("PIP_INDEX_URL", "UV_DEFAULT_INDEX", "SSL_CERT_FILE", "https_proxy"):
        assert passed.fullmatch(name), name
    for name in ("PATH", "LD_PRELOAD", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR"):
        assert not passed.fullmatch(name), name


def test_the_cached_root_is_out_of_date_when_what_it_holds_changes(
    sid_python: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    is_current = sid_python._is_current  # pyright: ignore[reportPrivateUsage]
    assert not is_current(tmp_path)
    stamp = tmp_path / sid_python._STAMP  # pyright: ignore[reportPrivateUsage]
    stamp.write_text(sid_python.json.dumps(sid_python._spec()))  # pyright: ignore[reportPrivateUsage]
    assert is_current(tmp_path)
    monkeypatch.setattr(sid_python, "PACKAGES", [*sid_python.PACKAGES, "python3.16"])
    assert not is_current(tmp_path)
    stamp.write_text("{not json")
    assert not is_current(tmp_path)


def test_the_default_root_is_under_the_user_cache(
    sid_python: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUTUREBRIDGE_SID_ROOT", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert sid_python.default_root() == tmp_path / "futurebridge" / "sid-root"
    monkeypatch.setenv("FUTUREBRIDGE_SID_ROOT", str(tmp_path / "elsewhere"))
    assert sid_python.default_root() == tmp_path / "elsewhere"
