"""Numbers: from samples, verdicts and scores to the `curves` table.

Role in the pipeline: the last stage. `metrics` holds the pure, vectorised numpy metrics
(pass@k for every k, rank-score@k, budget curves, bootstrap CIs); `cost` prices a sample per
model (calflops FLOPs presets, config, or measured wall time); `curves` joins the run's tables,
computes every curve and writes curves.parquet, then asks `pipeline.report` for tables and figures.
Adding a metric: a pure function in `metrics` and its rows in `curves.reduce_tables`.
"""
