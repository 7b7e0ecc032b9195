"""``python -m futurebridge migrate``: a libcst codemod from ``@gen.coroutine`` to ``async def``.

The command owns no runtime behaviour: the code it writes relies on
futurebridge's public API (``to_asyncio_future``, ``as_tornado``) to keep the
meaning of every legacy construct. It is split by concern:

* ``_names``: the Tornado and asyncio names it knows;
* ``_analysis``: the facts of one file (legacy functions, their uses, the
  constructs that stop a conversion);
* ``_decide``: the decision for each function, across every given file;
* ``_rewrite``: the rewrite of one file;
* ``_report``: the JSON report and the table on stderr;
* ``_command``: files, diff, ``--write`` and the exit status.

libcst is imported only when the command runs (``futurebridge[migrate]``).
"""

from __future__ import annotations

from ._command import add_arguments as add_arguments
from ._command import run as run

__all__ = ("add_arguments", "run")
