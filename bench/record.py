"""The benchmarks page: each bench/ script writes its own row of docs/benchmarks.md.

Role: shared by the speed measurements in bench/ (not a test, not part of the pipeline). At the
end of a run a script calls `record(script, command, result_text, load_before, load_after)`,
which rewrites that script's row of the table between the markers in docs/benchmarks.md and
keeps every other row as it is. A row holds the command, the date (UTC), the machine (cores and
the CPU model from /proc/cpuinfo), the load average before and after, and the script's headline
result (its ratio and the agreement it checked). A row whose 1-minute load average before the
run was 0.5 or more is marked "under load": its ratio was measured on a busy machine.

Nothing is written when the script was given `--no-record` or when BUDGET_REALLOC_BENCH_NO_RECORD
is set to anything but "" or "0" (test and CI runs of a script leave the page alone).

    from bench.record import add_no_record, command_line, record   # repo root on sys.path
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "benchmarks.md"
START = "<!-- bench:rows:start (written by bench/record.py; do not edit rows by hand) -->"
END = "<!-- bench:rows:end -->"
HEADER = ("| script | command | date (UTC) | machine | load average (1 min) before / after | result |\n"
          "| --- | --- | --- | --- | --- | --- |")
ENV = "BUDGET_REALLOC_BENCH_NO_RECORD"
#: a 1-minute load average before the run at or above this marks the row "under load"
IDLE_BELOW = 0.5
NOT_MEASURED = "not yet measured on an idle machine"


def add_no_record(parser: argparse.ArgumentParser) -> None:
    """Add the `--no-record` flag (leave docs/benchmarks.md alone) to a script's parser."""
    parser.add_argument("--no-record", action="store_true",
                        help=f"do not write this run's row of docs/benchmarks.md (also: {ENV}=1)")


def enabled(no_record: bool = False) -> bool:
    """Whether a run may write its row: neither `--no-record` nor BUDGET_REALLOC_BENCH_NO_RECORD."""
    return not no_record and "--no-record" not in sys.argv[1:] and os.environ.get(ENV, "") in ("", "0")


def command_line(script: str, argv: Optional[Sequence[str]] = None) -> str:
    """The command that reproduces this run: `.venv/bin/python bench/NAME.py ARGS` (sans --no-record)."""
    args = [a for a in (sys.argv[1:] if argv is None else argv) if a != "--no-record"]
    return " ".join([".venv/bin/python", f"bench/{script}.py", *map(shlex.quote, args)])


def machine() -> str:
    """Cores and CPU model of this machine, e.g. `2 cores, AMD EPYC`."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and ":" in line:
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}"


def _cell(text: str) -> str:
    return re.sub(r"\s+", " ", str(text)).strip().replace("|", "\\|")


def _load(load: Optional[Sequence[float]]) -> str:
    return "-" if load is None else f"{float(load[0]):.2f}"


def row(script: str, command: str, result_text: str, load_before: Optional[Sequence[float]],
        load_after: Optional[Sequence[float]], when: Optional[dt.datetime] = None,
        where: Optional[str] = None) -> str:
    """One table row. `load_*`: os.getloadavg() tuples (only the 1-minute figure is shown)."""
    when = when or dt.datetime.now(dt.timezone.utc)
    load = f"{_load(load_before)} / {_load(load_after)}"
    if load_before is not None and float(load_before[0]) >= IDLE_BELOW:
        load += " (under load)"
    cells = [f"`bench/{script}.py`", f"`{_cell(command)}`", when.strftime("%Y-%m-%d %H:%M"),
             _cell(where or machine()), load, _cell(result_text)]
    return "| " + " | ".join(cells) + " |"


def placeholder(script: str) -> str:
    """The row of a script that has no idle-machine measurement on the page."""
    return f"| `bench/{script}.py` | `.venv/bin/python bench/{script}.py` | - | - | - | {NOT_MEASURED} |"


def _script_of(line: str) -> Optional[str]:
    m = re.match(r"\|\s*`bench/([\w.-]+)\.py`", line)
    return m.group(1) if m else None


def rewrite(text: str, script: str, new_row: str) -> str:
    """`text` (the page) with `script`'s row replaced by `new_row` (added if absent), rows sorted."""
    if START not in text or END not in text:
        raise ValueError(f"{PAGE} has no {START!r} ... {END!r} block")
    before, rest = text.split(START, 1)
    block, after = rest.split(END, 1)
    rows = {s: line for line in block.splitlines() if (s := _script_of(line))}
    rows[script] = new_row
    body = "\n".join(rows[s] for s in sorted(rows))
    return f"{before}{START}\n{HEADER}\n{body}\n{END}{after}"


def record(script: str, command: str, result_text: str, load_before: Optional[Sequence[float]],
           load_after: Optional[Sequence[float]], *, no_record: bool = False,
           page: Path = PAGE) -> bool:
    """Write `script`'s row of docs/benchmarks.md, keeping the other rows; False if disabled."""
    if not enabled(no_record):
        return False
    new = row(script, command, result_text, load_before, load_after)
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text(rewrite(page.read_text(), script, new))
    os.replace(tmp, page)
    print(f"recorded in {page.relative_to(REPO) if page.is_relative_to(REPO) else page}"
          f" (--no-record or {ENV}=1 to skip)", file=sys.stderr)
    return True


def reset(scripts: Sequence[str], page: Path = PAGE) -> None:
    """Put back the placeholder row of each of `scripts` (python bench/record.py --reset NAME ...)."""
    text = page.read_text()
    for s in scripts:
        text = rewrite(text, s, placeholder(s))
    page.write_text(text)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Reset rows of docs/benchmarks.md to the placeholder.")
    ap.add_argument("--reset", nargs="+", metavar="SCRIPT", required=True,
                    help="script names without .py (e.g. sandbox_throughput)")
    reset(ap.parse_args().reset)
