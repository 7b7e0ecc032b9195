"""Python 3.14 and 3.15 for the test matrix, from a cached Debian sid root.

Debian sid ships ``python3.14`` and ``python3.15``, but they need a newer glibc
than this machine's Debian has. So they run in a chroot: a minimal sid root,
made once with ``debootstrap`` from the Debian mirror the machine's own apt
uses, and kept under ``~/.cache/futurebridge/sid-root``.

The same root gives a machine the supported Pythons it lacks (the noxfile
asks, through ``FUTUREBRIDGE_SID_EXTRA_PYTHONS``): 3.13 from sid, and 3.12,
which no Debian suite has, from Ubuntu 24.04 "noble" (``noble-updates``),
whose ``python3.12`` needs the glibc 2.38+ that sid has. Ubuntu's
archive is checked with the keyring of Debian's ``ubuntu-archive-keyring``
and pinned below sid, so it supplies only packages sid lacks and never
replaces one of sid's; ``FUTUREBRIDGE_UBUNTU_MIRROR`` names another mirror.

This module owns making that root and running one command inside it, with the
project bind-mounted at its own path. Which tests run is noxfile.py's business.

Rules that hold throughout:

- Every mount is made inside a private mount namespace (``unshare --mount``)
  that dies with the command: no mount outlives a run, however it ends, and
  runs of 3.14 and 3.15 side by side never see each other's mounts.
- A root is built in a scratch directory and renamed into place once complete,
  under a lock, so a half-built root is never used and two sessions starting
  together build it once.
- Only what reaching the registries needs crosses into the root: the
  machine's CA certificates, its system pip config, the apt settings with
  which it reaches its archives (proxies, date checks: a snapshot mirror's
  Release files are past their ``Valid-Until``), ``resolv.conf`` and the
  index, certificate and proxy variables of the environment.

Needs root (debootstrap, mount, chroot). Run by hand::

    python3 tools/sid_python.py                    # build the root if missing
    python3 tools/sid_python.py --rebuild          # build it afresh
    python3 tools/sid_python.py -- python3.15 -VV  # run a command inside
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import NoReturn

# 3.14 and 3.15 for every run. FUTUREBRIDGE_SID_EXTRA_PYTHONS adds others
# (the noxfile asks for 3.12 and 3.13 on a machine without its own; Debian
# bookworm has only 3.11). Only then, so that sid dropping an older version, or
# Ubuntu's archive being out of reach, breaks only the machines that need it.
SID_PYTHONS = (
    *(v for v in os.environ.get("FUTUREBRIDGE_SID_EXTRA_PYTHONS", "").split(",") if v),
    "3.14",
    "3.15",
)
# Versions no Debian suite ships, taken from Ubuntu 24.04's archive.
UBUNTU_PYTHONS = {"3.12"}
# What the root's apt reads of it, as (suites, components): main for python3.12
# and any library sid lacks, and python3.12-venv, which is in universe. Only
# noble-updates' universe (1.7 MB of index against noble's 15 MB): the venv
# package must match python3.12's version exactly, and both are updated there.
UBUNTU_SOURCES = (("noble noble-updates", "main"), ("noble-updates", "universe"))
UBUNTU_KEYRING = "/usr/share/keyrings/ubuntu-archive-keyring.gpg"
# Below sid's 500 and no higher than the 100 of what is installed: a package
# sid has always comes from sid; Ubuntu's is a candidate only where sid has none.
UBUNTU_PIN_PRIORITY = 100


def packages(pythons: Sequence[str]) -> tuple[list[str], list[str]]:
    """What the root holds for ``pythons``: (debootstrap's packages, Ubuntu's).

    Each Python comes with its ``venv`` package, from sid unless it is one of
    ``UBUNTU_PYTHONS``; asking for one of those adds the keyring that checks
    Ubuntu's archive to what debootstrap installs.
    """
    from_sid = [version for version in pythons if version not in UBUNTU_PYTHONS]
    from_ubuntu = [version for version in pythons if version in UBUNTU_PYTHONS]
    debian = [
        "ca-certificates",
        *(["ubuntu-archive-keyring"] if from_ubuntu else []),
        *(f"python{version}" for version in from_sid),
        *(f"python{version}-venv" for version in from_sid),
    ]
    ubuntu = [
        name for version in from_ubuntu for name in (f"python{version}", f"python{version}-venv")
    ]
    return debian, ubuntu


PACKAGES, UBUNTU_PACKAGES = packages(SID_PYTHONS)
# Changing what the root holds changes this record, which makes a cached root
# out of date: it is then rebuilt.
_STAMP = ".futurebridge-sid.json"
_SBIN = "/usr/local/sbin:/usr/sbin:/sbin"
# A private mount namespace: mounts made inside never reach this one, and all
# of them go when its last process exits.
_UNSHARE = ["unshare", "--mount", "--propagation", "private", "--"]

# The lines of ``apt-config dump`` that carry how this machine's apt reaches
# its archives.
_HOST_APT = re.compile(
    r'Acquire::(Check-Valid-Until|Check-Date|Max-FutureTime|(https?|ftp)::Proxy(::\S+)?) ".*";'
)
# Environment variables that carry how this machine reaches the registries.
# A value that names a path is passed only if that path exists inside the root.
_PASSED_ENV = re.compile(
    r"(PIP|UV)_\w+|SSL_CERT_(FILE|DIR)|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE"
    r"|(HTTPS?|ALL|NO)_PROXY|(https?|all|no)_proxy"
    r"|LANG|LC_ALL|TERM|NO_COLOR|FORCE_COLOR|PYTHONHASHSEED|CI"
    r"|FUTUREBRIDGE_\w+"
)


def default_root() -> Path:
    """Where the sid root is cached: ``$FUTUREBRIDGE_SID_ROOT``, else under the user's cache."""
    if explicit := os.environ.get("FUTUREBRIDGE_SID_ROOT"):
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache")
    return Path(cache, "futurebridge", "sid-root")


