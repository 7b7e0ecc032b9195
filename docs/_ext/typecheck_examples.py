"""Type-check the documentation's examples with mypy, pyright, basedpyright, pyrefly and ty.

The doctest builder proves that the examples run; this proves that what the
page says about types is what the checkers say. The ``testcode`` blocks of the
page are joined into one module (the order of the page, as the doctest builder
runs them) and checked by all five, each strict:

* ``assert_type(expr, T)`` lines fail if a checker sees another type;
* a line a checker must reject carries that checker's own comment
  (``# type: ignore[code]`` for mypy, ``# pyright: ignore[rule]`` for pyright
  and basedpyright, ``# pyrefly: ignore[kind]``, ``# ty: ignore[rule]``), and
  each checker reports an ignore comment that silences nothing, so the line
  fails the check if the error it shows goes away.

The README's Python blocks and ``docs/examples/*.py`` are checked too, by
all five checkers as a user runs them with no configuration (legacy examples
leave return types out, as legacy code does); ``typing.rst`` is checked with each checker strict.

Run by ``nox -s docs`` (with the Tornado stubs from ``stubs/`` installed, as
the page assumes): ``python docs/_ext/typecheck_examples.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "typing.rst"


def extract(text: str) -> str:
    """The ``testcode`` blocks of an rst page, dedented, as one module."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if re.match(r"\.\. testcode::", lines[i]):
            i += 1
            while i < len(lines) and re.match(r"\s+:\w+:", lines[i]):
                i += 1  # options such as :hide:
            body: list[str] = []
            while i < len(lines) and (not lines[i] or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            blocks.append("\n".join(body).strip("\n"))
        else:
            i += 1
    return "\n\n\n".join(blocks) + "\n"


def readme_blocks(text: str) -> list[str]:
    """The ```python blocks of a Markdown page."""
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def strict_configs(root: Path) -> None:
    """Each checker strict, held to its own ignore comments, reporting unused ones."""
    (root / "pyrightconfig.json").write_text(
        json.dumps(
            {
                "typeCheckingMode": "strict",
                "pythonVersion": "3.11",
                "enableTypeIgnoreComments": False,
                "reportUnnecessaryTypeIgnoreComment": "error",
                # Examples are short scripts: names they import for show are fine.
                "reportUnusedImport": "none",
                "reportUnusedVariable": "none",
                "reportUnusedFunction": "none",
            }
        )
    )
    (root / "pyrefly.toml").write_text(
        'preset = "strict"\n'
        'python-version = "3.11"\n'
        'enabled-ignores = ["pyrefly"]\n'
        "strict-callable-subtyping = false\n"
        "[errors]\n"
        'missing-override-decorator = "ignore"\n'
        'implicit-any-type-argument = "ignore"\n'
    )
    (root / "ty.toml").write_text(
        "[analysis]\n"
        "respect-type-ignore-comments = false\n"
        "[rules]\n"
        'unused-ignore-comment = "error"\n'
        'possibly-unresolved-reference = "error"\n'
        "[terminal]\n"
        "error-on-warning = true\n"
    )


def default_configs(root: Path) -> None:
    """Each checker as a user runs it with no configuration of their own."""
    # "standard" is pyright's default; basedpyright's own default fails on warnings.
    config = {"pythonVersion": "3.11", "typeCheckingMode": "standard"}
    (root / "pyrightconfig.json").write_text(json.dumps(config))
    (root / "pyrefly.toml").write_text('python-version = "3.11"\n')
    (root / "ty.toml").write_text("")


def checks(root: Path, strict: bool) -> list[list[str]]:
    """The five checker commands for the modules under *root*."""
    python = sys.executable
    bin_dir = Path(python).parent
    mypy_flags = ["--strict", "--warn-unused-ignores"] if strict else []
    return [
        [python, "-m", "mypy", *mypy_flags, "--no-incremental", "--python-version", "3.11", "."],
        [python, "-m", "pyright", "--pythonpath", python, "--project", str(root)],
        [str(bin_dir / "basedpyright"), "--pythonpath", python, "--project", str(root)],
        [
            str(bin_dir / "pyrefly"),
            "check",
            "--python-interpreter-path",
            python,
            "-c",
            "pyrefly.toml",
        ]
        + (["-p", "default"] if not strict else [])
        + ["."],
        [str(bin_dir / "ty"), "check", "--python", python, "--config-file", "ty.toml", "."],
    ]


def main() -> int:
    """Check typing.rst's examples strictly, and every other example as users run them."""
    docs = PAGE.parent
    plain_modules = {
        f"readme_{n}.py": block
        for n, block in enumerate(readme_blocks((docs.parent / "README.md").read_text()), 1)
    }
    for example in sorted((docs / "examples").glob("*.py")):
        plain_modules[f"example_{example.name}"] = example.read_text()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name, strict, modules in (
            ("strict", True, {"typing_examples.py": extract(PAGE.read_text())}),
            ("plain", False, plain_modules),
        ):
            root = Path(tmp) / name
            root.mkdir()
            for module, source in modules.items():
                (root / module).write_text(source)
            (strict_configs if strict else default_configs)(root)
            for command in checks(root, strict):
                result = subprocess.run(command, cwd=root, capture_output=True, text=True)
                if result.returncode != 0:
                    failed = True
                    print(f"{name}: {' '.join(command[:3])} ...")
                    print(result.stdout + result.stderr)
    if failed:
        print("The documentation's examples do not type-check as the pages say.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
