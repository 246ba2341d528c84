"""Parquet I/O for every table: validated against `schemas`, written atomically.

A file appears only complete: it is written under a temporary name in the same directory and
renamed. Paths may be local or any URI that `pyarrow.fs` understands (s3://, gs://, file://);
every file of a run directory (Parquet tables, config.yaml, Markdown/CSV tables, figures,
import reports) goes through this module, so a run directory in object storage behaves like a
local one. Credentials and endpoints come from the usual environment (for S3: AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION, AWS_ENDPOINT_URL, ...); `actor_env` lists what a
Ray actor needs of it.

Faults (`pipeline.run.retry`): on object storage every call is retried while it fails
transiently (throttling, 5xx, dropped connections, timeouts), with bounded backoff, and a fault
that outlasts the retries is a `StorageError` naming the object; a probe never takes an object
it could not read for a missing or corrupt one. On a local disk, a full, read-only or forbidden
run directory is a `StorageError` naming the path.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
import uuid
from pathlib import Path
from typing import Iterator
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

import schemas
from pipeline.run import retry
from pipeline.run.retry import StorageError


def _io(what: str, uri, fn):
    """`fn()`, retried on transient faults for a remote `uri`; a full, read-only or forbidden
    local disk becomes a StorageError naming the path; other errors propagate unchanged."""
    text = str(uri)
    try:
        if is_uri(text) and not text.startswith("file:"):
            return retry.call(what, text, fn)
        return fn()
    except (StorageError, FileNotFoundError):
        raise
    except OSError as exc:
        err = retry.local_error(what, text, exc)
        if err is not None:
            raise err from exc
        raise


#: Environment variables that configure remote filesystems; passed on to every Ray actor.
ENV_PREFIXES = ("AWS_", "GOOGLE_", "GCS_", "AZURE_", "ARROW_S3_")


def is_uri(uri: str | os.PathLike) -> bool:
    """True for a filesystem URI (s3://bucket/run, file:///tmp/run), False for a plain path."""
    return "://" in str(uri)


def actor_env() -> dict[str, str]:
    """The storage credentials and endpoints of this process's environment (AWS_*, GOOGLE_*,
    ...), for actors that see only the environment passed to them."""
    return {k: v for k, v in os.environ.items() if k.startswith(ENV_PREFIXES)}


def _s3_endpoint_query(query: str) -> str:
    """Add AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (an S3-compatible server: MinIO, moto, Ceph)
    to an s3:// URI's query, which pyarrow's S3 filesystem does not read from the environment."""
    from urllib.parse import parse_qsl, urlencode

    params = dict(parse_qsl(query))
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint and "endpoint_override" not in params:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        params["endpoint_override"] = parts.netloc
        params.setdefault("scheme", parts.scheme)
    return urlencode(params)


@functools.lru_cache(maxsize=16)
def _remote_fs(scheme: str, netloc: str, query: str, env: tuple) -> pafs.FileSystem:
    # one filesystem per bucket (and environment): building an S3 one may look up its region
    if scheme == "s3":
        query = _s3_endpoint_query(query)
    uri = f"{scheme}://{netloc}" + (f"?{query}" if query else "")
    return pafs.FileSystem.from_uri(uri)[0]


def resolve(uri: str | os.PathLike) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path) for a local path or a pyarrow filesystem URI."""
    text = str(uri)
    if not is_uri(text):
        return pafs.LocalFileSystem(), os.path.abspath(text)
    parts = urlsplit(text)
    if parts.scheme in ("s3", "gs", "gcs") and parts.netloc:
        fs = _remote_fs(parts.scheme, parts.netloc, parts.query, tuple(sorted(actor_env().items())))
        return fs, f"{parts.netloc}{parts.path}".rstrip("/") or parts.netloc
    try:
        return pafs.FileSystem.from_uri(text)
    except (pa.ArrowInvalid, ValueError) as exc:
        raise StorageError(f"{text}: not a filesystem URI that pyarrow understands ({exc})") from None


def join(base: str | os.PathLike, *parts: str) -> str:
    """Join path parts onto a local path or URI with '/'."""
    text = str(base).rstrip("/")
    return "/".join([text, *[p.strip("/") for p in parts]])


def exists(uri: str | os.PathLike) -> bool:
    fs, path = resolve(uri)
    return _io("look up", uri, lambda: fs.get_file_info(path).type != pafs.FileType.NotFound)


def write_bytes(uri: str | os.PathLike, data: bytes) -> str:
    """Write a whole file (config, Markdown, CSV, figure, report) atomically at `uri`."""
    fs, path = resolve(uri)

    def attempt() -> None:  # a fresh temporary name each attempt
        parent = path.rsplit("/", 1)[0]
        fs.create_dir(parent, recursive=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}-{path.rsplit('/', 1)[-1]}"
        try:
            with fs.open_output_stream(tmp) as f:
                f.write(data)
            fs.move(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                fs.delete_file(tmp)
            raise

    _io("write", uri, attempt)
    return str(uri)


def read_bytes(uri: str | os.PathLike) -> bytes:
    """A whole file's bytes; StorageError naming it if it is missing."""
    fs, path = resolve(uri)

    def attempt() -> bytes:
        with fs.open_input_stream(path) as f:
            return f.read()

    try:
        return _io("read", uri, attempt)
    except FileNotFoundError:
        raise StorageError(f"{uri}: file not found") from None