def debian_mirror(apt_dir: Path = Path("/etc/apt"), codename: str | None = None) -> str | None:
    """The archive URI that this machine's apt uses for its own Debian release.

    Read from ``sources.list`` and ``sources.list.d`` (one-line and deb822
    forms); ``codename`` defaults to this machine's, from ``/etc/os-release``.
    ``None`` when none is found: debootstrap then uses its default.
    """
    codename = codename or _os_release().get("VERSION_CODENAME", "")
    for uri, suites in _apt_sources(apt_dir):
        if codename in suites:
            return uri
    return None


def ubuntu_mirror(
    apt_dir: Path = Path("/etc/apt"), suite: str = "noble", machine: str | None = None
) -> str:
    """The Ubuntu archive URI that ``UBUNTU_PYTHONS`` are taken from.

    ``$FUTUREBRIDGE_UBUNTU_MIRROR`` when set; else the one this machine's apt
    uses for ``suite`` (an Ubuntu machine's own mirror); else Ubuntu's own
    archive for this machine's architecture (``machine`` defaults to
    ``platform.machine()``): archive.ubuntu.com for x86, ports.ubuntu.com for
    the others.
    """
    if explicit := os.environ.get("FUTUREBRIDGE_UBUNTU_MIRROR"):
        return explicit
    if found := debian_mirror(apt_dir, suite):
        return found
    if (machine or platform.machine()) in {"x86_64", "amd64", "i386", "i486", "i586", "i686"}:
        return "http://archive.ubuntu.com/ubuntu"
    return "http://ports.ubuntu.com/ubuntu-ports"


