"""The benchmark harness: every row runs, figures and JSON are well formed.

No wall-clock assertions: the machines are shared and noisy. Iteration counts
are tiny; only the structure of the results is checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from futurebridge._tools.bench import (
    ROWS,
    NotInstalled,
    Row,
    Target,
    Unavailable,
    Variant,
    format_report,
    run_bench,
)
from futurebridge._tools.cli import main


@pytest.mark.slow
@pytest.mark.timeout(600)  # every row, HTTP included: minutes on a loaded machine
def test_every_row_runs_and_the_json_has_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bench.json"
    status = main(["bench", "--quick", "--batches", "2", "--batch-ms", "1", "--json", str(path)])
    out = capsys.readouterr().out
    assert status == 0, out
    figures = json.loads(path.read_text())
    assert figures["mode"] == "quick"
    assert figures["batches"] == 2
    assert {"python", "tornado", "cpus", "platform"} <= set(figures["machine"])
    assert [row["key"] for row in figures["rows"]] == [row.key for row in ROWS]
    for row, spec in zip(figures["rows"], ROWS, strict=True):
        assert row["skipped"] is None, row
        assert row["variants"][0]["side"] == "futurebridge"
        assert {v["side"] for v in row["variants"]} - {"futurebridge"}, row["key"]
        for variant in row["variants"]:
            assert len(variant["samples_seconds"]) == 2 * spec.batch_count_scale
            assert all(s > 0 for s in variant["samples_seconds"])
            assert variant["median_seconds"] > 0
            assert variant["n_per_batch"] >= 1
        assert len(row["targets"]) == len(spec.targets)
        for target in row["targets"]:
            assert target["ratio"] > 0
            assert isinstance(target["met"], bool)
        assert spec.title in out
    assert "targets:" in out
    assert f"figures written to {path}" in out


def test_unknown_rows_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rows", "done_future,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err


def _counting(name: str, log: list[str], per_op: float) -> Variant:
    def timer(n: int) -> float:
        log.append(name)
        return n * per_op

    return Variant(name, "futurebridge" if name == "ours" else "asyncio", timer)


def test_batches_interleave_and_ratios_are_ratios_of_medians() -> None:
    log: list[str] = []

    def setup(stack: contextlib.ExitStack) -> list[Variant]:
        return [_counting("ours", log, 3e-6), _counting("theirs", log, 2e-6)]

    row = Row(
        "synthetic",
        "synthetic row",
        setup,
        (
            Target("theirs", "<= 2x theirs", at_most=2.0),
            Target("theirs", "<= 1x theirs", at_most=1.0),
        ),
    )
    result = run_bench([row], batches=4, batch_seconds=0.001, profile_misses=True)
    (only,) = result.rows
    assert [t.met for t in only.targets] == [True, False]
    assert only.targets[0].ratio == pytest.approx(1.5)
    # After calibration, the order rotates: ours first, then theirs first, ...
    # (the last call is the profile of the missed row).
    assert log[-1] == "ours"
    measured = log[-9:-1]
    assert measured == ["ours", "theirs", "theirs", "ours", "ours", "theirs", "theirs", "ours"]
    # A missed target gets futurebridge's variant profiled.
    assert only.profile is not None
    assert "ncalls" in only.profile
    report = format_report(result)
    assert "MISSED" in report
    assert "ratio 1.500" in report


def test_rate_rows_compare_throughput() -> None:
    def setup(stack: contextlib.ExitStack) -> list[Variant]:
        return [_counting("ours", [], 1e-4), _counting("theirs", [], 2e-4)]

    row = Row(
        "rate",
        "rate row",
        setup,
        (Target("theirs", ">= 1x theirs", at_least=1.0),),
        unit="rate",
    )
    result = run_bench([row], batches=2, batch_seconds=0.001)
    (target,) = result.rows[0].targets
    assert target.ratio == pytest.approx(2.0)
    assert target.met
    assert "10,000 req/s" in format_report(result)


def test_a_target_whose_variant_did_not_run_is_not_measured() -> None:
    def setup(stack: contextlib.ExitStack) -> list[Variant]:
        return [_counting("ours", [], 1e-6), _counting("theirs", [], 1e-6)]

    row = Row(
        "partial",
        "partial row",
        setup,
        (
            Target("theirs", "<= 2x theirs", at_most=2.0),
            Target("theirs", "<= 2x theirs", at_most=2.0, ours="ours on uvloop"),
        ),
    )
    result = run_bench([row], batches=2, batch_seconds=0.001)
    measured, unmeasured = result.rows[0].targets
    assert measured.ratio == pytest.approx(1.0)
    assert unmeasured.ratio is None
    assert not unmeasured.met
    report = format_report(result)
    assert "not measured (ours on uvloop did not run)" in report
    assert "1 met, 0 missed, 1 not measured" in report
    assert json.loads(json.dumps(result.to_json()))["rows"][0]["targets"][1]["ratio"] is None


def test_a_row_needing_an_extra_that_is_not_installed_is_not_measured() -> None:
    def missing_extra(stack: contextlib.ExitStack) -> list[Variant]:
        raise NotInstalled("needs distributed: pip install 'futurebridge[dask]'")

    def broken(stack: contextlib.ExitStack) -> list[Variant]:
        raise Unavailable("the HTTP server did not start")

    result = run_bench([Row("extra", "needs an extra", missing_extra, ())], batches=2)
    assert result.rows[0].not_installed
    report = format_report(result)
    assert "not measured: needs distributed" in report
    assert "rows skipped: 0" in report
    # Any other reason a row cannot run is still a skipped row (exit status 1).
    result = run_bench([Row("broken", "broken", broken, ())], batches=2)
    assert not result.rows[0].not_installed
    assert "rows skipped: 1" in format_report(result)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--batches", "-3"], "--batches must be a whole number of at least 1, got -3"),
        (["--batches", "0"], "--batches must be a whole number of at least 1, got 0"),
        (["--batch-ms", "-1"], "--batch-ms must be a number of milliseconds above 0"),
    ],
)
def test_bad_numbers_are_refused_before_the_run(
    args: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--quick", *args]) == 2
    captured = capsys.readouterr()
    assert says in captured.err
    assert captured.out == ""  # nothing ran


def test_an_unwritable_json_path_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing_dir = tmp_path / "no-such-dir" / "bench.json"
    assert main(["bench", "--quick", "--json", str(missing_dir)]) == 2
    assert "cannot write there (No such file or directory)" in capsys.readouterr().err
    assert main(["bench", "--quick", "--json", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "cannot write there (it is a directory)" in captured.err
    assert captured.out == ""
    # The check leaves no file behind where it made one.
    good = tmp_path / "new.json"
    assert (
        main(
            [
                "bench",
                "--rows",
                "done_future",
                "--batches",
                "1",
                "--batch-ms",
                "1",
                "--json",
                str(good),
            ]
        )
        == 0
    )
    assert json.loads(good.read_text())["batches"] == 1


def test_ctrl_c_ends_the_run_with_one_line(tmp_path: Path) -> None:
    # As a terminal does: SIGINT to the whole process group (the HTTP row's
    # server processes included), once the run is under way.
    # A terminal's program starts with SIGINT's default action; a test run
    # started in the background (`cmd &`) hands its children SIGINT ignored,
    # and Python then installs no KeyboardInterrupt handler: restore it first.
    start_as_in_a_terminal = (
        "import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler);"
        " sys.argv[0] = 'futurebridge'; runpy.run_module('futurebridge', run_name='__main__')"
    )
    command = [
        sys.executable,
        "-W",
        "error",
        "-c",
        start_as_in_a_terminal,
        "bench",
        "--rows",
        "http,done_future",
    ]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    # The with block closes the pipes and waits for the process, however the test ends.
    with subprocess.Popen(command, **pipes, text=True, start_new_session=True) as process:
        assert process.stderr is not None
        seen: list[str] = []
        try:
            for line in process.stderr:
                seen.append(line)
                if "batch 1/" in line:
                    break
            else:
                raise AssertionError(f"the run never started: {seen}")
            os.killpg(process.pid, signal.SIGINT)
            out, err = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "Traceback" not in err, err
    *progress, last = err.splitlines()
    assert last == "bench: interrupted (Ctrl-C); no figures were kept"
    # Before it, at most progress lines printed while the signal was on its way.
    assert all(line.startswith("[") for line in progress), err
    assert out == ""
