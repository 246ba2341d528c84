"""The run directory: where each table lives, the frozen config, and the shard manifest.

```
RUN_DIR/
  config.yaml                     # the resolved config, frozen at start
  manifest.parquet                # one row per (stage, shard): state, attempts, error, rows
  problems/benchmark=B/part-0.parquet
  samples/model=M/benchmark=B/sampled-00042.parquet
  verdicts/...  scores/...        # same names as samples
  curves.parquet  tables/  figures/
```
Files are the source of truth: a shard is done when its output file exists and reads back valid.
The manifest adds attempts and errors, and is rebuilt from the files when they disagree.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import pyarrow as pa

import schemas
from pipeline.run import storage
from pipeline.config import ConfigError, RunConfig, dump, parse
from pipeline.run import stages
from pipeline.run.shards import Shard


@dataclass
class Entry:
    """The manifest row of one (stage, shard)."""

    stage: str
    shard: str
    model: str
    benchmark: str
    path: str
    state: str = "pending"
    attempts: int = 0
    error: str = ""
    rows: int = 0
    seconds: float = 0.0


class RunDir:
    """Paths and bookkeeping of one run directory (local path or pyarrow URI)."""

    def __init__(self, root: str):
        root = str(root).rstrip("/")
        # actors may run in another working directory: keep local paths absolute
        self.root = root if "://" in root else os.path.abspath(root)

    # -- paths ---------------------------------------------------------------------------------
    def uri(self, rel: str) -> str:
        return storage.join(self.root, rel)

    def problems_path(self, benchmark: str) -> str:
        return self.uri(f"problems/benchmark={benchmark}/part-0.parquet")

    def shard_rel(self, stage: str, shard: Shard) -> str:
        return shard.path(stages.get(stage).output)

    def shard_path(self, stage: str, shard: Shard) -> str:
        return self.uri(self.shard_rel(stage, shard))

    @property
    def config_path(self) -> str:
        return self.uri("config.yaml")

    @property
    def manifest_path(self) -> str:
        return self.uri("manifest.parquet")

    # -- config --------------------------------------------------------------------------------
    def freeze_config(self, config: RunConfig) -> None:
        """Write config.yaml, or check that an existing one is the same config.

        Compared as parsed configs, so a field added to the config schema later (with its
        default) does not make an older run directory "different". Only the `reduce` section may
        change between passes (curves are recomputed from the files at the end of every pass):
        config.yaml is then rewritten to the new settings.
        """
        import yaml

        text = dump(config)
        if storage.exists(self.config_path):
            existing = storage.read_text(self.config_path)
            try:
                frozen = parse(yaml.safe_load(existing), self.config_path, counts_only=True)
            except (ConfigError, yaml.YAMLError):
                frozen = None
            if frozen == config:
                return
            if frozen is not None and frozen.model_copy(update={"reduce": config.reduce}) == config:
                storage.write_text(self.config_path, text)  # new reduce settings only
                return
            old, new = dump(frozen).splitlines() if frozen else existing.splitlines(), text.splitlines()
            i = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
            line = lambda lines: lines[i].strip() if i < len(lines) else "(end)"  # noqa: E731
            raise ConfigError(
                f"{self.config_path} holds a different config (line {i + 1}: {line(old)!r} there, "
                f"{line(new)!r} here); use `budget-realloc resume {self.root}` to continue that "
                "run, or choose another output_dir"
            )
        storage.write_text(self.config_path, text)

    def load_config(self, *, counts_only: bool = False) -> RunConfig:
        """The frozen config. `counts_only`: for reading the run's results, where any
        well-formed benchmark name is allowed (`pipeline.config.parse`)."""
        import yaml

        if not storage.exists(self.config_path):
            raise ConfigError(f"{self.config_path}: not found; is {self.root} a run directory?")
        return parse(yaml.safe_load(storage.read_text(self.config_path)), self.config_path,
                     counts_only=counts_only)

    # -- manifest ------------------------------------------------------------------------------
    def read_manifest(self) -> dict[tuple[str, str], Entry]:
        """The manifest as {(stage, shard): Entry}; an unreadable one is treated as empty."""
        if not storage.exists(self.manifest_path):
            return {}
        try:
            table = storage.read_table(self.manifest_path, "manifest")
        except storage.StorageError:
            return {}  # rebuilt from the files by the caller
        return {(r["stage"], r["shard"]): Entry(**r) for r in table.to_pylist()}

    def write_manifest(self, entries: dict[tuple[str, str], Entry]) -> None:
        rows = [vars(e) for e in sorted(entries.values(), key=lambda e: (e.stage, e.shard))]
        storage.write_table(schemas.from_rows(rows, "manifest"), self.manifest_path, "manifest")

    def output_rows(self, stage: str, shard: Shard) -> int | None:
        """Rows in a shard's output file if it is complete and of the right schema, else None."""
        return storage.probe(self.shard_path(stage, shard), stages.get(stage).output)

    def sandbox_errors(self, stage: str, shard: Shard) -> int:
        """`error` verdicts (the sandbox could not judge) in a shard's verdicts file, on the base
        tests or on the extended ones (`plus_status`, humaneval+); 0 for other stages or a
        missing file. Reads the two status columns only."""
        if stages.get(stage).output != "verdicts":
            return 0
        return storage.count_equal(self.shard_path(stage, shard), ("status", "plus_status"),
                                   "error")

    def reconcile(self, shards: list[Shard], stages: tuple[str, ...]) -> dict[tuple[str, str], Entry]:
        """Manifest entries for every (stage, shard), with state taken from the files.

        A shard whose file is valid is done; one whose file is missing or corrupt is pending
        (a corrupt file is moved to RUN_DIR/quarantine/, and the error says so). A verdicts
        shard holding sandbox `error` verdicts is pending too (re-executed; its file is replaced
        when the new one lands). A failed shard becomes pending with its retries restored; its
        last error is kept until it succeeds.
        """
        old = self.read_manifest()
        out: dict[tuple[str, str], Entry] = {}
        for shard in shards:
            for stage in stages:
                key = (stage, shard.name)
                entry = old.get(key) or Entry(stage, shard.name, shard.model, shard.benchmark,
                                              self.shard_rel(stage, shard))
                path = self.shard_path(stage, shard)
                rows = self.output_rows(stage, shard)
                errors = self.sandbox_errors(stage, shard) if rows is not None else 0
                if rows is not None and errors:
                    if entry.state == "failed":
                        entry.attempts = 0
                    entry.state = "pending"
                    entry.error = f"{errors} sandbox error verdicts (not judged); re-executed"
                elif rows is not None:
                    entry.state, entry.rows, entry.error = "done", rows, ""
                else:
                    if storage.exists(path):
                        moved = self.quarantine(path, entry.path)
                        entry.error = f"corrupt output {entry.path} moved to {moved}; redone"
                    if entry.state == "failed":
                        entry.attempts = 0  # a new pass gives a failed shard its retries again
                    entry.state = "pending"
                out[key] = entry
        return out

    def quarantine(self, path: str, rel: str) -> str:
        """Move a corrupt file out of the dataset, keeping it for inspection; return where."""
        target = self.uri(f"quarantine/{int(time.time())}-{rel.replace('/', '__')}")
        fs, src = storage.resolve(path)
        _, dst = storage.resolve(target)
        fs.create_dir(dst.rsplit("/", 1)[0], recursive=True)
        fs.move(src, dst)
        return target

    def read_stage(self, stage: str) -> pa.Table:
        return storage.read_dataset(self.uri(stages.get(stage).output), stages.get(stage).output)