def ubuntu_apt_config(mirror: str) -> dict[str, str]:
    """The files, by path inside the root, that let its apt take packages from Ubuntu.

    A deb822 source with a stanza for each of ``UBUNTU_SOURCES``, checked
    with Ubuntu's archive key, and a pin at ``UBUNTU_PIN_PRIORITY`` of
    everything whose Release says ``Origin: Ubuntu`` (whichever mirror serves
    it: mirrors copy the signed Release file as is).
    """
    source = "\n".join(
        f"Types: deb\nURIs: {mirror}\nSuites: {suites}\nComponents: {components}\n"
        f"Signed-By: {UBUNTU_KEYRING}\n"
        for suites, components in UBUNTU_SOURCES
    )
    pin = f"Package: *\nPin: release o=Ubuntu\nPin-Priority: {UBUNTU_PIN_PRIORITY}\n"
    return {
        "etc/apt/sources.list.d/futurebridge-ubuntu.sources": source,
        "etc/apt/preferences.d/futurebridge-ubuntu": pin,
    }


def ensure_root(root: Path | None = None, *, rebuild: bool = False) -> Path:
    """Return a ready sid root, building it first if it is missing or out of date.

    Safe to call from several processes at once: one builds, the others wait
    and then use what it built. Raises ``SystemExit`` with the reason when the
    root cannot be built (not root, debootstrap failed).
    """
    root = root or default_root()
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.with_name(root.name + ".lock")):
        if rebuild or not _is_current(root):
            _build(root)
    return root


def run(
    argv: Sequence[str],
    *,
    project: Path,
    root: Path | None = None,
    env: Mapping[str, str] | None = None,
    binds: Sequence[Path] = (),
) -> int:
    """Run ``argv`` inside the sid root, in ``project``, and return its exit status.

    ``project`` and each of ``binds`` are bind-mounted at their own paths, so
    paths mean the same inside and out (an editable install's, a cache's).
    ``/tmp`` is a fresh tmpfs for each run. The command sees ``env`` and, of
    this process's variables, only those matching ``_PASSED_ENV``.
    """
    root = root or ensure_root()
    if os.geteuid() != 0:
        raise SystemExit("sid_python: running inside the sid root needs root (mount, chroot)")
    inner = [
        sys.executable,
        os.path.abspath(__file__),
        "--inside",
        str(root),
        *(arg for path in (project, *binds) for arg in ("--bind", str(path))),
        *(arg for name, value in (env or {}).items() for arg in ("--env", f"{name}={value}")),
        "--chdir",
        str(project),
        "--",
        *argv,
    ]
    return subprocess.run([*_UNSHARE, *inner], check=False).returncode


def _enter(
    root: Path, binds: Sequence[Path], env: Mapping[str, str], chdir: Path, argv: Sequence[str]
) -> NoReturn:
    """In the fresh mount namespace: mount what the command needs, chroot, exec it."""

    def mount(*args: str) -> None:
        subprocess.run(["mount", *args], check=True)

    mount("-t", "proc", "proc", str(root / "proc"))
    mount("--rbind", "/dev", str(root / "dev"))
    mount("--rbind", "/sys", str(root / "sys"))
    mount("-t", "tmpfs", "tmpfs", str(root / "tmp"))
    for path in binds:
        target = root / path.relative_to("/")
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        mount("--bind", str(path), str(target))
    # Name servers may change between runs; the root keeps no copy of its own.
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf", follow_symlinks=True)
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin" + ":" + _SBIN,
        "HOME": "/root",
        **{
            name: value
            for name, value in os.environ.items()
            if _PASSED_ENV.fullmatch(name) and _exists_inside(root, value)
        },
        **env,
    }
    os.chroot(root)
    os.chdir(chdir)
    os.execvpe(argv[0], list(argv), env)


def _exists_inside(root: Path, value: str) -> bool:
    """False for a value naming a path that the root lacks (a wheel folder of this machine)."""
    path = value.removeprefix("file://")
    if not path.startswith("/"):
        return True
    return all((root / part.lstrip("/")).exists() for part in path.split())


