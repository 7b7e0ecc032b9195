"""Optional integrations with third-party libraries, each imported lazily.

``import futurebridge`` never imports the modules here: the converters import
one the first time they meet a type from its library (see ``ADAPTER_MODULES``),
and the module registers its adapters with :func:`futurebridge.register_adapter`.
This package's own ``__init__`` holds only that table and imports nothing.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ("ADAPTER_MODULES",)

#: The adapter module (in this package) for each library, by the top-level
#: package its types come from: a type whose class, or one of its bases, was
#: defined under that package makes the converters import the module.
ADAPTER_MODULES: Mapping[str, str] = {
    "twisted": "twisted",
    "distributed": "dask",
}
