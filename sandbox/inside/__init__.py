"""The fork-server that runs inside each sandbox: standard library only, no other project imports.

Role in the pipeline: `sandbox.forkserver` starts one server per worker inside bwrap or a
docker container (`python3 -s -S`, hash seed 0) and sends it one job per unique program. The
server is not installed there: the host sends this package's module sources as a bundle
(`sandbox.backends.base.server_bundle`), and BOOT registers them under the same names
(`sandbox.inside.*`) with an in-memory importer and calls `loop.main`. The same modules import
on the host, where the tests use them and `sandbox.forkserver` takes its framing from `wire`.

For each HumanEval/MBPP job the server copies the job's tests (message B) from its stdin into a
sealed memfd without parsing them, then forks:

* S1, the sample's *own run* (`own_run`): own session, own uid, rlimits, a private work dir
  (`confine`) and a `seccomp` filter that refuses the kernel stores that outlive a process; it
  runs program + tests in one namespace as the reference harnesses do and reports five small
  numbers. Its `fail` is final; a claimed `pass` is only taken as a reason to judge: every
  process of the uid is killed and its files removed, then
* S, the *sample* process (`sample`; same uid, a fresh fork that never saw the tests): it loads
  the program and then only answers calls (function harnesses) or runs the program on one test
  input (APPS);
* J, the *judge* process (`judge`), under another uid (`uid + 1`): it reads the tests from the
  memfd, evaluates the asserts with stubs that call into S over a pipe, and compares values
  rebuilt from S's tagged answers with its own types only (`values`). S cannot reach J (other
  uid: no signals, no ptrace, no /proc/J/fd) and J reports to the server on a pipe S never
  had, so printing a marker, exiting early, walking stack frames or returning objects whose
  methods lie cannot fake a pass: a verdict is `pass` only when J saw every test pass.

`watch` holds a running job to its limits (CPU seconds of S, blocked seconds, a wall-clock
backstop) and turns J's report into a verdict; `jobs` and `probes` are the runners that `loop`
dispatches to by job kind. After each job every process of both uids is killed and the files
they left are removed (`confine.reap`).

Protocol on stdin/stdout (`wire`): each message is a 4-byte big-endian length and a JSON body.
The first message is the server config; then each job is message A (program, kind, limits;
read by the server) immediately followed by message B (the tests; read only by S1 and J). The
server answers each job with one message: {"status", "passed", "total", "detail", "exec_ms",
"cpu_s"} (probe jobs add "outcomes" and "matches").

Modules: `wire` (framing), `values` (encode / decode), `confine` (limits, uids, reaping),
`seccomp`, `sample` (S), `own_run` (S1), `judge` (J), `watch` (limits, verdict), `jobs`
(calls and APPS runners), `probes` (probe runners), `loop` (main, dispatch, zygotes).
Shared state lives in one module each and is changed in place, never rebound: `confine.CFG`,
`seccomp.PRCTL`, `own_run.OWN_CPU`, `loop.ZYGOTES`.
"""
