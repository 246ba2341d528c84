"""budget-realloc pipeline: config, benchmarks and prompts, run directory, orchestration on Ray,
reducer and metrics, CLI and the results query API.

Reproduces Hassid et al. 2024, "The Larger the Better? Improved LLM Code-Generation via Budget
Reallocation": with a fixed compute budget, is it better to sample a small code model many times
or a large one a few times?
"""

__version__ = "0.1.0"
