"""Sphinx configuration of the futurebridge documentation.

Build it with ``python3 -m nox -s docs``, or by hand::

    sphinx-build -W --keep-going -n -b html docs docs/_build/html
    sphinx-build -W --keep-going -n -b doctest docs docs/_build/doctest

``-W`` makes every warning an error and ``-n`` (nitpicky) makes every
cross-reference that does not resolve a warning, so a dangling link fails the
build. The doctest builder runs every example of every page.

References to Python and Tornado, offline
-----------------------------------------
The build must not need the network (CI reaches package registries only), so
intersphinx cannot download ``objects.inv`` from docs.python.org and
tornadoweb.org. ``_ext/offline_inventory.py`` lists each Python and Tornado
object these pages link to, with its upstream page, and writes the two
inventories into ``_build/inventories`` before the build; ``intersphinx_mapping``
points at those local files. Links still go to the upstream documentation, a
reference to anything not listed fails the nitpicky build, and
``tests/test_docs.py`` checks that every listed name exists in the installed
Python and Tornado. ``nitpick_ignore`` below names the few targets that have
no documentation anywhere, each with the reason.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from sphinx.domains.python import PyAttribute, PyClasslike, PyFunction, PyMethod, PyProperty
from sphinx.ext import intersphinx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# The package itself, for a build from a checkout without an install.
sys.path.insert(0, str(HERE.parent))

import offline_inventory  # noqa: E402

import futurebridge  # noqa: E402

project = "futurebridge"
author = "futurebridge developers"
copyright = "futurebridge developers"
release = futurebridge.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    # "[source]" links from the API reference to the highlighted code.
    "sphinx.ext.viewcode",
    # The changelog page includes CHANGELOG.md as it is.
    "myst_parser",
]

exclude_patterns = ["_build", "_ext"]
root_doc = "index"
nitpicky = True

# --- theme: furo when installed (the docs extra has it), else Sphinx's default.
try:
    import furo  # noqa: F401
except ImportError:
    html_theme = "alabaster"
else:
    html_theme = "furo"
html_title = f"futurebridge {release}"
# Wider text column and tables that fit or scroll visibly: see the file.
html_static_path = ["_static"]
html_css_files = ["custom.css"]

# --- autodoc
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
# Full names in signatures: the overloads for asyncio.Future and
# concurrent.futures.Future would otherwise both read "Future[_T]". The
# names are then tidied by _tidy_signature below.
autodoc_typehints_format = "fully-qualified"
autodoc_preserve_defaults = True
python_use_unqualified_type_names = False
# The private modules' type variables and aliases are shown by their names;
# these names are what a reader needs, and they have no page of their own.
# Sphinx (9.0) cannot print ParamSpec's ``_P.args``/``_P.kwargs`` once it has
# evaluated them ("*args: ~typing.~_P", which it then cannot parse). With
# these names here, autodoc keeps such signatures as the source writes them;
# the overloads it evaluates anyway are fixed in setup() below.
autodoc_type_aliases = {"_P.args": "_P.args", "_P.kwargs": "_P.kwargs"}
# Targets that exist nowhere to link to, each for a reason:
nitpick_ignore_regex = [
    # Type variables of the private modules (_T, _K, _P, _C, _Ts...): generic
    # parameters, not objects; the signatures show how they tie in and out.
    ("py:class", r"(futurebridge\._\w+\.)?_[A-Z][a-z]?(_co)?(\.args|\.kwargs)?"),
]
nitpick_ignore = [
    # The private alias "Awaitable[T] | concurrent.futures.Future[T]" used in
    # the decorators' overloads; the typing page explains it in words.
    ("py:class", "SingleYieldable"),
    # The converters' overloads: the class of gen.moment (private in Tornado)
    # and the "None among the children" type variable; the typing page
    # explains both in words.
    ("py:class", "Moment"),
    ("py:class", "futurebridge._typing.NoneChild"),
    # A concurrent.futures.Future read covariantly, in the aggregate
    # overloads; the typing page explains it in words.
    ("py:class", "futurebridge._typing._ConcurrentFutureOf"),
    # gen.moment as the Tornado stubs type it, matched by shape among a list's
    # children; the typing page explains it in words.
    ("py:class", "futurebridge._typing.NoneResult"),
    # A private Protocol: "an object with fileno() and close()", as the
    # docstring of add_handler says.
    ("py:class", "futurebridge._ioloop._Selectable"),
]

# --- intersphinx, from local inventories (see the module docstring)
_inventories = offline_inventory.write_inventories(HERE / "_build" / "inventories")
intersphinx_mapping = {
    "python": (offline_inventory.PYTHON_URL, str(_inventories["python"])),
    "tornado": (offline_inventory.TORNADO_URL, str(_inventories["tornado"])),
}
intersphinx_cache_limit = 0

# --- doctest: each page's examples run in a namespace of their own, and
# Python's own warnings are errors there, as in the test suite.
doctest_global_setup = f"""
DOCS_DIR = {str(HERE)!r}

