"""`polku pseudonymize`: keyed pseudonyms, stable and joinable, never half-written.

The input is a small simulated world whose ids are then swapped for Finnish
personal identity codes, as a careless export would hold them: `polku
validate` refuses it, and the pseudonymised copy passes.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli.app import app
from model.privacy import check_character, looks_like_personal_identity_code
from training import pseudonymize as ps

TABLES = ("clients.csv", "episodes.csv", "outcomes.csv", "truth.csv")


def identity_code(n: int) -> str:
    """A valid henkilötunnus, different for each n (born in the 1980s, sign '-' or 'A'..)."""
    day, month, year, individual = 1 + n % 28, 1 + n // 28 % 12, 80 + n // 336 % 10, 2 + n % 897
    digits = f"{day:02d}{month:02d}{year:02d}{individual:03d}"
    sign = "-" if n % 2 else "Y"  # both 1900s signs
    return f"{digits[:6]}{sign}{digits[6:]}{check_character(digits)}"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world of 150 clients whose ids are identity codes, in every table."""
    from training.simulator import WorldParams, write_world

    folder = tmp_path_factory.mktemp("export") / "data"
    write_world(WorldParams(n_clients=150, seed=5, truth_replicates=1), folder)
    clients = pd.read_csv(folder / "clients.csv", dtype=str, keep_default_na=False)
    codes = {old: identity_code(i) for i, old in enumerate(clients["client_id"])}
    assert all(looks_like_personal_identity_code(code) for code in codes.values())
    for name in TABLES:
        frame = pd.read_csv(folder / name, dtype=str, keep_default_na=False)
        frame["client_id"] = frame["client_id"].map(codes)
        frame.to_csv(folder / name, index=False, lineterminator="\n")
    return folder


@pytest.fixture(scope="module")
def key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ps.new_key(tmp_path_factory.mktemp("keys") / "polku.key")


def _ids(folder: Path, name: str) -> pd.Series:
    return pd.read_csv(folder / name, dtype=str, keep_default_na=False)["client_id"]


def _validate(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["validate", "--data", str(folder)])
    return result.exit_code, result.output


def test_the_export_with_identity_codes_is_refused_by_validate(export: Path) -> None:
    code, output = _validate(export)
    assert code == 2
    assert "personal_identity_code" in output  # the rule, named in the table
    assert identity_code(0) not in output  # the refusal never echoes the code


def test_same_id_same_pseudonym_in_every_table_and_gone_codes(
    export: Path, key_file: Path, tmp_path: Path
) -> None:
    out = tmp_path / "pseudonymous"
    summary = ps.pseudonymize_folder(export, out, key_file=key_file)
    assert set(summary.tables) == set(TABLES)
    assert summary.skipped == ["world.json"]
    assert summary.clients == 150
    key = ps.read_key(key_file)
    for name in TABLES:
        before, after = _ids(export, name), _ids(out, name)
        assert len(before) == len(after)
        # row by row: each id became its own HMAC, the same in every table
        assert after.tolist() == [ps.pseudonym(key, value) for value in before]
        assert after.str.fullmatch(r"ps_[0-9a-f]{64}").all()
        text = (out / name).read_text(encoding="utf-8")
        assert not any(code in text for code in before.unique())
        assert not any(looks_like_personal_identity_code(v) for v in after)
    # the tables still join: every episode's client is a client
    assert set(_ids(out, "episodes.csv")) <= set(_ids(out, "clients.csv"))
    # nothing but the id changed
    for name in TABLES:
        before = pd.read_csv(export / name, dtype=str, keep_default_na=False)
        after = pd.read_csv(out / name, dtype=str, keep_default_na=False)
        pd.testing.assert_frame_equal(
            before.drop(columns="client_id"), after.drop(columns="client_id")
        )
    code, output = _validate(out)
    assert code == 0, output


def test_stable_across_runs_and_different_for_another_key(
    export: Path, key_file: Path, tmp_path: Path
) -> None:
    ps.pseudonymize_folder(export, tmp_path / "one", key_file=key_file)
    ps.pseudonymize_folder(export, tmp_path / "two", key_file=key_file)
    for name in TABLES:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    other = ps.new_key(tmp_path / "keys" / "other.key")
    ps.pseudonymize_folder(export, tmp_path / "three", key_file=other)
    assert not set(_ids(tmp_path / "one", "clients.csv")) & set(
        _ids(tmp_path / "three", "clients.csv")
    )