def read_text(uri: str | os.PathLike) -> str:
    return read_bytes(uri).decode("utf-8")


def write_text(uri: str | os.PathLike, text: str) -> str:
    return write_bytes(uri, text.encode("utf-8"))


@contextlib.contextmanager
def local_dir(uri: str | os.PathLike) -> Iterator[Path]:
    """A local directory standing for `uri`: the directory itself for a local path; for a URI a
    temporary one whose files are copied to `uri` when the block ends without error (for
    writers that only know local paths, such as matplotlib)."""
    if not is_uri(uri):
        path = Path(os.path.abspath(str(uri)))
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="budget-realloc-") as tmp:
        yield Path(tmp)
        for file in sorted(p for p in Path(tmp).rglob("*") if p.is_file()):
            write_bytes(join(uri, str(file.relative_to(tmp))), file.read_bytes())


def write_table(table: pa.Table, uri: str | os.PathLike, name: str) -> str:
    """Validate `table` as table `name` and write it as Parquet at `uri`, atomically."""
    table = schemas.conform(table, name)
    fs, path = resolve(uri)

    def attempt() -> None:  # a fresh temporary name each attempt; renamed only when complete
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

    _io("write", uri, attempt)
    return str(uri)


def read_table(uri: str | os.PathLike, name: str) -> pa.Table:
    """Read a Parquet file written by `write_table` and validate it as table `name`."""
    fs, path = resolve(uri)
    try:
        table = _io("read", uri, lambda: pq.read_table(path, filesystem=fs))
    except StorageError:
        raise
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
    next stage does still validates every value. An object store that keeps failing raises
    StorageError instead: a finished shard it could not read is neither missing nor corrupt.
    """
    fs, path = resolve(uri)

    def footer():
        with fs.open_input_file(path) as handle:
            return pq.read_metadata(handle)

    try:
        meta = _io("probe", uri, footer)
    except StorageError:
        raise
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


def count_equal(uri: str | os.PathLike, columns: str | tuple[str, ...], value: str) -> int:
    """Rows of a Parquet file whose column equals `value`, summed over `columns` (one name or
    several; those the file lacks count 0), reading the footer and those columns only, in one
    open of the file; 0 if the file is missing or unreadable (the caller's probe decides what
    that means)."""
    import pyarrow.compute as pc

    names = (columns,) if isinstance(columns, str) else tuple(columns)
    fs, path = resolve(uri)

    def read():
        with fs.open_input_file(path) as handle:
            f = pq.ParquetFile(handle)
            return f.read(columns=[c for c in names if c in f.schema_arrow.names])

    try:
        table = _io("read", uri, read)
    except StorageError:
        raise
    except (FileNotFoundError, pa.ArrowInvalid, OSError, KeyError):
        return 0
    return sum(int(pc.sum(pc.equal(table.column(c), value)).as_py() or 0)
               for c in table.column_names)


def list_files(uri: str | os.PathLike, suffix: str = ".parquet") -> list[str]:
    """All complete files under a directory (temporary files excluded), sorted."""
    fs, path = resolve(uri)
    if not exists(uri):
        return []
    infos = _io("list", uri, lambda: fs.get_file_info(pafs.FileSelector(path, recursive=True)))
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
