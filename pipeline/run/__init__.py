"""Run bookkeeping and execution: from a config to shard files on disk or object storage.

Role in the pipeline: everything between "here is a config" and "every stage's files are
written". How a shard gets executed: `orchestrator` (the driver: plan shards, walk the stage
table, retry, keep the manifest) -> `actors` (`ExecuteActor.run` holds a `sandbox.executor.Executor`)
-> `sandbox`. Modules:

* `stages`       - the stage table: name, input/output table, actor kind (one row per stage)
* `shards`       - which shards a run has and where each shard's files live
* `actors`       - the actor classes that run shards (generate, execute, score) and their factory
* `scheduler`    - Ray or in-process, behind one interface
* `orchestrator` - the driver: preflight, streaming stages, retries, manifest
* `problems`     - the problems a run holds (a benchmark's table narrowed by the subset)
* `rundir`       - run directory layout, frozen config, manifest, reconcile from files
* `storage`      - atomic Parquet I/O on local paths or pyarrow filesystem URIs
* `importers`    - generations made elsewhere (read by `pipeline.sources`) -> a run's samples shards
* `counts_import` - per-problem counts made elsewhere -> a run directory
* `generated_tests` - a run's frozen copy of its model-written tests
* `status`       - per-stage counts from the files (writes nothing)
* `faults`       - crash points for recovery tests
"""
