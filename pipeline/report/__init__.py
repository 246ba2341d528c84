"""Writers: curves, Markdown/CSV tables, figures and the advisor's outputs.

Role in the pipeline: reads what `pipeline.reduce` computed (a run's `Reduced`, paper mode's
curves, the advisor's `Advice`) or a run directory, and writes what people look at. It runs no
stage and no experiment (those are `pipeline.jobs` and `pipeline.reproduce`). Modules:

* `outputs`   - the one writer of curves.parquet, tables/ and figures/ (run, resume, reduce, paper)
* `markdown`  - pass@k, budget and crossover tables (Markdown and CSV)
* `plots`     - the figures (PNG and SVG)
* `advice`    - the advisor's tables, JSON and frontier figures
* `execution` - what a run's execute stage did (statuses, dedup, time, limits), read from its files
* `format`    - shared formatting: a curve point with its interval, percentages
"""
