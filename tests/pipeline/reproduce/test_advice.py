"""REPRODUCTION.md section 5: advice of the reproduction runs, the Monte-Carlo check on real
counts, the advisor on paper mode; a missing run is said, not hidden."""

from __future__ import annotations

import numpy as np

from pipeline.reproduce import advice as advice_section


def test_the_monte_carlo_check_covers_every_strategy_and_agrees_within_simulation_error():
    rng = np.random.default_rng(0)
    n_c = {m: (np.full(30, 12), rng.integers(0, 13, size=30)) for m in ("a", "b")}
    rows = advice_section.mc_check(n_c, {"a": 1.0, "b": 3.0}, trials=1000)
    assert len(rows) == 2 * 4 + 2  # per model k = 1, 10, 12 and early stopping; a mix, a cascade
    assert any("stop at first pass" in r["strategy"] for r in rows)
    assert any("then b" in r["strategy"] for r in rows) and any(" + " in r["strategy"] for r in rows)
    assert all(abs(r["z"]) < 5 for r in rows)
    assert all(abs(r["cost_simulated"] - r["cost_exact"]) <= 0.05 * r["cost_exact"] for r in rows)


def test_the_section_renders_a_run_and_says_when_one_is_missing(tmp_path, synthetic_run,
                                                                 write_run):
    run = tmp_path / "run"
    write_run(run, *synthetic_run(n_problems=6, n=8, benchmarks=("mbpp",)))
    lines = advice_section.section(
        [("missing", tmp_path / "nope", "gpu-seconds", "advise nope"),
         ("synthetic", run, "gpu-seconds", "advise run")], tmp_path / "figures")
    text = "\n".join(lines)
    assert f"Not run yet (`{tmp_path / 'nope'}` has no verdicts)" in text
    assert "#### mbpp, with tests (gpu-seconds)" in text
    assert "Monte-Carlo check of the exact formulas on these real counts (mbpp, 6 problems" in text
    assert (tmp_path / "figures" / "advice_run_mbpp-tests.png").exists()
    assert "| NO |" not in text and "| humaneval | flops | 7b vs 70b |" in text
