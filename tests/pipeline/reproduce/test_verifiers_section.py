"""Section 7 of the reproduction report: its sentences follow the numbers they describe."""

from __future__ import annotations

import pandas as pd

from pipeline.reproduce import verifiers


def pt(v):
    return {"value": v, "lo": v - 1, "hi": v + 1, "se": None}


def fp_rows(rates: dict, ci: float = 0.02):
    rows = []
    for model, (overall, by) in rates.items():
        for level, r in [("all", overall)] + list(zip(("easy", "medium", "hard"), by)):
            rows.append({"model": model, "benchmark": "humaneval+", "difficulty": level,
                         "problems": 10, "samples": 100, "base_passes": 50,
                         "plus_passes": int(50 * (1 - r)), "false_positive_rate": r,
                         "false_positive_rate_ci_low": r - ci, "false_positive_rate_ci_high": r + ci})
    return pd.DataFrame(rows)


def result(pass_pairs, rates, crossovers=None):
    models = list(pass_pairs)
    return {"run_dir": "r", "models": models, "ks": [1],
            "pass": {m: {1: (pt(b), pt(p))} for m, (b, p) in pass_pairs.items()},
            "fp": fp_rows(rates), "crossovers": crossovers if crossovers is not None else pd.DataFrame(),
            "suite": {"min": 1, "median": 50, "max": 50, "total": 100, "tasks": 2,
                      "digest": "0" * 64, "seconds": 1.0,
                      "generator": {"name": "g", "evalplus": "0.3.1", "seed": 0, "attempts": 9},
                      "dropped": {"contract": 1, "disagree": 0, "error": 0, "render": 0}},
            "cost": {"samples": 10, "base_runs": 10, "base_ms": 100.0, "ext_runs": 5,
                     "ext_ms": 50.0, "base_passes": 5}}


def test_a_drop_for_every_model_is_said_so_and_a_rise_is_not_hidden():
    down = result({"a": (30.0, 25.0), "b": (50.0, 47.0)}, {"a": (0.2, (0.1, 0.2, 0.3)),
                                                            "b": (0.1, (0.1, 0.1, 0.1))})
    assert "lower for every model" in " ".join(verifiers._drops(down))
    mixed = result({"a": (30.0, 25.0), "b": (50.0, 50.0)}, {"a": (0.2, (0.1, 0.2, 0.3)),
                                                             "b": (0.0, (0.0, 0.0, 0.0))})
    assert "not lower for every model" in " ".join(verifiers._drops(mixed))


def test_the_size_trend_and_the_ci_overlap_are_read_from_the_rates():
    falling = result({"1b": (1, 1), "3b": (1, 1), "7b": (1, 1)},
                     {"1b": (0.30, (0.1, 0.3, 0.5)), "3b": (0.20, (0.1, 0.2, 0.3)),
                      "7b": (0.10, (0.05, 0.1, 0.2))})
    text = " ".join(verifiers._fp_sentences(falling))
    assert "falls at every step" in text and "do not overlap" in text
    assert "1b: the rate is highest on the hard third" in text
    flat = result({"1b": (1, 1), "7b": (1, 1)}, {"1b": (0.10, (0.1, 0.1, 0.1)),
                                                  "7b": (0.11, (0.1, 0.1, 0.1))})
    text = " ".join(verifiers._fp_sentences(flat))
    assert "rises at every step" in text and "overlap: these runs do not separate" in text


def test_crossovers_say_whether_the_choice_changes_with_the_verifier():
    same = pd.DataFrame([{"metric": "pass_flops", "smaller": "1b", "larger": "7b",
                          "smaller_wins_fraction_base": 0.0, "smaller_wins_from_budget_base": None,
                          "smaller_wins_fraction_plus": 0.0, "smaller_wins_from_budget_plus": None,
                          "cost_ratio": 6.5}])
    r = result({"1b": (1, 1), "7b": (1, 1)}, {"1b": (0.1, (0.1,) * 3), "7b": (0.1, (0.1,) * 3)},
               same)
    assert "is the same under both verifiers" in " ".join(verifiers._crossover_sentences(r))
    flip = same.assign(smaller_wins_fraction_plus=0.5, smaller_wins_from_budget_plus=8.0)
    r["crossovers"] = flip
    assert "changes for 1 pair" in " ".join(verifiers._crossover_sentences(r))


def test_section_7_is_spliced_in_place_or_appended():
    from pipeline.reproduce.document import splice

    doc = "# R\n\n## 6. Six\nsix\n\n## 7. Old\nold\n\n## 8. Eight\neight\n"
    out = splice(doc, "## 7. New\nnew\n\n")
    assert out == "# R\n\n## 6. Six\nsix\n\n## 7. New\nnew\n\n## 8. Eight\neight\n"
    assert splice("# R\n\n## 6. Six\n", "## 7. New\n") == "# R\n\n## 6. Six\n\n## 7. New\n"


def test_the_reading_states_the_largest_drop_and_whether_the_verifier_changes_the_choice():
    same = pd.DataFrame([{"metric": "pass_flops", "smaller": "1b", "larger": "7b",
                          "smaller_wins_fraction_base": 0.0, "smaller_wins_from_budget_base": None,
                          "smaller_wins_fraction_plus": 0.0, "smaller_wins_from_budget_plus": None,
                          "cost_ratio": 6.5}])
    star = result({"1b": (20.0, 19.5), "7b": (40.0, 37.0)},
                  {"1b": (0.02, (0.02,) * 3), "7b": (0.08, (0.08,) * 3)}, same)
    text = " ".join(verifiers.claim([star], star))
    assert "at most 3.0 points" in text and "below the 95 % CI" in text  # 37.0 < 39.0
    assert "does not change that" in text
    assert "1b loses no more pass@k points to the extension than 7b" in text
