"""Run Tornado's own test suite with ``tornado.gen.coroutine`` replaced by
:func:`futurebridge.as_tornado`, on futurebridge's loops.

The swap happens before any test module is imported, as a user migrating in
place would do it (``tornado.gen.coroutine = futurebridge.as_tornado``), so
every ``@gen.coroutine`` in the suite and every ``gen.coroutine(...)`` call
made by ``tornado.testing.gen_test`` gets the futurebridge decorator.

``python tests/dropin_tornado_runner.py`` runs it all; ``--uvloop`` and module
names narrow it as in tests/ioloop_tornado_runner.py, and ``--stock`` runs the
same selection without the swap (the baseline). The tests left out are the
loop runner's :data:`EXCLUDED` plus :data:`ALLOWLIST`, each with its reason.
``--only TEST_ID`` runs that one test, allowlisted or not.

Used by tests/dropin_suites.py (the ``dropin`` nox session).
"""

from __future__ import annotations

import sys
from pathlib import Path

import tornado.gen

import futurebridge

# Tests of Tornado's suite that pass with the stock @gen.coroutine but not
# with @as_tornado in its place, each with the reason it is a deliberate
# difference. docs/migration.rst gives the count; keep them in step.
ALLOWLIST: dict[str, str] = {
    "tornado.test.api_test.APISnapshotTest.test_api_snapshot": (
        "the snapshot of Tornado's public API lists tornado.gen.coroutine's own "
        "signature; with the swap that name is futurebridge.as_tornado, a function "
        "of another module, so the line is missing by construction"
    ),
    "tornado.test.testing_test.GenTest.test_timeout": (
        "cancellation reaches the generator (a deliberate improvement): when "
        "gen_test's timeout cancels the test, the generator has already ended at "
        "its yield, so Tornado can no longer throw the TimeoutError back in there "
        "and the traceback lacks the 'gen.sleep(1)' line the test looks for"
    ),
}


def main() -> None:
    """Swap the decorator (unless ``--stock``), then run the loop runner."""
    if "--stock" in sys.argv:
        sys.argv.remove("--stock")
    else:
        tornado.gen.coroutine = futurebridge.as_tornado  # type: ignore[assignment]
    sys.path.insert(0, str(Path(__file__).parent))
    import ioloop_tornado_runner as runner

    if "--only" in sys.argv:
        at = sys.argv.index("--only")
        sys.argv[at : at + 2] = [sys.argv[at + 1]]
    else:
        runner.EXCLUDED.update(ALLOWLIST)
    # tornado.testing.main looks for ``all`` in __main__.
    globals()["all"] = runner.all
    runner.main()


if __name__ == "__main__":
    main()
