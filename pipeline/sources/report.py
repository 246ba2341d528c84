"""What an import of generation files read, kept and left out (`pipeline.run.importers`, `pipeline.sources`).

`ImportReport.describe()` is printed by `import-samples` / `run --from-samples`, and
`as_dict()` is written to RUN_DIR/imports/MODEL-BENCHMARK.json, where the reproduction report
reads it back. Nothing is dropped silently: every skipped record is listed with its reason and
line, and every whole-program sample that did not start with its problem's prompt is named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

@dataclass
class Skipped:
    """One thing left out of an import, and why."""

    line: int  # 1-based line of a jsonl file, or the 0-based element of a bigcode list
    reason: str  # short category, e.g. "unknown task"
    detail: str = ""


@dataclass
class ImportReport:
    """What an import read, kept, and left out (with reasons); `describe()` prints it."""

    path: str
    format: str
    benchmark: str
    lines: int = 0  # records read (jsonl lines / list elements)
    samples_read: int = 0  # candidate samples seen in those records
    per_task: dict[str, int] = field(default_factory=dict)  # samples kept per task
    skipped: list[Skipped] = field(default_factory=list)
    prompt_stripped: int = 0  # samples that started with the prompt, which was removed
    # whole-program samples (bigcode, evalplus `solution`) that did not start with their
    # problem's prompt, named "TASK_ID#SAMPLE": kept whole (see `pipeline.run.importers`)
    without_prompt: list[str] = field(default_factory=list)
    beyond_n: int = 0  # samples past the run's n for their task (not imported)
    short_tasks: dict[str, int] = field(default_factory=dict)  # tasks with fewer than n samples
    missing_tasks: list[str] = field(default_factory=list)  # run tasks with no sample at all
    outside_subset: int = 0  # samples of tasks that are not in the run's subset
    repeats: int = 0  # identical (task, completion) pairs kept as separate samples

    @property
    def imported(self) -> int:
        return sum(self.per_task.values())

    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def describe(self, shown: int = 5) -> str:
        lines = [
            f"{self.path} ({self.format}, {self.benchmark}): {self.lines} records, "
            f"{self.samples_read} samples read, {self.imported} imported for "
            f"{len(self.per_task)} tasks"
        ]
        if self.prompt_stripped:
            lines.append(f"  {self.prompt_stripped} samples started with the prompt; it was removed")
        if self.without_prompt:
            lines.append(f"  {len(self.without_prompt)} whole-program samples did not start with "
                         f"their prompt (kept whole): {', '.join(self.without_prompt[:shown])}")
        if self.repeats:
            lines.append(f"  {self.repeats} samples repeat an earlier sample of their task "
                         "(kept: repeated samples are legitimate at T > 0)")
        if self.outside_subset:
            lines.append(f"  {self.outside_subset} samples belong to tasks outside the run's subset "
                         "(not imported)")
        if self.beyond_n:
            lines.append(f"  {self.beyond_n} samples beyond the run's n per task (not imported)")
        if self.short_tasks:
            some = ", ".join(f"{t}={c}" for t, c in list(self.short_tasks.items())[:shown])
            lines.append(f"  {len(self.short_tasks)} tasks have fewer than n samples ({some})")
        if self.missing_tasks:
            lines.append(f"  {len(self.missing_tasks)} run tasks have no samples "
                         f"({', '.join(self.missing_tasks[:shown])})")
        for reason, count in sorted(self.skipped_by_reason().items()):
            where = [s for s in self.skipped if s.reason == reason][:shown]
            unit = "element" if self.format == "bigcode" else "line"
            lines.append(f"  skipped {count} ({reason}): " + "; ".join(
                f"{unit} {s.line}{': ' + s.detail if s.detail else ''}" for s in where))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "format": self.format, "benchmark": self.benchmark,
            "lines": self.lines, "samples_read": self.samples_read, "imported": self.imported,
            "tasks": len(self.per_task), "prompt_stripped": self.prompt_stripped,
            "without_prompt": self.without_prompt,
            "repeats": self.repeats, "outside_subset": self.outside_subset,
            "beyond_n": self.beyond_n, "short_tasks": self.short_tasks,
            "missing_tasks": self.missing_tasks, "skipped_by_reason": self.skipped_by_reason(),
            "skipped": [vars(s) for s in self.skipped],
        }
