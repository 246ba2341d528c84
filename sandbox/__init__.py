"""Execution of untrusted completions against a problem's tests, contained and fast.

Role in the pipeline: the stage between `samples` and `verdicts`.

* `sandbox.config`   - `SandboxConfig`: backend, workers, CPU/wall/memory/process limits.
* `sandbox.executor` - `execute(problems, samples, config)`, `Executor` (warm workers, dedup,
                       stats), `actor_class()` / `ExecutorActor` for Ray.
* `sandbox.harness`  - program assembly per benchmark (HumanEval, MBPP, APPS stdin/call),
                       truncation, whitespace normalisation, dedup keys.
* `sandbox.worker`   - the host side of one fork-server: start, send jobs, restart.
* `sandbox.backends` - bwrap / docker / unsafe command lines, per-worker cgroups.
* `sandbox.server`   - the stdlib-only fork-server that runs inside the sandbox: sample and
                       judge processes under their own uids, rlimits, reaping.
"""
