"""Numbers: from samples, verdicts and scores to the `curves` table and the budget advice.

Role in the pipeline: computes and writes nothing (`pipeline.report` writes, `pipeline.jobs`
calls both). `metrics` holds the pure, vectorised numpy metrics (pass@k for every k,
rank-score@k, budget curves, bootstrap CIs); `cost` prices a sample per model (calflops FLOPs
presets, config, or measured wall time); `curves` joins a run's tables and computes every curve
(`reduce_run` -> `Reduced`); `advise` is the pure budget advisor and `advise_run` feeds it a run
or paper mode's tables; `paper` replays the paper's published Appendix B tables (data in
`data/`). Adding a metric: a pure function in `metrics` and its rows in `curves.reduce_tables`.
"""
