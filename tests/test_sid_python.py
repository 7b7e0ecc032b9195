"""tools/sid_python.py, the provisioning of Python 3.14 and 3.15 (and of 3.12
and 3.13 where the machine lacks them) for the test matrix: the parts that need
no network (the root itself is built and used by ``nox -s tests-3.14``, and
with Ubuntu's 3.12 by ``nox -s tests-3.12`` on a machine without a 3.12)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "sid_python.py"


def _load(extra_pythons: str | None = None) -> ModuleType:
    """The tool as a run sees it with FUTUREBRIDGE_SID_EXTRA_PYTHONS=``extra_pythons``."""
    saved = os.environ.pop("FUTUREBRIDGE_SID_EXTRA_PYTHONS", None)
    if extra_pythons is not None:
        os.environ["FUTUREBRIDGE_SID_EXTRA_PYTHONS"] = extra_pythons
    try:
        spec = importlib.util.spec_from_file_location("sid_python", TOOL)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        os.environ.pop("FUTUREBRIDGE_SID_EXTRA_PYTHONS", None)
        if saved is not None:
            os.environ["FUTUREBRIDGE_SID_EXTRA_PYTHONS"] = saved


@pytest.fixture(scope="module")
def sid_python() -> ModuleType:
    return _load()


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


def test_3_12_comes_from_ubuntu_with_the_keyring_and_the_rest_from_sid() -> None:
    with_312 = _load("3.12,3.13")
    assert with_312.SID_PYTHONS == ("3.12", "3.13", "3.14", "3.15")
    assert with_312.UBUNTU_PACKAGES == ["python3.12", "python3.12-venv"]
    assert "ubuntu-archive-keyring" in with_312.PACKAGES
    assert not any(name.startswith("python3.12") for name in with_312.PACKAGES)
    for version in ("3.13", "3.14", "3.15"):
        assert {f"python{version}", f"python{version}-venv"} <= set(with_312.PACKAGES)
    without = _load("3.13")
    assert without.UBUNTU_PACKAGES == []
    assert "ubuntu-archive-keyring" not in without.PACKAGES
    assert "python3.13" in without.PACKAGES
    assert _load().PACKAGES == [
        "ca-certificates",
        "python3.14",
        "python3.15",
        "python3.14-venv",
        "python3.15-venv",
    ]


def test_adding_3_12_makes_a_cached_root_out_of_date_and_back(tmp_path: Path) -> None:
    without, with_312 = _load("3.13"), _load("3.12,3.13")
    stamp = tmp_path / without._STAMP  # pyright: ignore[reportPrivateUsage]
    stamp.write_text(without.json.dumps(without._spec()))  # pyright: ignore[reportPrivateUsage]
    assert without._is_current(tmp_path)  # pyright: ignore[reportPrivateUsage]
    assert not with_312._is_current(tmp_path)  # pyright: ignore[reportPrivateUsage]
    stamp.write_text(with_312.json.dumps(with_312._spec()))  # pyright: ignore[reportPrivateUsage]
    assert with_312._is_current(tmp_path)  # pyright: ignore[reportPrivateUsage]
    assert not without._is_current(tmp_path)  # pyright: ignore[reportPrivateUsage]
    assert with_312._spec()["ubuntu"] == {  # pyright: ignore[reportPrivateUsage]
        "sources": [["noble noble-updates", "main"], ["noble-updates", "universe"]],
        "packages": ["python3.12", "python3.12-venv"],
        "pin": 100,
    }
    # A root built before Ubuntu's packages existed keeps its record, so the
    # machines that need no 3.12 do not rebuild theirs.
    assert _load()._spec() == {  # pyright: ignore[reportPrivateUsage]
        "suite": "sid",
        "variant": "minbase",
        "packages": [
            "ca-certificates",
            "python3.14",
            "python3.14-venv",
            "python3.15",
            "python3.15-venv",
        ],
    }


def test_the_ubuntu_source_is_signed_and_pinned_below_sid(sid_python: ModuleType) -> None:
    files = sid_python.ubuntu_apt_config("http://mirror.example/ubuntu")
    assert set(files) == {
        "etc/apt/sources.list.d/futurebridge-ubuntu.sources",
        "etc/apt/preferences.d/futurebridge-ubuntu",
    }
    fields_of = sid_python._deb822_fields  # pyright: ignore[reportPrivateUsage]
    source = files["etc/apt/sources.list.d/futurebridge-ubuntu.sources"]
    stanzas = [fields_of(stanza) for stanza in source.split("\n\n")]
    signed = {
        "types": "deb",
        "uris": "http://mirror.example/ubuntu",
        "signed-by": "/usr/share/keyrings/ubuntu-archive-keyring.gpg",
    }
    # python3.12 and the libraries sid may lack are in main; python3.12-venv
    # is in universe.
    assert stanzas == [
        {**signed, "suites": "noble noble-updates", "components": "main"},
        {**signed, "suites": "noble-updates", "components": "universe"},
    ]
    pin = fields_of(files["etc/apt/preferences.d/futurebridge-ubuntu"])
    assert pin["package"] == "*"
    assert pin["pin"] == "release o=Ubuntu"
    # Below sid's default 500 and the 100 of what is installed, above 0
    # (which would forbid Ubuntu's packages outright).
    assert 0 < int(pin["pin-priority"]) <= 100


def test_the_ubuntu_mirror_is_the_override_the_machines_own_or_ubuntus(
    sid_python: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FUTUREBRIDGE_UBUNTU_MIRROR", raising=False)
    (tmp_path / "sources.list").write_text("deb http://deb.example/debian bookworm main\n")
    mirror = sid_python.ubuntu_mirror
    assert mirror(tmp_path, "noble", "x86_64") == "http://archive.ubuntu.com/ubuntu"
    assert mirror(tmp_path, "noble", "aarch64") == "http://ports.ubuntu.com/ubuntu-ports"
    (tmp_path / "sources.list").write_text("deb http://ubuntu.example/ubuntu noble main\n")
    assert mirror(tmp_path, "noble", "x86_64") == "http://ubuntu.example/ubuntu"
    monkeypatch.setenv("FUTUREBRIDGE_UBUNTU_MIRROR", "http://chosen.example/ubuntu")
    assert mirror(tmp_path, "noble", "x86_64") == "http://chosen.example/ubuntu"


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None,
    reason="entering a root needs root and unshare",
)
def test_a_failed_ubuntu_step_names_the_step_packages_and_mirror(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A "root" with no /proc to mount on: entering it fails in its first step.
    monkeypatch.setenv("FUTUREBRIDGE_UBUNTU_MIRROR", "http://mirror.invalid/ubuntu")
    with_312 = _load("3.12")
    with pytest.raises(SystemExit) as failed:
        with_312._install_from_ubuntu(tmp_path)  # pyright: ignore[reportPrivateUsage]
    message = str(failed.value)
    assert message.startswith("sid_python: `apt-get update -q -o Acquire::Languages=none` in")
    assert "python3.12, python3.12-venv" in message
    assert "Ubuntu noble at http://mirror.invalid/ubuntu" in message
    source = tmp_path / "etc/apt/sources.list.d/futurebridge-ubuntu.sources"
    assert "URIs: http://mirror.invalid/ubuntu\n" in source.read_text()


def test_the_hosts_apt_access_settings_and_nothing_else_cross_into_the_root(
    sid_python: ModuleType,
) -> None:
    dump = (
        'APT::Architecture "amd64";\n'
        'Acquire::Check-Valid-Until "false";\n'
        'Acquire::Check-Date "false";\n'
        'Acquire::http::Proxy "http://proxy.example:3128/";\n'
        'Acquire::https::Proxy::deb.example "DIRECT";\n'
        'Acquire::IndexTargets::deb::Packages::MetaKey "$(COMPONENT)/binary-$(ARCHITECTURE)";\n'
        'Acquire::Languages "none";\n'
        'Dir::Etc::sourcelist "sources.list";\n'
    )
    assert sid_python.host_apt_settings(dump) == (
        'Acquire::Check-Valid-Until "false";\n'
        'Acquire::Check-Date "false";\n'
        'Acquire::http::Proxy "http://proxy.example:3128/";\n'
        'Acquire::https::Proxy::deb.example "DIRECT";\n'
    )
    assert sid_python.host_apt_settings('APT::Architecture "amd64";\n') == ""
