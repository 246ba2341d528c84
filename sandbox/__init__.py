"""Execution of untrusted completions against a problem's tests, contained and fast.

Role in the pipeline: the stage between `samples` and `verdicts`. Imports nothing from
`pipeline` or `workers`. How a shard gets executed, top to bottom:

* `sandbox.executor`   - `Executor.execute(problems, samples)` (warm fork-servers, dedup, stats)
                         and the one-off `execute(problems, samples, config)`.
* `sandbox.harness`    - one problem row + one completion -> a job (program assembly per io kind:
                         function, assert, stdin, call), stop-sequence truncation, dedup keys.
* `sandbox.forkserver` - the host side of one fork-server: start it through its backend, send
                         jobs, restart it when it dies.
* `sandbox.backends`   - registry of isolation backends (bwrap, docker, unsafe): check, launch,
                         clean up. Adding one is a module plus a line.
* `sandbox.inside`     - the stdlib-only fork-server that runs inside the sandbox (a package of
                         small modules, sent as a bundle of sources and imported from memory there):
                         sample and judge processes under their own uids, rlimits, reaping.
* `sandbox.config`     - `SandboxConfig`: backend, workers, CPU/wall/memory/process limits.
"""
