"""Files made elsewhere, read against a benchmark's problems: generations, model-written tests, counts.

Role in the pipeline: the data layer between `pipeline.config`/`pipeline.benchmarks` and
`pipeline.run`. Readers here know benchmarks' problems, never a run directory; `pipeline.run`
writes what they return into runs (`importers`, `counts_import`, `generated_tests`). Modules:

* `generations`     - completions jsonl, CodeT and bigcode-evaluation-harness files -> samples by task
* `generated_tests` - CodeT's model-written test files -> `GeneratedTests` per task
* `counts`          - (n, c) per problem from CSV/JSON/jsonl or EvalPlus result files
* `report`          - the import report: what was read, skipped (and why), repeated, missing
"""