import warnings as _warnings

_warnings_kept = _warnings.catch_warnings()
_warnings_kept.__enter__()
_warnings.simplefilter("error")
"""
doctest_global_cleanup = """
_warnings_kept.__exit__(None, None, None)
"""


def _resolve_source_text_future(app: Any, env: Any, node: Any, contnode: Any) -> Any:
    """Link a bare ``Future`` in futurebridge's overload signatures to Tornado's.

    autodoc renders ``@overload`` signatures from their source text, where the
    modules write ``Future`` after ``from tornado.concurrent import Future``;
    the name is not resolved to a module there, so it is done here.
    """
    if node.get("reftarget") != "Future" or not node.get("py:module", "").startswith(
        "futurebridge"
    ):
        return None
    node["reftarget"] = "tornado.concurrent.Future"
    return intersphinx.missing_reference(app, env, node, contnode)


# What Sphinx (9.0) prints for ParamSpec parts it evaluated itself, in the
# overloads of LoopThread.run/submit/call, and what the source says instead.
_PARAMSPEC_FIXES = [
    (re.compile(r"(?<!\*)(\*args: )~typing\.~(\w+)"), r"\1\2.args"),
    (re.compile(r"(\*\*kwargs: )~typing\.~(\w+)"), r"\1\2.kwargs"),
    (re.compile(r"Callable\[\[~(_\w+)\]"), r"Callable[\1"),
]


def _fix_paramspec(sig: str) -> str:
    for pattern, replacement in _PARAMSPEC_FIXES:
        sig = pattern.sub(replacement, sig)
    return sig


class _PyFunction(PyFunction):
    def handle_signature(self, sig: str, signode: Any) -> Any:
        return super().handle_signature(_tidy_signature(_fix_paramspec(sig)), signode)


class _PyClass(PyClasslike):
    def handle_signature(self, sig: str, signode: Any) -> Any:
        return super().handle_signature(_tidy_signature(sig), signode)


class _PyProperty(PyProperty):
    def handle_signature(self, sig: str, signode: Any) -> Any:
        if self.options.get("type"):
            self.options["type"] = _tidy_signature(self.options["type"])
        return super().handle_signature(_tidy_signature(sig), signode)


class _PyAttribute(PyAttribute):
    def handle_signature(self, sig: str, signode: Any) -> Any:
        if self.options.get("type"):
            self.options["type"] = _tidy_signature(self.options["type"])
        return super().handle_signature(_tidy_signature(sig), signode)


class _PyMethod(PyMethod):
    def handle_signature(self, sig: str, signode: Any) -> Any:
        return super().handle_signature(_tidy_signature(_fix_paramspec(sig)), signode)


# Signatures show each type by the name a reader imports it by; only the two
# Futures keep their module, which is what tells the overloads apart. A "~"
# shows the last part of a name and still links the whole.
_SIGNATURE_NAMES = [
    (re.compile(r"\b_asyncio\.(Future|Task)\b"), r"asyncio.\1"),
    (re.compile(r"\bconcurrent\.futures\._base\.Future\b"), "concurrent.futures.Future"),
    (re.compile(r"\basyncio\.events\.AbstractEventLoop\b"), "~asyncio.AbstractEventLoop"),
    (re.compile(r"\bfuturebridge\.\w+\.(_[A-Z][a-z]?s?)\b"), r"\1"),  # type variables
    (re.compile(r"(?<![~.\w])((?:collections\.abc|typing|types)\.\w+)"), r"~\1"),
]


def _tidy_signature(sig: str) -> str:
    for pattern, replacement in _SIGNATURE_NAMES:
        sig = pattern.sub(replacement, sig)
    return sig


def setup(app: Any) -> None:
    app.connect("missing-reference", _resolve_source_text_future)
    app.add_directive_to_domain("py", "function", _PyFunction, override=True)
    app.add_directive_to_domain("py", "method", _PyMethod, override=True)
    app.add_directive_to_domain("py", "class", _PyClass, override=True)
    app.add_directive_to_domain("py", "property", _PyProperty, override=True)
    app.add_directive_to_domain("py", "attribute", _PyAttribute, override=True)
