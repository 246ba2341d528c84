"""Arrow schemas of the pipeline's tables and their validator.

Every writer and reader in the project goes through these: `samples`, `verdicts` and `scores`
share the sample key (run_id, model, benchmark, task_id, sample_idx); `problems` is keyed by
(benchmark, task_id); `probes` holds what execution-based rankers read (outputs on the prompt's examples,
model-written asserts); `curves` is the reducer's long-format output; `manifest` tracks every shard of a run;
`advice` and `advice_curves` are the budget advisor's outputs.
"""

from schemas.tables import (
    ADVICE,
    ADVICE_CURVES,
    CURVES,
    KEY,
    MANIFEST,
    PROBES,
    PROBE_SETS,
    PROBLEMS,
    SAMPLES,
    SCHEMA_VERSION,
    SCORES,
    SHARD_STATES,
    STAGES,
    TABLES,
    VERDICTS,
    VERDICT_STATUSES,
)
from schemas.validate import (
    SchemaError, conform, empty, from_pandas, from_rows, matches, optional_fields, upgrade, validate,
)

__all__ = [
    "ADVICE",
    "ADVICE_CURVES",
    "CURVES",
    "KEY",
    "MANIFEST",
    "PROBES",
    "PROBE_SETS",
    "PROBLEMS",
    "SAMPLES",
    "SCHEMA_VERSION",
    "SCORES",
    "SHARD_STATES",
    "STAGES",
    "TABLES",
    "VERDICTS",
    "VERDICT_STATUSES",
    "SchemaError",
    "conform",
    "empty",
    "from_pandas",
    "from_rows",
    "matches",
    "optional_fields",
    "upgrade",
    "validate",
]
