"""The commands behind ``python -m futurebridge``: check, demo, bench.

Nothing here is part of the library: ``import futurebridge`` never imports this
package, and each command's module is imported only when that command runs.
The commands use the public API only, so they read as examples of it.
"""