def test_parquet_tables_keep_their_types(export: Path, key_file: Path, tmp_path: Path) -> None:
    from training.tables import read_tables, write_tables

    parquet = tmp_path / "parquet"
    write_tables(read_tables(export), parquet, fmt="parquet")
    out = tmp_path / "out"
    ps.pseudonymize_folder(parquet, out, key_file=key_file)
    before, after = (
        pd.read_parquet(parquet / "episodes.parquet"),
        pd.read_parquet(out / "episodes.parquet"),
    )
    assert before.drop(columns="client_id").dtypes.equals(after.drop(columns="client_id").dtypes)
    key = ps.read_key(key_file)
    assert after["client_id"].tolist() == [ps.pseudonym(key, v) for v in before["client_id"]]
    code, output = _validate(out)
    assert code == 0, output


@pytest.mark.parametrize(
    "layout",
    [
        "short key",
        "key in data",
        "key in out",
        "out in data",
        "out is data",
        "out not empty",
        "no key",
    ],
)
def test_unsafe_layouts_are_refused_and_nothing_is_written(
    export: Path, key_file: Path, tmp_path: Path, layout: str
) -> None:
    out, key = tmp_path / "out", key_file
    if layout == "short key":
        key = tmp_path / "short.key"
        key.write_text("ab" * 31)  # 31 bytes
    elif layout == "key in data":
        key = export / "polku.key"
    elif layout == "key in out":
        key = out / "polku.key"
    elif layout == "out in data":
        out = export / "pseudonymous"
    elif layout == "out is data":
        out = export
    elif layout == "out not empty":
        out.mkdir()
        (out / "old.csv").write_text("x\n")
    else:
        key = tmp_path / "missing.key"
    listing = sorted(p.name for p in export.iterdir())
    with pytest.raises(ps.PseudonymizeError):
        ps.pseudonymize_folder(export, out, key_file=key)
    assert sorted(p.name for p in export.iterdir()) == listing
    if layout != "out not empty" and out != export:
        assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]


def test_a_failure_while_writing_leaves_no_output(
    export: Path, key_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    written: list[str] = []
    real_write = ps._write

    def fail_on_the_third(frame: pd.DataFrame, original: Path, target: Path) -> None:
        if len(written) == 2:
            raise OSError("disk full")
        real_write(frame, original, target)
        written.append(target.name)

    monkeypatch.setattr(ps, "_write", fail_on_the_third)
    with pytest.raises(OSError, match="disk full"):
        ps.pseudonymize_folder(export, tmp_path / "out", key_file=key_file)
    assert len(written) == 2
    assert list(tmp_path.iterdir()) == []  # neither the output nor its staging folder


def test_integrity_check_refuses_a_colliding_mapping() -> None:
    before = {"clients.csv": pd.Series(["a", "b"]), "episodes.csv": pd.Series(["a", "b", "b"])}
    collided = {"clients.csv": pd.Series(["x", "x"]), "episodes.csv": pd.Series(["x", "x", "x"])}
    with pytest.raises(ps.PseudonymizeError, match="same pseudonym"):
        ps._check_integrity(before, collided)
    # as many distinct pseudonyms as ids, but the episode of client a no longer joins
    before = {"clients.csv": pd.Series(["a", "b"]), "episodes.csv": pd.Series(["a", "c"])}
    dropped = {"clients.csv": pd.Series(["x", "y"]), "episodes.csv": pd.Series(["z", "z"])}
    with pytest.raises(ps.PseudonymizeError, match=r"episodes\.csv"):
        ps._check_integrity(before, dropped)


def test_the_command_makes_a_private_key_and_prints_no_ids(export: Path, tmp_path: Path) -> None:
    key, out = tmp_path / "keys" / "polku.key", tmp_path / "out"
    runner = CliRunner()
    made = runner.invoke(
        app,
        [
            "pseudonymize",
            "--new-key",
            "--key-file",
            str(key),
            "--data",
            str(export),
            "--out",
            str(out),
        ],
    )
    assert made.exit_code == 0, made.output
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert len(ps.read_key(key)) == ps.NEW_KEY_BYTES
    assert "150 distinct clients" in made.output
    for name in TABLES:
        for value in set(_ids(export, name)) | set(_ids(out, name)):
            assert value not in made.output
    assert key.read_text().strip() not in made.output
    again = runner.invoke(app, ["pseudonymize", "--new-key", "--key-file", str(key)])
    assert again.exit_code == 2
    assert "not overwritten" in again.output
    refused = runner.invoke(
        app,
        ["pseudonymize", "--key-file", str(key), "--data", str(export), "--out", str(export / "x")],
    )
    assert refused.exit_code == 2
    assert "Traceback" not in refused.output
    missing = runner.invoke(app, ["pseudonymize", "--key-file", str(key)])
    assert missing.exit_code != 0
