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

The Python blocks of the README and of ``stubs/README.md``,
``docs/examples/*.py`` and the ``testcode`` blocks of every other page (each
page one module, as for ``typing.rst``) are checked too, by all five
checkers with their default rules, as a user runs them with no configuration
(legacy examples leave types out, as legacy code does); ``typing.rst`` is
checked with each checker strict. In both, each checker reads only its own
ignore comments and reports those that silence nothing.

Each page module opens with ``doctest_global_setup`` from ``conf.py`` (it
defines ``DOCS_DIR``) and closes with ``doctest_global_cleanup``, and leaves
out a block the doctest builder skips here (its ``:skipif:`` holds). The
blocks of a page are programs of their own run one after another in one
namespace, and several name theirs ``main``: so redefining a name is not
reported (mypy's ``no-redef``, pyright's ``reportRedeclaration``). mypy then
checks a later use of such a name against its first definition, which only
matters for annotated code: a page that redefines an annotated function or a
class fails the check.

Run by ``nox -s typing`` (with the Tornado stubs from ``stubs/`` installed, as
the page assumes): ``python docs/_ext/typecheck_examples.py``.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "typing.rst"


def extract(text: str) -> str:
    """The ``testcode`` blocks of an rst page, dedented, as one module.

    A block whose ``:skipif:`` condition holds in this environment is left
    out, as the doctest builder leaves it out.
    """
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if re.match(r"\.\. testcode::", lines[i]):
            i += 1
            skipped = False
            while i < len(lines) and (option := re.match(r"\s+:(\w+):\s*(.*)", lines[i])):
                if option[1] == "skipif":
                    # The page's own condition, evaluated as the builder does.
                    skipped = bool(eval(option[2], {}))
                i += 1  # other options such as :hide:
            body: list[str] = []
            while i < len(lines) and (not lines[i] or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            if not skipped:
                blocks.append("\n".join(body).strip("\n"))
        else:
            i += 1
    return "\n\n\n".join(blocks) + "\n" if blocks else ""


def doctest_globals(docs: Path) -> tuple[str, str]:
    """``doctest_global_setup`` and ``doctest_global_cleanup`` of ``conf.py``.

    Read from its syntax tree, not by importing it (that would build the
    inventories); the setup's f-string is evaluated with ``HERE``, the docs
    folder, as ``conf.py`` has it.
    """
    names = ("doctest_global_setup", "doctest_global_cleanup")
    found: dict[str, str] = {}
    for node in ast.parse((docs / "conf.py").read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and isinstance(target := node.targets[0], ast.Name)
            and target.id in names
        ):
            code = compile(ast.Expression(node.value), "conf.py", "eval")
            found[target.id] = eval(code, {"HERE": docs, "str": str})
    return found["doctest_global_setup"].strip(), found["doctest_global_cleanup"].strip()


def typed_redefinitions(source: str) -> list[str]:
    """Top-level names a module defines twice where one is a class or annotated function."""
    seen: set[str] = set()
    typed: set[str] = set()
    found: list[str] = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            annotated = node.returns is not None or any(a.annotation for a in arguments)
        elif isinstance(node, ast.ClassDef):
            annotated = True
        else:
            continue
        if node.name in seen and (annotated or node.name in typed):
            found.append(f"{node.name} (line {node.lineno})")
        seen.add(node.name)
        if annotated:
            typed.add(node.name)
    return found


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
    """Each checker's default rules, held to its own ignore comments."""
    # "standard" is pyright's default; basedpyright's own default fails on warnings.
    config = {
        "pythonVersion": "3.11",
        "typeCheckingMode": "standard",
        "enableTypeIgnoreComments": False,
        "reportUnnecessaryTypeIgnoreComment": "error",
        # A page's blocks are programs of their own in one namespace.
        "reportRedeclaration": "none",
    }
    (root / "pyrightconfig.json").write_text(json.dumps(config))
    (root / "pyrefly.toml").write_text(
        'python-version = "3.11"\n'
        'enabled-ignores = ["pyrefly"]\n'
        "[errors]\n"
        'unused-ignore = "error"\n'
    )
    (root / "ty.toml").write_text(
        "[analysis]\n"
        "respect-type-ignore-comments = false\n"
        "[rules]\n"
        'unused-ignore-comment = "error"\n'
    )


def checks(root: Path, strict: bool) -> list[list[str]]:
    """The five checker commands for the modules under *root*."""
    python = sys.executable
    bin_dir = Path(python).parent
    mypy_flags = ["--strict"] if strict else ["--disable-error-code", "no-redef"]
    mypy_flags.append("--warn-unused-ignores")
    # FUTUREBRIDGE_MYPY_CACHE: a cache kept between runs (the typing session's).
    cache = os.environ.get("FUTUREBRIDGE_MYPY_CACHE")
    mypy_flags += [f"--cache-dir={cache}/{root.name}"] if cache else ["--no-incremental"]
    return [
        [python, "-m", "mypy", *mypy_flags, "--python-version", "3.11", "."],
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
    failed = False
    plain_modules = {
        f"readme_{n}.py": block
        for n, block in enumerate(readme_blocks((docs.parent / "README.md").read_text()), 1)
    }
    # The stubs' own README shows how to see that they are on.
    stubs_readme = (docs.parent / "stubs" / "README.md").read_text()
    for n, block in enumerate(readme_blocks(stubs_readme), 1):
        plain_modules[f"stubs_readme_{n}.py"] = block
    for example in sorted((docs / "examples").glob("*.py")):
        plain_modules[f"example_{example.name}"] = example.read_text()
    setup, cleanup = doctest_globals(docs)
    for page in sorted(docs.glob("*.rst")):
        if page != PAGE and (blocks := extract(page.read_text())):
            module = f"page_{page.stem.replace('-', '_')}.py"
            plain_modules[module] = f"{setup}\n\n\n{blocks}\n\n{cleanup}\n"
            if redefined := typed_redefinitions(blocks):
                # mypy would check later uses against the first definition.
                failed = True
                print(f"{page.name} redefines typed names: {', '.join(redefined)}")
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
