"""Exact sampling strategies under a budget, from per-problem pass counts: the advisor's math.

Role in the pipeline: `pipeline.reduce.advise` evaluates these strategies on a budget grid and
picks the best; this module only turns per-problem counts (n samples, c passing) into the pass
rate and the expected cost of every configuration of a strategy. Pure numpy, no sampling.

Every formula starts from the fail curve f[p, k] = C(n_p - c_p, k) / C(n_p, k), the probability
that k samples drawn without replacement from problem p's n_p samples all fail (f[p, 0] = 1):

- single model, k samples: pass = 1 - f[p, k]; cost = k c.
- mix of models A, B, ... with k_A, k_B, ... samples (drawn independently per model): a problem
  is solved if any sample passes, pass = 1 - prod_m f_m[p, k_m]; cost = sum_m k_m c_m.
- cascade S -> L: k_S samples of S, and only where none passes the tests, k_L of L. Pass as
  the mix; expected cost per problem = k_S c_S + f_S[p, k_S] k_L c_L (only what is generated).
- early stopping with tests, up to k samples of one model, stopping at the first pass: pass as
  the single model; expected samples drawn = sum_{j<k} f[p, j] (sample j+1 is drawn iff the first
  j failed), so expected cost = c sum_{j<k} f[p, j].
- ranked single choice without tests: rank-score@k (`metrics.rank_score_at_k`), cost k c.

Costs are per problem and, for cascades and early stopping, expected over problems: a budget B
is met when the mean over problems of the (expected) cost is at most B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.reduce import metrics

#: Relative slack when comparing a cost with a budget (as `metrics.BUDGET_RTOL`).
RTOL = metrics.BUDGET_RTOL
#: Budgets are evaluated in chunks of this many rows to bound memory (rows x k values).
CHUNK = 256

FAMILIES = ("single", "early_stop", "mix", "cascade", "ranked", "greedy")


def fail_curve(n, c, kmax: int | None = None) -> np.ndarray:
    """f[p, k] = P(no pass among k of problem p's samples), k = 0..kmax: array [P, kmax + 1].

    kmax defaults to the fewest samples of any problem (the largest k every problem supports).
    """
    n, c = metrics._as_counts(n, c)
    if n.size == 0:
        raise ValueError("need at least one problem")
    kmax = int(n.min()) if kmax is None else int(kmax)
    if kmax < 0 or kmax > n.min():
        raise ValueError(f"kmax must be in 0..{int(n.min())} (the fewest samples of a problem)")
    out = np.ones((n.size, kmax + 1))
    if kmax:
        out[:, 1:] = 1.0 - metrics.pass_at_k(n, c, np.arange(1, kmax + 1))
    return out


@dataclass(frozen=True)
class Choice:
    """The best configuration of one strategy at each budget of a grid.

    `ks[g, m]` samples of `models[m]` (the maximum k, for early stopping); `value[g]` the pass
    rate, `spent[g]` the (expected) cost per problem; NaN value and ks of -1 where the budget
    buys nothing. `capped[g]`: the budget is above the dearest configuration the counts cover,
    so the choice is that configuration and its value a lower bound of what the budget could
    buy with more samples than were measured.
    """

    family: str
    models: tuple[str, ...]
    ks: np.ndarray
    value: np.ndarray
    spent: np.ndarray
    capped: np.ndarray


def _affordable(budgets, costs, max_cost: float) -> tuple[np.ndarray, np.ndarray]:
    """(index of the last entry of nondecreasing `costs` within each budget, -1 when none is;
    whether the budget exceeds the dearest configuration the counts cover, `max_cost`)."""
    b = np.asarray(budgets, dtype=np.float64)
    idx = np.searchsorted(costs, b * (1.0 + RTOL), side="right") - 1
    return idx, b > max_cost * (1.0 + RTOL)


def _pareto(cost: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Indices of the points, in increasing cost, that beat every cheaper point."""
    order = np.lexsort((-value, cost))
    v = value[order]
    prev = np.maximum.accumulate(np.r_[-np.inf, v[:-1]])
    return order[v > prev]


def _along_k(family, model, cost_k, value_k, budgets) -> Choice:
    """A one-model strategy whose configuration is k = 1..K with nondecreasing cost."""
    keep = _pareto(cost_k, value_k)
    idx, capped = _affordable(budgets, cost_k[keep], float(cost_k[-1]))
    ok = idx >= 0
    pick = keep[np.clip(idx, 0, None)]
    ks = np.where(ok, pick + 1, -1)[:, None]
    return Choice(family, (model,), ks, np.where(ok, value_k[pick], np.nan),
                  np.where(ok, cost_k[pick], np.nan), capped & ok)


def single(model: str, fail: np.ndarray, cost: float, budgets) -> Choice:
    """k = floor(B / cost) samples of one model (the paper's pass_flops / pass_time)."""
    k = np.arange(1, fail.shape[1])
    return _along_k("single", model, k * float(cost), 1.0 - fail[:, 1:].mean(axis=0), budgets)


def early_stop(model: str, fail: np.ndarray, cost: float, budgets) -> Choice:
    """Up to k samples of one model, stopping at the first pass; k is the largest whose expected
    cost fits the budget."""
    mean_fail = fail.mean(axis=0)
    expected = np.cumsum(mean_fail)[:-1] * float(cost)  # k = 1..K: sum_{j<k} f[j]
    return _along_k("early_stop", model, expected, 1.0 - mean_fail[1:], budgets)


def pass_table(fa: np.ndarray, fb: np.ndarray) -> np.ndarray:
    """pass[ka, kb] = mean_p (1 - f_a[p, ka] f_b[p, kb]): every configuration of a mix or a
    cascade of two models in one matrix product [Ka + 1, Kb + 1]."""
    return 1.0 - (fa.T @ fb) / fa.shape[0]


def _two_model(family, models, fa, fb, ca, cb, budgets, expected_b=None, table=None) -> Choice:
    """Best (k_a, k_b) per budget: for every k_a, k_b is the most the rest of the budget buys
    (pass is nondecreasing in k_b), and the best k_a wins. `expected_b[k_a]`: the probability
    that model b is called at all (cascades); 1 for mixes. `table`: `pass_table(fa, fb)`."""
    budgets = np.asarray(budgets, dtype=np.float64)
    kb_max = fb.shape[1] - 1
    # row ka of `flat` holds a sentinel -inf (kb = -1: beyond the budget), then pass of
    # (ka, 0..Kb); (0, 0) buys nothing
    table = pass_table(fa, fb) if table is None else table
    width = kb_max + 2
    flat = np.empty((table.shape[0], width), dtype=np.float32)  # for the search; values exact
    flat[:, 0] = -np.inf
    flat[:, 1:] = table
    flat[0, 1] = -np.inf
    flat = flat.ravel()
    ka_all = np.arange(fa.shape[1])
    call_b = np.ones(ka_all.size) if expected_b is None else np.asarray(expected_b)
    unit_b = cb * call_b  # expected cost of one sample of b after k_a samples of a
    free = unit_b <= 0  # every problem already solved for sure: b's samples cost nothing
    inv_b = np.where(free, 0.0, 1.0 / np.where(free, 1.0, unit_b))
    off_b = ka_all * ca * inv_b  # kb = floor(b * inv_b - off_b)
    max_cost = float(np.max(ka_all * ca + kb_max * unit_b))
    ks = np.full((budgets.size, 2), -1)
    value = np.full(budgets.size, np.nan)
    spent = np.full(budgets.size, np.nan)
    for start in range(0, budgets.size, CHUNK):  # chunks bound memory; no loop over samples
        b = budgets[start:start + CHUNK, None] * (1.0 + RTOL)
        top = int(min(ka_all[-1], np.floor(b.max() / ca)))
        inv, off = inv_b[:top + 1], off_b[:top + 1]
        kb = np.floor(b * inv - off)
        np.clip(kb, -1, kb_max, out=kb)
        if free[:top + 1].any():
            cols = np.flatnonzero(free[:top + 1])
            kb[:, cols] = np.where(b >= cols * ca, kb_max, -1)
        kb += (np.arange(top + 1) * width + 1)[None, :]
        idx = kb.astype(np.int32)
        v = flat[idx]
        best = np.argmax(v, axis=1)
        rows = np.arange(b.shape[0])
        good = np.isfinite(v[rows, best])
        kb_best = idx[rows, best] - best * width - 1
        sl = slice(start, start + b.shape[0])
        ks[sl] = np.where(good[:, None], np.c_[best, kb_best], -1)
        value[sl] = np.where(good, table[best, np.clip(kb_best, 0, kb_max)], np.nan)
        spent[sl] = np.where(good, best * ca + kb_best * unit_b[best], np.nan)
    capped = (budgets > max_cost * (1.0 + RTOL)) & (ks[:, 0] >= 0)
    return Choice(family, tuple(models), ks, value, spent, capped)


def mix(models, fails, costs, budgets, table=None) -> Choice:
    """k_A samples of model A plus k_B of model B within the budget (two models; see `mix_grid`
    for more). `table`: `pass_table(f_A, f_B)`, if already computed."""
    (a, b), (fa, fb), (ca, cb) = models, fails, costs
    if ca < cb:  # loop over the dearer model's k: fewer of them are affordable
        out = _two_model("mix", (b, a), fb, fa, cb, ca, budgets,
                         table=None if table is None else table.T)
        return Choice("mix", (a, b), out.ks[:, ::-1].copy(), out.value, out.spent, out.capped)
    return _two_model("mix", (a, b), fa, fb, ca, cb, budgets, table=table)


def cascade(models, fails, costs, budgets, table=None) -> Choice:
    """k_1 samples of the first model; only for problems where none passes, k_2 of the second.
    `table`: `pass_table(f_1, f_2)`, if already computed."""
    (fa, fb), (ca, cb) = fails, costs
    return _two_model("cascade", models, fa, fb, ca, cb, budgets, expected_b=fa.mean(axis=0),
                      table=table)


def mix_grid(models, fails, costs, budgets, ks_per_model) -> Choice:
    """A mix of any number of models, each taking k from its own list `ks_per_model[m]` (e.g. a
    log-spaced grid, to keep the configurations few): exact at those k."""
    grids = [np.asarray(k, dtype=np.int64) for k in ks_per_model]
    P = fails[0].shape[0]
    prod = np.ones((P, 1))
    for f, k in zip(fails, grids):  # [P, configurations so far x this model's k]
        prod = (prod[:, :, None] * f[:, k][:, None, :]).reshape(P, -1)
    mesh = np.stack([g.ravel() for g in np.meshgrid(*grids, indexing="ij")], axis=1)
    cost = mesh @ np.asarray(costs, dtype=np.float64)
    value = 1.0 - prod.mean(axis=0)
    nonzero = mesh.sum(axis=1) > 0
    keep = np.flatnonzero(nonzero)[_pareto(cost[nonzero], value[nonzero])]
    idx, capped = _affordable(budgets, cost[keep], float(cost.max()))
    ok = idx >= 0
    pick = keep[np.clip(idx, 0, None)]
    return Choice("mix", tuple(models), np.where(ok[:, None], mesh[pick], -1),
                  np.where(ok, value[pick], np.nan), np.where(ok, cost[pick], np.nan),
                  capped & ok)


def success(choice: Choice, fails, rows) -> np.ndarray:
    """Per-problem pass probability [P, len(rows)] of the configurations `choice.ks[rows]`
    (rows must be evaluable); `fails[m]` is the fail curve of `choice.models[m]`."""
    ks = choice.ks[np.asarray(rows)]
    out = np.ones((fails[0].shape[0], ks.shape[0]))
    for m, f in enumerate(fails):
        out *= f[:, ks[:, m]]
    return 1.0 - out


def ranked(model: str, per_problem: np.ndarray, cost: float, budgets) -> Choice:
    """The best-ranked of k = floor(B / cost) samples, without tests: `per_problem[p, k-1]` is
    rank-score@k of problem p (`metrics.rank_score_at_k`)."""
    k = np.arange(1, per_problem.shape[1] + 1)
    return _along_k("ranked", model, k * float(cost), per_problem.mean(axis=0), budgets)


def greedy(model: str, pass_rate: float, cost: float, budgets) -> Choice:
    """One greedy (temperature 0) sample: affordable from one sample's cost; more budget buys
    nothing more."""
    b = np.asarray(budgets, dtype=np.float64)
    ok = b * (1.0 + RTOL) >= cost
    return Choice("greedy", (model,), np.where(ok, 1, -1)[:, None],
                  np.where(ok, float(pass_rate), np.nan), np.where(ok, float(cost), np.nan),
                  np.zeros(b.size, dtype=bool))


def label(family: str, models, ks) -> tuple[str, str]:
    """(strategy, configuration) of a choice: a mix or cascade that uses one model only is that
    model's single-model strategy, so equal configurations get equal labels."""
    used = [(m, int(k)) for m, k in zip(models, ks) if k > 0]
    if family in ("mix", "cascade") and len(used) == 1 or family == "early_stop" and ks[0] == 1:
        family = "single"
    if family == "mix" and len(used) < len(models):
        family, models = "mix", [m for m, _ in used]
    names = "+".join(m for m, _ in used) if family == "mix" else "->".join(models)
    strategy = f"{family} {names}" if family != "single" else f"single {used[0][0]}"
    if family == "single":
        return strategy, f"{used[0][0]} x{used[0][1]}"
    if family == "early_stop":
        return strategy, f"{models[0]} up to x{int(ks[0])}, stop at first pass"
    if family == "mix":
        return strategy, " + ".join(f"{m} x{k}" for m, k in used)
    if family == "cascade":
        return strategy, f"{models[0]} x{int(ks[0])}, then {models[1]} x{int(ks[1])} if none passes"
    if family == "ranked":
        return strategy, f"{models[0]} best-ranked of {int(ks[0])}"
    return strategy, f"{models[0]} greedy"


def configs(choice: Choice, rows) -> np.ndarray:
    """`label(...)[1]` for many budgets at once (vectorised string building): array of str."""
    ks = choice.ks[np.asarray(rows)]
    if choice.family in ("single", "early_stop", "ranked", "greedy"):
        k = ks[:, 0].astype(str)
        m = choice.models[0]
        if choice.family == "early_stop":
            out = np.char.add(np.char.add(f"{m} up to x", k), ", stop at first pass")
            return np.where(ks[:, 0] == 1, f"{m} x1", out)
        if choice.family == "ranked":
            return np.char.add(f"{m} best-ranked of ", k)
        if choice.family == "greedy":
            return np.full(ks.shape[0], f"{m} greedy")
        return np.char.add(f"{m} x", k)
    parts = [np.where(ks[:, j] > 0, np.char.add(f"{m} x", ks[:, j].astype(str)), "")
             for j, m in enumerate(choice.models)]
    if choice.family == "cascade":
        both = (ks[:, 0] > 0) & (ks[:, 1] > 0)
        joined = np.char.add(np.char.add(np.char.add(parts[0], ", then "), parts[1]),
                             " if none passes")
        return np.where(both, joined, np.char.add(parts[0], parts[1]))
    out = parts[0]
    for p in parts[1:]:
        sep = np.where((np.char.str_len(out) > 0) & (np.char.str_len(p) > 0), " + ", "")
        out = np.char.add(np.char.add(out, sep), p)
    return out
