"""`polku validate`: every problem of the tables, printed with Rich, or one line when valid.

Text from the data or the messages (file and column names, messages that
mention `[extra_features]`) is escaped: Rich would read square brackets as
markup and drop them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from model.catalogue import load_catalogue
from model.config import load_config
from model.errors import DataContractError
from training.contract.load import check_tables
from training.contract.problems import Problem, RuleCount
from training.tables import Tables, read_tables


def validate_command(
    data_dir: str | Path,
    *,
    config_path: str | Path | None = None,
    catalogue_path: str | Path | None = None,
    console: Console,
) -> bool:
    """`polku validate`: print every problem, or a short summary; True when valid."""
    config = load_config(config_path)
    catalogue = load_catalogue(catalogue_path, extras=config.extra_features)
    try:
        tables = read_tables(data_dir, config=config)
    except DataContractError as exc:
        problems = [Problem(**problem) for problem in exc.problems]  # type: ignore[arg-type]
        _print_problems(console, problems)
        console.print(f"[bold red]✗[/] {escape(str(exc))}", highlight=False)
        return False
    report = check_tables(tables, catalogue=catalogue, config=config)
    if not report.ok:
        _print_problems(console, list(report.problems))
        if report.omitted:
            _print_counts(console, report.counts)
        console.print(
            f"[bold red]✗[/] {escape(report.summary())}. Nothing is trained on tables that fail the contract.",
            highlight=False,
        )
        return False
    counts = ", ".join(
        f"{escape(report.tables.file(name))} {len(frame):,} rows"
        for name, frame in report.tables.items()
    )
    window = _date_window(report.tables)
    line = f"[bold green]✓[/] data contract OK: {counts}"
    if window is not None:
        line += f"; dates {window[0]:%Y-%m-%d} .. {window[1]:%Y-%m-%d}"
    if config.extract_date is not None:
        line += f"; extract date {config.extract_date:%Y-%m-%d}"
    console.print(line, highlight=False)
    return True


def _problem_table(title: str) -> RichTable:
    # Compact: an 80-column terminal keeps file, row, column and rule on one line.
    return RichTable(
        title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, expand=False
    )


def _print_problems(console: Console, problems: Sequence[Problem]) -> None:
    table = _problem_table("Data contract problems")
    table.add_column("file", no_wrap=True)
    table.add_column("row", justify="right", no_wrap=True)
    table.add_column("column", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("message", overflow="fold", ratio=1)
    for problem in problems:
        table.add_row(
            escape(problem.file),
            "" if problem.row is None else str(problem.row),
            escape(problem.column or ""),
            escape(problem.rule),
            escape(problem.message),
        )
    console.print(table, highlight=False)


def _print_counts(console: Console, counts: Sequence[RuleCount]) -> None:
    table = _problem_table("Every problem, counted")
    table.add_column("file", no_wrap=True)
    table.add_column("column", no_wrap=True)
    table.add_column("rule", no_wrap=True)
    table.add_column("count", justify="right", no_wrap=True)
    for count in counts:
        table.add_row(
            escape(count.file), escape(count.column or ""), escape(count.rule), f"{count.count:,}"
        )
    console.print(table, highlight=False)


def _date_window(tables: Tables) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    lows, highs = [], []
    for _name, frame in tables.items():
        for column in frame.columns:
            series = frame[column]
            if pd.api.types.is_datetime64_any_dtype(series.dtype) and series.notna().any():
                lows.append(series.min())
                highs.append(series.max())
    if not lows:
        return None
    return min(lows), max(highs)
