"""Extended tests (EvalPlus-style): generated inputs that make a stronger verifier.

Role in the pipeline: HumanEval's tests are thin, so a pass may be a false positive. This
package builds the extension a benchmark variant carries (`pipeline.benchmarks.humaneval_plus`,
column `plus_tests` of its problems):

* `contracts` reads EvalPlus's per-task input contracts, reference solutions, base inputs and
  float tolerances (`HumanEvalPlus-base-contracts.jsonl`);
* `generate` mutates the base inputs with EvalPlus's type-aware mutation (`child`, in a
  confined subprocess per task), keeps inputs where the contract holds and the references
  agree, and caches the suite with its hash and the generator's version;
* `checks` renders a task's extended inputs as HumanEval-style `check(candidate)` code;

The execute stage runs that code as a second `function` job for every sample that passed the
base tests (`pipeline.run.both_verdicts`), giving each verdict row its `plus_status`.
"""
