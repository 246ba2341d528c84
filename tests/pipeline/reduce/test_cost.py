"""Specification of the cost model (pipeline.reduce.cost): calflops on meta-device configs, wall time."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest

from pipeline.reduce import cost
from pipeline.reduce.cost import ModelCost

# The paper's Table 1 (Hassid et al. 2024): TFLOPs per forward pass at sequence length 128.
TABLE1_TFLOPS = {"codellama-7b": 1.69, "codellama-13b": 3.29, "codellama-34b": 8.58,
                 "codellama-70b": 17.60}


@pytest.mark.parametrize("preset", sorted(TABLE1_TFLOPS))
def test_calflops_on_the_code_llama_configs_reproduces_table_1_within_half_a_percent(preset):
    tflops = cost.flops_per_forward(preset) / 1e12
    assert tflops == pytest.approx(TABLE1_TFLOPS[preset], rel=0.005)


def test_flops_work_for_any_hugging_face_config_file(tmp_path):
    from transformers import LlamaConfig

    small = LlamaConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                        intermediate_size=256, vocab_size=2048)
    small.save_pretrained(tmp_path)
    from_file = cost.flops_per_forward(str(tmp_path / "config.json"))
    from_dir = cost.flops_per_forward(str(tmp_path))
    assert from_file == from_dir
    # a forward pass costs at least 2 FLOPs per parameter per token (the matmuls)
    params = 2 * (128 * 128 * 4 + 3 * 128 * 256) + 128 * 2048
    assert from_file >= 2 * params * 128


def test_flops_scale_with_sequence_length():
    spec = dict(hidden_size=64, num_hidden_layers=1, num_attention_heads=2, intermediate_size=128,
                vocab_size=512)
    assert cost.flops_per_forward(spec, 256) > 1.9 * cost.flops_per_forward(spec, 128)


def test_model_cost_prefers_given_flops_and_computes_them_from_a_preset():
    assert ModelCost(flops_per_pass=5e12).flops() == 5e12
    assert ModelCost(config="codellama-7b").flops() == pytest.approx(1.69e12, rel=0.005)
    assert ModelCost(seconds_per_sample=0.4).flops() is None


def test_model_cost_rejects_unknown_presets_and_nonpositive_values():
    with pytest.raises(ValueError, match="unknown cost preset"):
        ModelCost(config="codellama-8b")
    with pytest.raises(ValueError):
        ModelCost(flops_per_pass=0)
    with pytest.raises(ValueError):
        ModelCost(name="x", bogus=1)


def test_an_unreadable_config_gives_a_clear_error(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"model_type": "no-such-arch"}))
    with pytest.raises(cost.CostError, match="config"):
        cost.flops_per_forward(str(bad))


def _timed(rows):
    model, bench, temp, secs = zip(*rows)
    return pa.table({"model": list(model), "benchmark": list(bench),
                     "temperature": list(temp), "gen_seconds": list(secs)})


def test_seconds_per_sample_is_the_mean_per_model_and_benchmark_over_sampled_rows():
    samples = _timed([("a", "humaneval", 0.8, 1.0), ("a", "humaneval", 0.8, 3.0),
                      ("a", "apps", 0.6, 20.0), ("a", "humaneval", 0.0, 100.0),  # greedy: left out
                      ("b", "humaneval", 0.8, 5.0)])
    assert cost.seconds_per_sample(samples) == {
        ("a", "humaneval"): 2.0, ("a", "apps"): 20.0, ("b", "humaneval"): 5.0}


def test_pairs_without_measured_time_get_no_time_cost():
    samples = _timed([("a", "mbpp", 0.8, 0.0), ("b", "mbpp", 0.8, 2.0)])
    assert cost.seconds_per_sample(samples) == {("b", "mbpp"): 2.0}


def test_normalised_cost_divides_by_the_cheapest_model():
    assert cost.normalise({"7b": 1.69, "70b": 17.60, "x": None}) == pytest.approx(
        {"7b": 1.0, "70b": 17.60 / 1.69}
    )
    with pytest.raises(cost.CostError, match="positive"):
        cost.normalise({"a": 0.0, "b": 1.0})


def test_curve_costs_use_supplied_seconds_over_measured_ones_and_say_where_each_came_from():
    samples = _timed([("a", "mbpp", 0.8, 2.0), ("b", "mbpp", 0.8, 4.0), ("b", "apps", 0.8, 40.0),
                      ("b", "apps", 0.0, 1.0)])
    got = cost.curve_costs(
        [("a", "mbpp"), ("b", "mbpp"), ("b", "apps"), ("c", "apps")],
        {"a": ModelCost(flops_per_pass=1e9, seconds_per_sample=9.0),
         "b": ModelCost(config="codellama-7b", flops_per_pass=None)}, samples)
    assert got[("a", "mbpp")]["flops"] == cost.Priced(1e9, "config: cost.flops_per_pass")
    assert got[("a", "mbpp")]["time"] == cost.Priced(9.0, "config: cost.seconds_per_sample")
    assert got[("b", "mbpp")]["time"] == cost.Priced(4.0, "measured: mean gen_seconds of 1 sampled samples")
    assert got[("b", "apps")]["time"].value == 40.0  # its own benchmark's samples, greedy excluded
    assert got[("b", "apps")]["flops"].source.startswith("calflops: preset codellama-7b")
    assert got[("b", "apps")]["flops"].value == pytest.approx(1.691e12, rel=2e-3)
    assert got[("c", "apps")]["flops"].value is None and got[("c", "apps")]["time"].value is None
    assert got[("c", "apps")]["time"].source.startswith("none:")


# -- StarCoderBase (GPTBigCode, multi-query attention) ---------------------------------------------
# Published sizes: the model names (StarCoderBase-1B/-3B/-7B, "1B/3B/7B parameter models" on their
# model cards); the Astraios paper (arXiv 2401.00788) lists them as 1B, 3B, 7B (and 16B).
STARCODER_PUBLISHED_B = {"starcoderbase-1b": 1, "starcoderbase-3b": 3, "starcoderbase-7b": 7}


def _starcoder_counts(preset: str, tokens: int) -> tuple[int, float]:
    """(parameters, FLOPs of one forward pass over `tokens`), counted by hand from the config.

    Per layer: c_attn projects to d queries plus ONE key and ONE value head (multi-query), c_proj
    d x d, MLP d x 4d twice, two layer norms; plus token and position embeddings and a final
    norm; the LM head is tied to the token embedding. FLOPs: 2 per weight of every matmul per
    token (the embedding lookups are not matmuls, the tied LM head is), plus attention's two
    T x T x d products per layer (QK^T and AV), 2 FLOPs per multiply-add.
    """
    c = cost.PRESETS[preset]
    d, L, h, ff, V, P = (c["n_embd"], c["n_layer"], c["n_head"], c["n_inner"], c["vocab_size"],
                         c["n_positions"])
    kv = 2 * (d // h)  # one key and one value head
    attn_w, attn_b = d * (d + kv) + d * d, (d + kv) + d
    mlp_w, mlp_b = 2 * d * ff, ff + d
    per_layer = attn_w + attn_b + mlp_w + mlp_b + 2 * 2 * d  # + two layer norms (weight, bias)
    params = L * per_layer + V * d + P * d + 2 * d
    matmul_weights = L * (attn_w + mlp_w) + V * d
    flops = 2 * matmul_weights * tokens + L * 2 * (2 * tokens * tokens * d)
    return params, flops


@pytest.mark.parametrize("preset", sorted(STARCODER_PUBLISHED_B))
def test_starcoderbase_presets_match_an_independent_count_and_the_published_sizes(preset):
    import torch
    from transformers import AutoModelForCausalLM

    params, flops = _starcoder_counts(preset, cost.SEQ_LEN)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(cost.hf_config(preset))
    assert type(model).__name__ == "GPTBigCodeForCausalLM"
    built = sum(p.numel() for p in model.parameters())  # tied LM head counted once
    assert built == params
    # the published size is the rounded parameter count (1.14B, 3.04B, 7.33B)
    assert round(params / 1e9) == STARCODER_PUBLISHED_B[preset]
    assert cost.flops_per_forward(preset) == pytest.approx(flops, rel=0.03)
    assert preset in cost.PRESET_SOURCES


def test_starcoderbase_presets_order_by_size_and_cost_more_than_2_flops_per_weight():
    f1, f3, f7 = (cost.flops_per_forward(f"starcoderbase-{s}") for s in ("1b", "3b", "7b"))
    assert f1 < f3 < f7
    assert f7 / f1 == pytest.approx(_starcoder_counts("starcoderbase-7b", 128)[1]
                                    / _starcoder_counts("starcoderbase-1b", 128)[1], rel=0.03)
    assert ModelCost(config="starcoderbase-7b").flops() == f7
