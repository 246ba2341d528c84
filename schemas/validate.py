"""Validation of tables against the schemas in `schemas.tables`.

`validate` checks a table as it is and names the bad column or row; `conform` also reorders
columns and applies lossless casts (e.g. int64 -> int32 when every value fits), so that tables
built from pandas or Python rows come out with exactly the project's schema.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pyarrow as pa
import pyarrow.compute as pc

from schemas.tables import KEY, OPTIONAL, PROBE_SETS, SCHEMA_VERSION, TABLES, VERDICT_STATUSES

#: Columns whose values come from a fixed set, per table.
ENUMS = {("verdicts", "status"): VERDICT_STATUSES, ("verdicts", "plus_status"): VERDICT_STATUSES,
         ("probes", "probe_set"): PROBE_SETS}


class SchemaError(ValueError):
    """A table does not match its schema; the message names the table, column and row."""


def _schema_of(name: str) -> pa.Schema:
    try:
        return TABLES[name]
    except KeyError:
        raise SchemaError(f"unknown table {name!r}; known tables: {', '.join(TABLES)}") from None


def _unique_key(name: str) -> tuple[str, ...] | None:
    if name == "problems":
        return ("benchmark", "task_id")
    if name in ("samples", "verdicts", "scores"):
        return KEY
    if name == "probes":
        return KEY + ("probe_set",)
    if name == "manifest":
        return ("stage", "shard")
    return None


def _first_null_row(column: pa.ChunkedArray) -> int:
    return int(pc.index(pc.is_null(column), True).as_py())


def _check_values(table: pa.Table, name: str, where: str) -> None:
    schema = _schema_of(name)
    for field in schema:
        column = table.column(field.name)
        if not field.nullable and column.null_count:
            row = _first_null_row(column)
            raise SchemaError(f"{where}: column {field.name!r} is null at row {row}; it is required")
    for (table_name, col), allowed in ENUMS.items():
        if name != table_name or not table.num_rows:
            continue
        column = table.column(col)  # a null is no value to check (nullable enums)
        bad = pc.fill_null(pc.and_(pc.invert(pc.is_in(column, value_set=pa.array(allowed))),
                                   pc.is_valid(column)), False)
        if pc.any(bad).as_py():
            row = int(pc.index(bad, True).as_py())
            value = table.column(col)[row].as_py()
            raise SchemaError(
                f"{where}: column {col!r} has {value!r} at row {row}; "
                f"allowed: {', '.join(allowed)}"
            )
    key = _unique_key(name)
    if key and table.num_rows:
        counts = table.group_by(list(key)).aggregate([([], "count_all")])
        dup = pc.greater(counts.column("count_all"), 1)
        if pc.any(dup).as_py():
            first = counts.filter(dup).slice(0, 1).to_pylist()[0]
            first.pop("count_all")
            raise SchemaError(f"{where}: duplicate key {first} ({', '.join(key)} must be unique)")


def _check_columns(table: pa.Table, schema: pa.Schema, where: str) -> None:
    got = set(table.column_names)
    missing = [f.name for f in schema if f.name not in got]
    if missing:
        raise SchemaError(f"{where}: missing column(s) {missing}; expected {schema.names}")
    extra = [c for c in table.column_names if c not in schema.names]
    if extra:
        raise SchemaError(f"{where}: unexpected column(s) {extra}; expected {schema.names}")


def optional_fields(name: str) -> list[str]:
    """Columns of table `name` that files written before they existed may lack."""
    return [f.name for f in _schema_of(name) if (f.metadata or {}).get(OPTIONAL)]


def upgrade(table: pa.Table, name: str) -> pa.Table:
    """`table` with every missing optional column of `name` added as nulls (an older file)."""
    schema = _schema_of(name)
    for column in optional_fields(name):
        if column not in table.column_names:
            field = schema.field(column)
            table = table.append_column(field, pa.nulls(table.num_rows, type=field.type))
    return table


def matches(schema: pa.Schema, name: str) -> bool:
    """True if `schema` is table `name`'s, or is it without some optional columns (metadata aside)."""
    full = _schema_of(name)
    if schema.equals(full, check_metadata=False):
        return True
    names = [n for n in full.names if n in schema.names]
    missing = [n for n in full.names if n not in schema.names]
    if set(missing) - set(optional_fields(name)) or len(names) != len(schema.names):
        return False
    return schema.equals(pa.schema([full.field(n) for n in names]), check_metadata=False)


def validate(table: pa.Table, name: str, *, where: str | None = None) -> pa.Table:
    """Check that `table` has exactly the schema of table `name`; return it unchanged.

    Raises SchemaError naming the missing, extra or mistyped column, the first null in a
    required column, an unknown verdict status, or a duplicated key.
    """
    schema = _schema_of(name)
    where = where or f"table {name!r}"
    _check_columns(table, schema, where)
    for field in schema:
        actual = table.schema.field(field.name).type
        if actual != field.type:
            raise SchemaError(
                f"{where}: column {field.name!r} has type {actual}, expected {field.type}"
            )
    version = (table.schema.metadata or {}).get(b"budget_realloc.schema_version")
    if version is not None and version.decode() != SCHEMA_VERSION:
        raise SchemaError(
            f"{where}: schema version {version.decode()} but this code reads version "
            f"{SCHEMA_VERSION}; re-run the stage that wrote it"
        )
    _check_values(table, name, where)
    return table


def conform(table: pa.Table, name: str, *, where: str | None = None) -> pa.Table:
    """Return `table` with exactly the schema of `name`: columns reordered, lossless casts applied,
    missing optional columns added as nulls.

    A cast that would lose information (a string where a number belongs, an int that does not
    fit) raises SchemaError naming the column.
    """
    schema = _schema_of(name)
    where = where or f"table {name!r}"
    table = upgrade(table, name)  # a missing optional column is all null
    _check_columns(table, schema, where)
    columns = []
    for field in schema:
        column = table.column(field.name)
        if column.type != field.type:
            if not _castable(column.type, field.type):
                raise SchemaError(
                    f"{where}: column {field.name!r} has type {column.type}, expected {field.type}"
                )
            try:
                column = column.cast(field.type, safe=True)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                raise SchemaError(
                    f"{where}: column {field.name!r} cannot be cast from {column.type} to "
                    f"{field.type}: {exc}"
                ) from None
        columns.append(column)
    out = pa.Table.from_arrays(columns, schema=schema)
    return validate(out, name, where=where)


def _family(t: pa.DataType) -> str:
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_floating(t):
        return "float"
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "str"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return "list:" + _family(t.value_type)
    if pa.types.is_null(t):
        return "null"
    return str(t)


def _castable(src: pa.DataType, dst: pa.DataType) -> bool:
    s, d = _family(src), _family(dst)
    return s == d or s == "null" or (s == "int" and d == "float") or s == "list:null"


def from_rows(rows: Iterable[Mapping[str, Any]], name: str) -> pa.Table:
    """Build a table of schema `name` from Python dicts (missing nullable fields become null)."""
    schema = _schema_of(name)
    rows = list(rows)
    return conform(pa.Table.from_pylist(rows, schema=schema), name)


def from_pandas(frame, name: str) -> pa.Table:
    """Build a table of schema `name` from a pandas DataFrame, checking types."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    return conform(table.replace_schema_metadata(None), name)


def empty(name: str) -> pa.Table:
    """An empty table with the schema of `name`."""
    return _schema_of(name).empty_table()
