"""Experiments behind docs/REPRODUCTION.md: they run pipelines and the sandbox, then report.

Role in the pipeline: the one package (beside `bench/`) whose code runs experiments to write a
document; `pipeline.report` only reads run directories. `python -m pipeline.reproduce.document
--out docs/REPRODUCTION.md` (`make reproduce-doc`) renders the report from the runs that
`make reproduce` made. Modules:

* `document`     - the report: CodeGen-16B and SmolLM2 sections, the slice run, rendering
* `astraios`     - StarCoderBase 1B/3B/7B (astraios generations), the harness-header effect
* `rankers`      - section 6: rankers without the hidden tests vs CodeT's published numbers
* `codet_method` - CodeT's own data flow re-expressed, to check the dual-agreement ranker
* `advice`       - section 5: the budget advisor on the runs and on the paper's tables
* `findings`     - sentences derived from the numbers (every finding decided by them)
"""
