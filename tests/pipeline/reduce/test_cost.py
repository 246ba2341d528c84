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


def test_seconds_per_sample_is_total_generation_time_over_rows():
    samples = pa.table({"model": ["a", "a", "b"], "gen_seconds": [1.0, 3.0, 5.0]})
    assert cost.seconds_per_sample(samples) == {"a": 2.0, "b": 5.0}


def test_models_without_measured_time_get_no_time_cost():
    samples = pa.table({"model": ["a", "b"], "gen_seconds": [0.0, 2.0]})
    assert cost.seconds_per_sample(samples) == {"b": 2.0}


def test_normalised_cost_divides_by_the_cheapest_model():
    assert cost.normalise({"7b": 1.69, "70b": 17.60, "x": None}) == pytest.approx(
        {"7b": 1.0, "70b": 17.60 / 1.69}
    )
    with pytest.raises(cost.CostError, match="positive"):
        cost.normalise({"a": 0.0, "b": 1.0})


def test_model_costs_use_supplied_seconds_over_measured_ones():
    samples = pa.table({"model": ["a", "b"], "gen_seconds": [2.0, 4.0]})
    flops, secs = cost.model_costs(
        ["a", "b"], {"a": ModelCost(flops_per_pass=1e9, seconds_per_sample=9.0)}, samples
    )
    assert flops == {"a": 1e9, "b": None}
    assert secs == {"a": 9.0, "b": 4.0}
