"""The Arrow schemas: problems, samples, verdicts, scores, probes, curves, manifest, advice,
advice_curves.

A schema carries its table name and version in its metadata, so a Parquet file says what it is.
Bump SCHEMA_VERSION on any incompatible change; readers refuse files of another version.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = "1"

#: Columns identifying one sample; every table after `samples` carries them, joins use them.
KEY = ("run_id", "model", "benchmark", "task_id", "sample_idx")

#: Field metadata key of a nullable column added to a schema after files of its version were
#: written: a file without it reads as if the column were all null (`schemas.validate.upgrade`).
OPTIONAL = b"budget_realloc.optional"

#: Allowed values of verdicts.status. `unjudgeable`: no test failed, but the sample answered
#: with a value that cannot be compared outside its own process (see sandbox.inside.values); counted
#: as not passing, and reported apart by the reducer.
VERDICT_STATUSES = ("pass", "fail", "timeout", "error", "unjudgeable")


def _schema(name: str, fields: list[pa.Field]) -> pa.Schema:
    return pa.schema(
        fields,
        metadata={"budget_realloc.table": name, "budget_realloc.schema_version": SCHEMA_VERSION},
    )


def _strings() -> pa.DataType:
    # Parquet names list items "element"; naming them so here keeps schemas equal after a round trip.
    return pa.list_(pa.field("element", pa.string()))


def _key_fields() -> list[pa.Field]:
    return [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("model", pa.string(), nullable=False),
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("sample_idx", pa.int32(), nullable=False),
    ]


PROBLEMS = _schema(
    "problems",
    [
        pa.field("benchmark", pa.string(), nullable=False),  # humaneval | mbpp | apps
        pa.field("task_id", pa.string(), nullable=False),  # HumanEval/0, MBPP/11, APPS/4000
        pa.field("prompt", pa.string(), nullable=False),  # exact text given to the model
        # HumanEval: the `check` code; MBPP: the asserts joined by newlines; APPS: input_output JSON
        pa.field("tests", pa.string(), nullable=False),
        pa.field("test_setup", pa.string(), nullable=False),  # MBPP test_setup_code, else ""
        pa.field("entry_point", pa.string(), nullable=True),  # function name / APPS fn_name
        # function (HumanEval: prompt+completion+check), assert (MBPP), stdin / call (APPS)
        pa.field("io_kind", pa.string(), nullable=False),
        pa.field("difficulty", pa.string(), nullable=True),  # APPS: introductory|interview|competition
        pa.field("fewshot_ids", _strings(), nullable=False),
        pa.field("stop", _strings(), nullable=False),  # stop sequences for generation
        pa.field("reference", pa.string(), nullable=True),  # a reference solution, as a completion
        pa.field("starter_code", pa.string(), nullable=False),  # APPS starter code, else ""
        # extended tests (humaneval+): `check(candidate)` code over generated inputs, run as a
        # second `function` job where the base tests passed; null: the benchmark has none
        pa.field("plus_tests", pa.string(), nullable=True, metadata={OPTIONAL: b"1"}),
    ],
)

SAMPLES = _schema(
    "samples",
    _key_fields()
    + [
        pa.field("seed", pa.int64(), nullable=False),
        pa.field("temperature", pa.float32(), nullable=False),  # 0 for greedy
        pa.field("completion", pa.string(), nullable=False),  # generated text, stop excluded
        pa.field("n_tokens", pa.int32(), nullable=False),  # generated tokens
        pa.field("finish_reason", pa.string(), nullable=False),  # stop | length
        pa.field("gen_seconds", pa.float64(), nullable=False),  # wall seconds for this sample
        # the model's whole reply when the prompt style is `instruct` (`completion` is then the
        # code extracted from it); null for raw prompts and imported samples. Added after files
        # of version 1 were written: files without it read with nulls (`OPTIONAL`).
        pa.field("reply", pa.string(), nullable=True, metadata={OPTIONAL: b"1"}),
    ],
)

VERDICTS = _schema(
    "verdicts",
    _key_fields()
    + [
        pa.field("status", pa.string(), nullable=False),  # one of VERDICT_STATUSES
        pa.field("tests_passed", pa.int32(), nullable=False),
        pa.field("tests_total", pa.int32(), nullable=False),
        pa.field("detail", pa.string(), nullable=False),  # first error line, "" on pass
        pa.field("exec_ms", pa.float64(), nullable=False),  # wall ms the program ran (0: cached)
        pa.field("cached", pa.bool_(), nullable=False),  # verdict fanned out from an identical program
        # the verdict on the base tests plus the problem's extended tests (`plus_tests`): the
        # extension's status where `status` is pass, else `status` itself; null where the
        # problem has no extended tests
        pa.field("plus_status", pa.string(), nullable=True, metadata={OPTIONAL: b"1"}),
        pa.field("plus_detail", pa.string(), nullable=True, metadata={OPTIONAL: b"1"}),
        # wall ms the extension ran (0: cached or not run); null without extended tests
        pa.field("plus_exec_ms", pa.float64(), nullable=True, metadata={OPTIONAL: b"1"}),
    ],
)

SCORES = _schema(
    "scores",
    _key_fields()
    + [
        pa.field("ranker", pa.string(), nullable=False),  # model that scored the completion
        pa.field("mean_nll", pa.float64(), nullable=False),  # lower is better
        pa.field("n_tokens", pa.int32(), nullable=False),  # completion tokens scored
        pa.field("truncated", pa.bool_(), nullable=False),  # hit the token limit without finishing
    ],
)

#: Allowed values of probes.probe_set: the inputs shown in the prompt (HumanEval docstring
#: `>>>` examples, APPS sample inputs of the statement) and model-written asserts (CodeT).
PROBE_SETS = ("prompt_examples", "generated_tests")

#: What the execution-based rankers read (the `probe` stage): one row per sample and probe set,
#: with one entry per probe in the set's order. No hidden test is ever run to fill it.
PROBES = _schema(
    "probes",
    _key_fields()
    + [
        pa.field("probe_set", pa.string(), nullable=False),  # one of PROBE_SETS
        # per probe: "v:<canonical value>" (the returned value, or stdout for stdin programs,
        # rebuilt on the trusted side), "raise:<ExceptionName>", "timeout"; for an assert
        # probe "pass" | "fail" | "raise:<Name>" | "timeout"
        pa.field("outcomes", _strings(), nullable=False),
        # per probe: the outcome agrees with the output shown in the prompt / the assert held;
        # null where the probe has no expected output
        pa.field("matches", pa.list_(pa.field("element", pa.bool_())), nullable=False),
        pa.field("exec_ms", pa.float64(), nullable=False),  # sandbox time of this sample's run
        pa.field("cached", pa.bool_(), nullable=False),  # fanned out from an identical program
    ],
)

CURVES = _schema(
    "curves",
    [
        pa.field("model", pa.string(), nullable=False),
        pa.field("benchmark", pa.string(), nullable=False),
        # pass@k | pass_flops | pass_time | rank_score | greedy_pass@1
        pa.field("metric", pa.string(), nullable=False),
        pa.field("x", pa.float64(), nullable=False),  # k, or a normalised budget
        pa.field("k", pa.int32(), nullable=False),  # samples the point stands for
        pa.field("value", pa.float64(), nullable=False),  # in [0, 1]
        pa.field("ci_low", pa.float64(), nullable=True),
        pa.field("ci_high", pa.float64(), nullable=True),
        pa.field("n_problems", pa.int32(), nullable=False),
        pa.field("ranker", pa.string(), nullable=True),  # rank_score only
        # Monte Carlo standard error of `value` (set-dependent rankers' rank-scores where the
        # k-subsets were sampled, not enumerated); null where the value is exact
        pa.field("mc_se", pa.float64(), nullable=True, metadata={OPTIONAL: b"1"}),
    ],
)

#: Stages of a run, in order; every shard of every stage has one manifest row.
STAGES = ("generate", "execute", "score", "probe", "reduce")
SHARD_STATES = ("pending", "running", "done", "failed")

MANIFEST = _schema(
    "manifest",
    [
        pa.field("stage", pa.string(), nullable=False),  # one of STAGES
        pa.field("shard", pa.string(), nullable=False),  # e.g. smollm2/humaneval/sampled-00003
        pa.field("model", pa.string(), nullable=False),
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("path", pa.string(), nullable=False),  # output file, relative to the run dir
        pa.field("state", pa.string(), nullable=False),  # one of SHARD_STATES
        pa.field("attempts", pa.int32(), nullable=False),
        pa.field("error", pa.string(), nullable=False),  # last error, "" if none
        pa.field("rows", pa.int64(), nullable=False),  # rows in the output file when done
        pa.field("seconds", pa.float64(), nullable=False),  # wall time of the last attempt
    ],
)

#: The budget advisor's table (pipeline.reduce.advise): per benchmark, setting, unit and budget,
#: the best strategy and its uncertainty.
ADVICE = _schema(
    "advice",
    [
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("setting", pa.string(), nullable=False),  # tests | no-tests
        pa.field("unit", pa.string(), nullable=False),  # flops | gpu-seconds | dollars
        pa.field("budget", pa.float64(), nullable=False),  # per problem, in `unit`
        pa.field("x", pa.float64(), nullable=False),  # budget / the cheapest model's sample cost
        pa.field("best", pa.string(), nullable=False),  # strategy: family and models
        pa.field("best_config", pa.string(), nullable=False),  # its samples per model
        pa.field("value", pa.float64(), nullable=False),  # pass rate in [0, 1]
        pa.field("ci_low", pa.float64(), nullable=True),
        pa.field("ci_high", pa.float64(), nullable=True),
        pa.field("p_best", pa.float64(), nullable=True),  # share of bootstrap resamples it wins
        pa.field("spent", pa.float64(), nullable=False),  # (expected) cost per problem
        # the budget is above the dearest configuration the counts cover: a lower bound
        pa.field("capped", pa.bool_(), nullable=False),
        pa.field("runner_up", pa.string(), nullable=True),
        pa.field("runner_up_config", pa.string(), nullable=True),
        pa.field("runner_up_value", pa.float64(), nullable=True),
        pa.field("margin", pa.float64(), nullable=True),  # value - runner_up_value
        # the runner-up ties with the best: equal pass rate and cost within a relative 1e-9
        pa.field("tie", pa.bool_(), nullable=True, metadata={OPTIONAL: b"1"}),
        pa.field("n_problems", pa.int32(), nullable=False),  # 0: a published curve, no problems
        pa.field("cost_source", pa.string(), nullable=False),  # where the per-sample costs come from
    ],
)

#: Every strategy's curve behind the advice (its best configuration at each budget).
ADVICE_CURVES = _schema(
    "advice_curves",
    [
        pa.field("benchmark", pa.string(), nullable=False),
        pa.field("setting", pa.string(), nullable=False),
        pa.field("unit", pa.string(), nullable=False),
        pa.field("budget", pa.float64(), nullable=False),
        pa.field("x", pa.float64(), nullable=False),
        pa.field("strategy", pa.string(), nullable=False),
        pa.field("config", pa.string(), nullable=False),
        pa.field("value", pa.float64(), nullable=False),
        pa.field("spent", pa.float64(), nullable=False),
        pa.field("capped", pa.bool_(), nullable=False),
    ],
)

TABLES: dict[str, pa.Schema] = {
    "problems": PROBLEMS,
    "samples": SAMPLES,
    "verdicts": VERDICTS,
    "scores": SCORES,
    "probes": PROBES,
    "curves": CURVES,
    "manifest": MANIFEST,
    "advice": ADVICE,
    "advice_curves": ADVICE_CURVES,
}