def _build(root: Path) -> None:
    """Debootstrap a fresh root beside ``root``, configure it, then swap it in."""
    if os.geteuid() != 0:
        raise SystemExit("sid_python: building the sid root needs root (debootstrap)")
    debootstrap = _ensure_debootstrap()
    scratch = Path(tempfile.mkdtemp(prefix=root.name + ".build-", dir=root.parent))
    scratch.chmod(0o755)
    try:
        mirror = debian_mirror()
        # debootstrap mounts /proc and /sys in the new root while it works: in
        # a namespace of its own, those mounts cannot outlive it, even if killed.
        command = [*_UNSHARE, debootstrap, "--variant=minbase", f"--include={','.join(PACKAGES)}"]
        command += ["sid", str(scratch), *([mirror] if mirror else [])]
        print(f"sid_python: building the Debian sid root in {root} (a few minutes)", flush=True)
        # debootstrap's chatter goes to a log; on failure the log's end says why.
        log = scratch.with_suffix(".log")
        with log.open("w") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if done.returncode != 0:
            tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
            raise SystemExit(f"sid_python: debootstrap failed ({done.returncode}):\n{tail}")
        log.unlink()
        _configure(scratch)
        _install_from_ubuntu(scratch)
        (scratch / _STAMP).write_text(json.dumps(_spec(), indent=2) + "\n")
        if root.exists():
            shutil.rmtree(root)
        scratch.rename(root)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch)


def _configure(root: Path) -> None:
    """Give the root this machine's CA certificates, system pip config and apt access settings."""
    extra_cas = Path("/usr/local/share/ca-certificates")
    if extra_cas.is_dir():
        shutil.copytree(extra_cas, root / extra_cas.relative_to("/"), dirs_exist_ok=True)
    update = ["chroot", str(root), "update-ca-certificates"]
    done = subprocess.run(update, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"sid_python: update-ca-certificates failed:\n{done.stdout}{done.stderr}")
    for config in (Path("/etc/pip.conf"), Path("/etc/xdg/pip")):
        if config.is_dir():
            shutil.copytree(config, root / config.relative_to("/"), dirs_exist_ok=True)
        elif config.is_file():
            shutil.copy2(config, root / config.relative_to("/"))
    if apt_config := shutil.which("apt-config"):
        dump = subprocess.run([apt_config, "dump"], capture_output=True, text=True, check=True)
        if settings := host_apt_settings(dump.stdout):
            (root / "etc/apt/apt.conf.d/50futurebridge-host").write_text(settings)


def host_apt_settings(dump: str) -> str:
    """Of ``apt-config dump``'s output, the lines that say how this machine reaches its archives.

    Its proxies and its checks of a Release file's dates: a machine whose
    mirror is a snapshot turns ``Acquire::Check-Valid-Until`` off, and the
    root's apt, reading the same mirror, must too.
    """
    return "".join(line + "\n" for line in dump.splitlines() if _HOST_APT.fullmatch(line))


