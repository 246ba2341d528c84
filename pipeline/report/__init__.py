"""Presentation: Markdown/CSV tables, figures, paper mode and the reproduction report.

Role in the pipeline: reads `curves` tables (from a run or from the paper's published numbers)
and writes what people look at. `markdown` (tables), `plots` (figures), `paper` (the paper's
Appendix B tables replayed under FLOPs or wall-time budgets; its data in `data/`),
`reproduction` (docs/REPRODUCTION.md from real runs).
"""
