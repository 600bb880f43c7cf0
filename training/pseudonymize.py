"""Pseudonymise an export: every `client_id` becomes a keyed HMAC-SHA-256 pseudonym.

A municipality's case system may export tables keyed by something close to
the person (a case number, or even a personal identity code). Before the
tables go anywhere near training, `polku pseudonymize` replaces the id in
every table of the folder with ``PREFIX + hex(HMAC-SHA-256(key, id))``:

- the same id gives the same pseudonym in every table and in every run with
  the same key, so the tables still join and a later export can be matched
  to an earlier one; without the key the pseudonyms cannot be recomputed
  from a guessed id (a plain hash could be, by hashing every possible code);
- the key lives in its own file, outside the data and the output (a key
  beside the pseudonyms would undo them), at least `MIN_KEY_BYTES` long;
- referential integrity is checked after the mapping (no two ids share a
  pseudonym; each table refers to as many clients as before);
- the output folder appears whole or not at all: everything is written into
  a temporary folder beside it, flushed, and renamed into place;
- no id is ever printed: messages carry file names and counts only.

Tables are the `.csv` and `.parquet` files of the folder with a `client_id`
column (the three input tables, and the simulator's `truth` table); other
files are not copied, and are named so that the user can decide.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from model.errors import PolkuError

MIN_KEY_BYTES: Final = 32
NEW_KEY_BYTES: Final = 32
PREFIX: Final = "ps_"
ID_COLUMN: Final = "client_id"
TABLE_SUFFIXES: Final = (".csv", ".parquet")
PARENT_TABLE: Final = "clients"


class PseudonymizeError(PolkuError, ValueError):
    """The folders, the key or the tables do not allow a safe pseudonymisation."""


# --------------------------------------------------------------------------- the key


def new_key(path: str | Path) -> Path:
    """Write a fresh random key (hex text) to `path`, readable by its owner only.

    Refuses to overwrite a key: the pseudonyms made with it would no longer
    match anything made later.
    """
    target = Path(path)
    if target.exists():
        raise PseudonymizeError(f"key file {target.name} exists already; it is not overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(NEW_KEY_BYTES) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return target


def read_key(path: str | Path) -> bytes:
    """The key in `path`: hex text (as `new_key` writes it) or raw bytes; at least 32 bytes."""
    source = Path(path)
    if not source.is_file():
        raise PseudonymizeError(f"key file {source.name} does not exist (make one with --new-key)")
    raw = source.read_bytes()
    text = raw.strip()
    try:
        key = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymizeError(
            f"the key in {source.name} has {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
            "(make one with --new-key)"
        )
    return key


def pseudonym(key: bytes, client_id: str) -> str:
    """The pseudonym of one id: the prefix and the HMAC-SHA-256 of its UTF-8 text, in hex."""
    return PREFIX + hmac.new(key, client_id.encode("utf-8"), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- the folders


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_folders(data: Path, out: Path, key_file: Path) -> None:
    """Refuse folder layouts that would mix the key, the input and the output."""
    data, out, key_file = data.resolve(), out.resolve(), key_file.resolve()
    if not data.is_dir():
        raise PseudonymizeError(f"data folder {data.name} does not exist")
    if _inside(out, data):
        raise PseudonymizeError("--out must not be the data folder or inside it")
    if _inside(data, out):
        raise PseudonymizeError("--out must not contain the data folder")
    if _inside(key_file, data):
        raise PseudonymizeError("the key file must not be inside the data folder; keep it apart")
    if _inside(key_file, out):
        raise PseudonymizeError("the key file must not be inside the output folder; keep it apart")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise PseudonymizeError(f"output folder {out.name} exists and is not empty")


# --------------------------------------------------------------------------- the tables


@dataclass
class Summary:
    """What was done, in counts and file names only."""

    tables: dict[str, int] = field(default_factory=dict)  # file -> rows
    clients: int = 0
    skipped: list[str] = field(default_factory=list)  # files not copied


def _ids(values: pd.Series) -> pd.Series:
    return values.astype("string")


def _map_ids(values: pd.Series, mapping: Callable[[str], str]) -> pd.Series:
    """Every non-empty id replaced; empty and missing cells stay as they are."""
    text = values.astype("string")
    distinct = text.dropna().unique()
    lookup = {value: (mapping(value) if value.strip() else value) for value in distinct}
    return text.map(lookup, na_action="ignore")


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        # as text, exactly as stored: nothing but the id changes
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    return pq.read_table(path).to_pandas()


def _write(frame: pd.DataFrame, original: Path, target: Path) -> None:
    if original.suffix == ".csv":
        frame.to_csv(target, index=False, lineterminator="\n")
    else:
        schema = pq.read_schema(original)
        table = pa.Table.from_pandas(frame, preserve_index=False)
        index = table.schema.get_field_index(ID_COLUMN)
        table = table.set_column(index, ID_COLUMN, table.column(ID_COLUMN).cast(pa.string()))
        pq.write_table(table.replace_schema_metadata(schema.metadata), target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())


def _check_integrity(before: dict[str, pd.Series], after: dict[str, pd.Series]) -> None:
    """The mapping keeps every table joinable exactly as before."""
    originals = pd.concat(list(before.values()), ignore_index=True).dropna()
    mapped = pd.concat(list(after.values()), ignore_index=True).dropna()
    if originals.nunique() != mapped.nunique():
        raise PseudonymizeError("two ids received the same pseudonym; nothing was written")
    parent = next((name for name in before if Path(name).stem == PARENT_TABLE), None)
    if parent is None:
        return
    for name in before:
        known_before = before[name].isin(set(before[parent].dropna())).sum()
        known_after = after[name].isin(set(after[parent].dropna())).sum()
        if known_before != known_after:
            raise PseudonymizeError(
                f"{name}: rows that refer to a client changed from {known_before} to "
                f"{known_after}; nothing was written"
            )


def pseudonymize_folder(data: str | Path, out: str | Path, *, key_file: str | Path) -> Summary:
    """Write a pseudonymised copy of the tables of `data` to `out` (see the module docstring)."""
    data_dir, out_dir, key_path = Path(data), Path(out), Path(key_file)
    check_folders(data_dir, out_dir, key_path)
    key = read_key(key_path)
    summary = Summary()
    frames: dict[str, pd.DataFrame] = {}
    sources: dict[str, Path] = {}
    for path in sorted(data_dir.iterdir()):
        if not path.is_file():
            summary.skipped.append(path.name + "/")
            continue
        if path.suffix not in TABLE_SUFFIXES:
            summary.skipped.append(path.name)
            continue
        frame = _read(path)
        if ID_COLUMN not in frame.columns:
            summary.skipped.append(path.name)
            continue
        frames[path.name], sources[path.name] = frame, path
    if not frames:
        raise PseudonymizeError(f"no table with a {ID_COLUMN} column in {data_dir.name}")

    before = {name: _ids(frame[ID_COLUMN]) for name, frame in frames.items()}
    after = {
        name: _map_ids(ids, lambda value: pseudonym(key, value)) for name, ids in before.items()
    }
    _check_integrity(before, after)
    summary.clients = int(pd.concat(list(before.values())).dropna().nunique())

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name, frame in frames.items():
            frame = frame.copy()
            frame[ID_COLUMN] = after[name].astype(object).where(after[name].notna(), None)
            if sources[name].suffix == ".csv":
                frame[ID_COLUMN] = frame[ID_COLUMN].fillna("")
            _write(frame, sources[name], staging / name)
            summary.tables[name] = len(frame)
        staging.chmod(0o755)
        if out_dir.exists():
            out_dir.rmdir()  # empty (checked above)
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return summary
