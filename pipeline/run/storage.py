"""Parquet I/O for every table: validated against `schemas`, written atomically.

A file appears only complete: it is written under a temporary name in the same directory and
renamed. Paths may be local or any URI that `pyarrow.fs` understands (s3://, gs://, file://).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

import schemas


class StorageError(OSError):
    """A table file is missing, unreadable or corrupt; the message names the file."""


def resolve(uri: str | os.PathLike) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) for a local path or a pyarrow filesystem URI."""
    text = str(uri)
    if "://" in text:
        return pafs.FileSystem.from_uri(text)
    return pafs.LocalFileSystem(), os.path.abspath(text)


def join(base: str | os.PathLike, *parts: str) -> str:
    """Join path parts onto a local path or URI with '/'."""
    text = str(base).rstrip("/")
    return "/".join([text, *[p.strip("/") for p in parts]])


def exists(uri: str | os.PathLike) -> bool:
    fs, path = resolve(uri)
    return fs.get_file_info(path).type != pafs.FileType.NotFound


def write_table(table: pa.Table, uri: str | os.PathLike, name: str) -> str:
    """Validate `table` as table `name` and write it as Parquet at `uri`, atomically."""
    table = schemas.conform(table, name)
    fs, path = resolve(uri)
    parent = path.rsplit("/", 1)[0]
    fs.create_dir(parent, recursive=True)
    tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}"
    try:
        pq.write_table(table, tmp, filesystem=fs, compression="zstd")
        fs.move(tmp, path)
    except BaseException:
        try:
            fs.delete_file(tmp)
        except OSError:
            pass
        raise
    return str(uri)


def read_table(uri: str | os.PathLike, name: str) -> pa.Table:
    """Read a Parquet file written by `write_table` and validate it as table `name`."""
    fs, path = resolve(uri)
    try:
        table = pq.read_table(path, filesystem=fs)
    except FileNotFoundError:
        raise StorageError(f"{uri}: file not found") from None
    except (pa.ArrowInvalid, OSError) as exc:
        raise StorageError(
            f"{uri}: not a readable Parquet file ({exc}); delete it and resume the run to "
            "rebuild it"
        ) from None
    try:
        return schemas.validate(schemas.upgrade(table, name), name, where=str(uri))
    except schemas.SchemaError as exc:
        raise StorageError(str(exc)) from None


def probe(uri: str | os.PathLike, name: str) -> int | None:
    """Rows of a complete file of table `name`, from its Parquet footer only; None if the file
    is missing, truncated, or of another schema.

    Cheap enough to call on every shard of a large run at resume. Files are written atomically,
    so a readable footer with the right schema means a complete file; the full read that the
    next stage does still validates every value.
    """
    fs, path = resolve(uri)
    try:
        with fs.open_input_file(path) as handle:
            meta = pq.read_metadata(handle)
    except (FileNotFoundError, pa.ArrowInvalid, OSError):
        return None
    try:
        schema = meta.schema.to_arrow_schema()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not schemas.matches(schema, name):  # an older file may lack optional columns
        return None
    version = (schema.metadata or {}).get(b"budget_realloc.schema_version")
    if version is not None and version.decode() != schemas.SCHEMA_VERSION:
        return None
    return meta.num_rows


def list_files(uri: str | os.PathLike, suffix: str = ".parquet") -> list[str]:
    """All complete files under a directory (temporary files excluded), sorted."""
    fs, path = resolve(uri)
    if fs.get_file_info(path).type == pafs.FileType.NotFound:
        return []
    infos = fs.get_file_info(pafs.FileSelector(path, recursive=True))
    prefix = str(uri).rstrip("/")
    out = []
    for info in infos:
        base = info.base_name
        if info.type == pafs.FileType.File and base.endswith(suffix) and not base.startswith("."):
            rel = info.path[len(path.rstrip("/")) + 1 :]
            out.append(f"{prefix}/{rel}" if "://" in prefix else str(Path(path) / rel))
    return sorted(out)


def read_dataset(uri: str | os.PathLike, name: str) -> pa.Table:
    """Concatenate every complete file of table `name` under a directory."""
    files = list_files(uri)
    if not files:
        return schemas.empty(name)
    return pa.concat_tables([read_table(f, name) for f in files])
