"""The verifier a reading uses (base tests or base + extended tests), and false-positive rates.

Role in the pipeline: `RunData.load(..., verifier=...)` passes a run's verdicts through
`as_verifier`, so that every number (pass@k, pass_flops, pass_time, rank-scores, the advisor)
can be read under either verifier with no other change. `false_positives` measures how often
a pass on HumanEval's tests is wrong by the extension.

Definitions (docs/reduce.md):
* false-positive rate of a model = the share of its samples passing the base tests that fail
  base + extended tests (`plus_status` not `pass`);
* difficulty of a problem = the tertile of its base pass rate pooled over every model of the
  run (samples of all models together), ranked so that the thirds have equal problem counts
  (ties broken by task order): `easy` = the third with the highest pass rates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

VERIFIERS = ("base", "plus")
TERTILES = ("easy", "medium", "hard")


class VerifierError(ValueError):
    """A run cannot be read under the verifier asked for (the message says why)."""


def has_plus(verdicts: pa.Table) -> bool:
    return ("plus_status" in verdicts.column_names
            and verdicts.column("plus_status").null_count < verdicts.num_rows)


def output_root(run_dir: str, verifier: str) -> str:
    """Where a reading's outputs go: RUN_DIR for base, RUN_DIR/plus for plus."""
    from pipeline.run import storage

    return run_dir if verifier == "base" else storage.join(run_dir, "plus")


def as_verifier(verdicts: pa.Table, verifier: str) -> pa.Table:
    """`verdicts` whose `status`/`detail` are the verdict of `verifier`: unchanged for base;
    for plus, `plus_status`/`plus_detail` where set (problems with extended tests; others keep
    their base verdict)."""
    if verifier not in VERIFIERS:
        raise VerifierError(f"verifier {verifier!r} is not one of {', '.join(VERIFIERS)}")
    if verifier == "base":
        return verdicts
    if not has_plus(verdicts):
        raise VerifierError("no verdicts on extended tests in this run: run a benchmark with "
                            "extended tests (humaneval+) to read it with --verifier plus")
    status = pc.coalesce(verdicts.column("plus_status"), verdicts.column("status"))
    detail = pc.coalesce(verdicts.column("plus_detail"), verdicts.column("detail"))
    out = verdicts.set_column(verdicts.schema.get_field_index("status"), verdicts.schema.field(
        "status"), status)
    return out.set_column(out.schema.get_field_index("detail"), out.schema.field("detail"),
                          detail)


def difficulty(frame: pd.DataFrame) -> pd.Series:
    """(benchmark, task_id) -> easy | medium | hard: tertiles of the pooled base pass rate."""
    rate = (frame.assign(p=frame["status"].eq("pass"))
            .groupby(["benchmark", "task_id"], sort=False)["p"].mean())
    out = {}
    for bench, r in rate.groupby(level=0, sort=False):
        order = r.rank(method="first", ascending=False).to_numpy() - 1
        third = np.minimum((order * 3 // len(r)).astype(int), 2)
        out.update({key: TERTILES[t] for key, t in zip(r.index, third)})
    return pd.Series(out, name="difficulty")


def _rate(fail: np.ndarray, base: np.ndarray) -> float:
    return float(fail.sum() / base.sum()) if base.sum() else float("nan")


def false_positives(verdicts: pa.Table, *, n_boot: int = 1000, seed: int = 0,
                    ci: float = 0.95) -> pd.DataFrame:
    """Per model, benchmark and difficulty (`all` plus the tertiles): samples, base passes,
    base+extended passes, the false-positive rate and its bootstrap CI over problems."""
    if not has_plus(verdicts):
        raise VerifierError("no verdicts on extended tests in this run")
    df = verdicts.select(["model", "benchmark", "task_id", "status", "plus_status"]).to_pandas()
    df = df[df["plus_status"].notna()]
    diff = difficulty(df)
    df["difficulty"] = [diff[(b, t)] for b, t in zip(df["benchmark"], df["task_id"])]
    df["base"] = df["status"].eq("pass")
    df["fp"] = df["base"] & ~df["plus_status"].eq("pass")
    rng = np.random.default_rng(seed)
    rows = []
    for (model, bench), g in df.groupby(["model", "benchmark"], sort=True):
        per = g.groupby("task_id", sort=True).agg(base=("base", "sum"), fp=("fp", "sum"),
                                                  n=("base", "size"),
                                                  difficulty=("difficulty", "first"))
        for level in ("all",) + TERTILES:
            p = per if level == "all" else per[per["difficulty"] == level]
            b, f = p["base"].to_numpy(float), p["fp"].to_numpy(float)
            lo = hi = float("nan")
            if n_boot and len(p) and b.sum():
                idx = rng.integers(0, len(p), size=(n_boot, len(p)))
                bb, ff = b[idx].sum(axis=1), f[idx].sum(axis=1)
                rates = np.divide(ff, bb, out=np.full(n_boot, np.nan), where=bb > 0)
                lo, hi = np.nanquantile(rates, [(1 - ci) / 2, (1 + ci) / 2])
            rows.append({"model": model, "benchmark": bench, "difficulty": level,
                         "problems": len(p), "samples": int(p["n"].sum()),
                         "base_passes": int(b.sum()), "plus_passes": int(b.sum() - f.sum()),
                         "false_positive_rate": _rate(f, b),
                         "false_positive_rate_ci_low": float(lo),
                         "false_positive_rate_ci_high": float(hi)})
    return pd.DataFrame(rows)