def _install_from_ubuntu(root: Path) -> None:
    """Install ``UBUNTU_PACKAGES`` into the fresh root, from Ubuntu's archive pinned below sid."""
    if not UBUNTU_PACKAGES:
        return
    mirror = ubuntu_mirror()
    for relative, text in ubuntu_apt_config(mirror).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    where = f"Ubuntu noble at {mirror} (FUTUREBRIDGE_UBUNTU_MIRROR names another)"
    print(f"sid_python: adding {', '.join(UBUNTU_PACKAGES)} from {where}", flush=True)
    steps = [
        # No translations: nothing here reads a package description.
        ["apt-get", "update", "-q", "-o", "Acquire::Languages=none"],
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", *UBUNTU_PACKAGES],
        ["apt-get", "clean"],
    ]
    for argv in steps:
        # In a mount namespace of its own, as every run is: dpkg's scripts
        # get /proc and /dev, and no mount outlives the step.
        inside = [sys.executable, os.path.abspath(__file__), "--inside", str(root)]
        inside += ["--env=DEBIAN_FRONTEND=noninteractive", "--chdir", "/", "--", *argv]
        done = subprocess.run([*_UNSHARE, *inside], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            output = (done.stdout + done.stderr).splitlines(keepends=True)
            raise SystemExit(
                f"sid_python: `{' '.join(argv)}` in the sid root failed ({done.returncode})"
                f" while adding {', '.join(UBUNTU_PACKAGES)} from {where}:\n"
                + "".join(output[-15:])
            )
    # apt's binary caches of the package lists (118 MB); apt remakes them when
    # it next runs, and nothing runs it here again.
    for cache in (root / "var/cache/apt").glob("*.bin"):
        cache.unlink()


def _ensure_debootstrap() -> str:
    """The path of debootstrap, installing it with apt-get when it is missing."""
    path = os.environ.get("PATH", "") + os.pathsep + _SBIN
    if found := shutil.which("debootstrap", path=path):
        return found
    print("sid_python: installing debootstrap with apt-get", flush=True)
    apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    # Wait for another apt-get (the docs session may be installing Chromium).
    wait = ["-o", "DPkg::Lock::Timeout=600"]
    subprocess.run(["apt-get", *wait, "update", "-qq"], check=True, env=apt_env)
    install = ["apt-get", *wait, "install", "-y", "-qq", "debootstrap"]
    subprocess.run(install, check=True, env=apt_env)
    found = shutil.which("debootstrap", path=path)
    if found is None:
        raise SystemExit("sid_python: apt-get installed debootstrap but it is not on PATH")
    return found


def _spec() -> dict[str, object]:
    spec: dict[str, object] = {"suite": "sid", "variant": "minbase", "packages": sorted(PACKAGES)}
    # Only when there are any: a root without Ubuntu's packages keeps the
    # record it was built with, and is not rebuilt for nothing.
    if UBUNTU_PACKAGES:
        spec["ubuntu"] = {
            "sources": [list(source) for source in UBUNTU_SOURCES],
            "packages": sorted(UBUNTU_PACKAGES),
            "pin": UBUNTU_PIN_PRIORITY,
        }
    return spec


def _is_current(root: Path) -> bool:
    try:
        return bool(json.loads((root / _STAMP).read_text()) == _spec())
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _locked(path: Path) -> Generator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _os_release() -> dict[str, str]:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return {}
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key: value.strip().strip('"') for key, value in pairs}


def _apt_sources(apt_dir: Path) -> Iterator[tuple[str, list[str]]]:
    """(URI, suites) of each enabled binary source, in apt's reading order."""
    one_line = [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]
    for path in one_line:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                # deb [options] uri suite [component...]
                words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    yield words[1], [words[2]]
    for path in sorted(apt_dir.glob("sources.list.d/*.sources")):
        with contextlib.suppress(OSError):
            for stanza in re.split(r"\n\s*\n", path.read_text()):
                fields = _deb822_fields(stanza)
                enabled = fields.get("enabled", "yes").lower() != "no"
                if enabled and "deb" in fields.get("types", "").split():
                    for uri in fields.get("uris", "").split():
                        yield uri, fields.get("suites", "").split()


def _deb822_fields(stanza: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in stanza.splitlines():
        if line.startswith("#") or ":" not in line or line[0].isspace():
            continue
        key, value = line.split(":", 1)
        fields[key.strip().lower()] = value.strip()
    return fields


def main(args: Sequence[str] | None = None) -> int:
    """Command line: build the root, or run a command inside it (see the module docstring)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="build the root afresh")
    parser.add_argument("--root", type=Path, help=f"the root's folder (default: {default_root()})")
    parser.add_argument(
        "--bind", type=Path, action="append", default=[], help="also bind-mount PATH inside"
    )
    parser.add_argument("--env", action="append", default=[], help="set NAME=VALUE for the command")
    parser.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--chdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("command", nargs="*", help="a command to run inside, in this folder")
    options = parser.parse_args(args)
    env = dict(item.split("=", 1) for item in options.env)
    if options.inside:
        _enter(options.inside, options.bind, env, options.chdir, options.command)
    root = ensure_root(options.root, rebuild=options.rebuild)
    if not options.command:
        print(root)
        return 0
    return run(options.command, project=Path.cwd(), root=root, env=env, binds=options.bind)


if __name__ == "__main__":
    sys.exit(main())
