"""budget-realloc pipeline: from a run config to curves, tables and figures.

Reproduces Hassid et al. 2024, "The Larger the Better? Improved LLM Code-Generation via Budget
Reallocation": with a fixed compute budget, is it better to sample a small code model many times
or a large one a few times?

Sub-packages, each with one concern (the entry points sit at the top):

* `pipeline.benchmarks` - datasets and prompts; one `Benchmark` per module, in a registry
* `pipeline.run`        - run directory, shards, stage table, actors, scheduler, orchestrator
* `pipeline.reduce`     - metrics, costs, curves
* `pipeline.report`     - Markdown tables, figures, paper mode, the reproduction report
* `cli` (the `budget-realloc` command), `config` (the run config), `results` (the pandas
  query API), `capacity` (the cluster capacity planner)

`pipeline` uses `sandbox` (execution), `workers` (vLLM generation and scoring) and `schemas`
(Arrow tables); none of those imports `pipeline`.
"""

__version__ = "0.1.0"
