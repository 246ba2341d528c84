"""Model-facing code: generation of n samples per problem and NLL scoring, with vLLM.

Role in the pipeline: what the run's generate and score actors (`pipeline.run.actors`) hold.
Imports only `schemas` (never `pipeline` or `sandbox`) and never Ray.

* `workers.engine`      - `EngineConfig` (vLLM settings) and the CPU build's environment
* `workers.generate`    - `Generator`: a shard of problems -> a `samples` table
* `workers.score`       - `Scorer`: mean NLL of each completion (one prompt-logprob pass)
* `workers.models`      - model resolution: a local directory, a Hugging Face id, the packaged
                          SmolLM2-135M (converted once), or the tiny test model
* `workers.tiny_model`  - the tiny random Llama built on the fly for tests
* `workers.files`       - model directories that appear only complete
* `workers.postprocess` - opt-in completion post-processing
"""
