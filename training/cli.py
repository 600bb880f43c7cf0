"""The `polku` command line: a thin shell around the pipeline functions.

Every command prints domain errors as one readable line and exits with a
non-zero status, never with a stack trace. Heavy imports happen inside the
commands so that `polku --help` is quick. Progress and messages go to
standard error; results (tables, `--json`) to standard output.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from model.errors import PolkuError

if TYPE_CHECKING:
    from training.pipeline import TrainingResult
    from training.registry import RegisteredVersion

DEFAULT_MODEL_NAME = (
    "polku-router"  # training.registry.DEFAULT_MODEL_NAME, without importing mlflow
)
DEMO_DATA = Path("demo-data")
DEMO_CLIENTS = 5_000

app = typer.Typer(
    name="polku",
    help="Polku: decision support for routing integration-service clients.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
out_console = Console()


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn Polku's own errors into a message and exit status 2."""
    try:
        yield
    except PolkuError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None


def command(fn: Callable[..., Any]) -> Callable[..., Any]:
    return app.command()(fn)


@app.command()
def simulate(
    out: Annotated[Path, typer.Option(help="folder to write the tables into")],
    clients: Annotated[int, typer.Option(min=1, help="number of clients")] = 10_000,
    seed: Annotated[int, typer.Option(help="random seed; the same seed gives the same world")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="csv or parquet")] = "csv",
    confounding: Annotated[
        float, typer.Option(help="strength of the historical policy's confounding (0 = random)")
    ] = 1.0,
) -> None:
    """Write the built-in Espoo-like world: clients, episodes, outcomes, truth, world.json."""
    from training.simulator import WorldParams, write_world

    with domain_errors():
        if fmt not in ("csv", "parquet"):
            raise typer.BadParameter("--format must be csv or parquet")
        params = WorldParams(n_clients=clients, seed=seed, confounding=confounding)
        summary = write_world(params, out, fmt=fmt, progress=True)
    err_console.print(summary)


@app.command()
def validate(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    config: Annotated[Path | None, typer.Option(help="run configuration (TOML)")] = None,
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
) -> None:
    """Check the three tables against the data contract; exit 2 listing every problem."""
    from training.contract import validate_command

    with domain_errors():
        ok = validate_command(
            data, config_path=config, catalogue_path=catalogue, console=out_console
        )
    if not ok:
        raise typer.Exit(2)


@app.command()
def pseudonymize(
    key_file: Annotated[
        Path, typer.Option("--key-file", help="the secret key (keep it apart from the data)")
    ],
    data: Annotated[
        Path | None, typer.Option(help="folder with the export's tables (client_id in each)")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="new folder for the pseudonymised tables")
    ] = None,
    new_key: Annotated[
        bool, typer.Option("--new-key", help="first write a new random key to --key-file")
    ] = False,
) -> None:
    """Replace client_id in every table with a keyed pseudonym (HMAC-SHA-256); prints no ids."""
    from training.pseudonymize import new_key as make_key
    from training.pseudonymize import pseudonymize_folder

    if not new_key and (data is None or out is None):
        raise typer.BadParameter("give --data and --out (or --new-key to only make a key)")
    with domain_errors():
        if new_key:
            make_key(key_file)
            err_console.print(
                f"wrote a new key to {key_file}; keep it secret, apart from the data, and "
                "reuse it so later exports get the same pseudonyms",
                highlight=False,
                soft_wrap=True,
            )
        if data is None or out is None:
            return
        summary = pseudonymize_folder(data, out, key_file=key_file)
    for name, rows in summary.tables.items():
        err_console.print(f"{name}: {rows} rows", highlight=False)
    if summary.skipped:
        err_console.print(
            f"not copied (no client_id table): {', '.join(summary.skipped)}", highlight=False
        )
    err_console.print(
        f"{summary.clients} distinct clients pseudonymised into {out}", highlight=False
    )


# --------------------------------------------------------------------------
# training, evaluation and the registry
# --------------------------------------------------------------------------

ModelNameOption = Annotated[
    str, typer.Option("--model-name", help="registered model name in the MLflow registry")
]


def _quiet_mlflow() -> None:
    """MLflow's own INFO lines (database setup, uv detection) are noise on the command line.

    MLflow sets its logger's level when imported, so this imports it first.
    """
    import training.registry  # noqa: F401

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    # "Failed to resolve installed pip version": uv environments have no pip.
    logging.getLogger("mlflow.utils.environment").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.WARNING)


@contextmanager
def _stages(total: int) -> Iterator[Callable[[str], None]]:
    """A Rich progress bar on standard error that advances on every stage message."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
        task = bar.add_task("starting", total=total)
        started = [False]

        def advance(what: str) -> None:
            if started[0]:
                bar.advance(task)
            started[0] = True
            bar.update(task, description=what)

        yield advance
        bar.update(task, completed=total)


def _stage_count(n_learners: int) -> int:
    """Progress messages of a training run: 8 pipeline stages, one per learner, 3 registry ones."""
    return 8 + n_learners + 3


def train_and_register(
    data: Path,
    *,
    catalogue_path: Path | None = None,
    config_path: Path | None = None,
    model_name: str = DEFAULT_MODEL_NAME,
    progress: Callable[[str], None] | None = None,
) -> tuple[TrainingResult, RegisteredVersion]:
    """What `polku train` does: run the pipeline, log the run, register the version."""
    from training import registry
    from training.pipeline import train as run_pipeline

    say = progress or (lambda _: None)
    result = run_pipeline(
        data, catalogue_path=catalogue_path, config_path=config_path, progress=say
    )
    registered = registry.log_training(result, name=model_name, progress=say)
    return result, registered


def _figure(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


SUMMARY_ROWS = (
    ("v_hist", "V_hist (caseworkers, truth)"),
    ("v_rec", "V_rec (follow rank 1, truth)"),
    ("v_oracle", "V_oracle (best eligible, truth)"),
    ("capture_ratio", "capture ratio"),
    ("dr_value", "V_rec, doubly robust"),
    ("dr_interval", "  95 % interval"),
    ("agreement_at_1", "agreement at rank 1"),
    ("agreement_at_3", "agreement in top 3"),
    ("auc", "ROC AUC"),
    ("brier", "Brier score"),
    ("ece", "calibration error (ECE)"),
    ("coverage", "interval coverage (truth)"),
)


def summary_table(result: TrainingResult) -> Table:
    """Every learner's figures on the held-out clients, one column each; the served one starred."""
    table = Table(
        title="Held-out clients (the newest by intake date)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("figure", no_wrap=True)
    names = list(result.test)
    for name in names:
        table.add_column(f"{name} ★" if name == result.chosen else name, justify="right")
    table.add_row(
        f"validation {result.metric} (chooses)",
        *[_figure(result.validation[n].get(result.metric)) for n in names],
    )
    for key, label in SUMMARY_ROWS:
        if key == "dr_interval":
            cells = [
                f"{_figure(f.get('dr_low'))}–{_figure(f.get('dr_high'))}"
                if f.get("dr_low") is not None
                else "–"
                for f in (result.test[n] for n in names)
            ]
        else:
            if all(result.test[n].get(key) is None for n in names):
                continue
            cells = [_figure(result.test[n].get(key)) for n in names]
        table.add_row(label, *cells)
    return table


def print_training_summary(
    result: TrainingResult,
    registered: RegisteredVersion,
    console: Console,
    *,
    next_steps: bool = True,
) -> None:
    console.print(summary_table(result))
    split = result.split.summary(result.dp)
    tried = result.router.metadata.get("selection", {}).get("rounds", {}).get(result.chosen)
    rounds = getattr(result.router.learner, "n_rounds_", None)
    cut = (
        f"; {rounds} of {max(int(k) for k in tried)} rounds, chosen on validation"
        if tried and rounds
        else ""
    )
    console.print(
        f"Served learner: [bold]{result.chosen}[/] (best validation {result.metric}{cut}). "
        f"Clients: {split['train_clients']:,} train, {split['validation_clients']:,} validation, "
        f"{split['test_clients']:,} held out (intake on or after {split['test_from']}).",
        highlight=False,
    )
    console.print(f"Training rows: {result.rows.note()}.", highlight=False)
    extra = result.details[result.chosen].extra if result.chosen in result.details else {}
    if extra.get("dr_sensitivity"):
        from training.router_figures import sensitivity_figures

        console.print(sensitivity_text(sensitivity_figures(extra)), highlight=False)
    if result.golden_problems:
        console.print(
            "[bold yellow]warning:[/] the golden cases fail, so the API will refuse this "
            f"version: {'; '.join(result.golden_problems)}",
            highlight=False,
        )
    console.print(
        f"Registered [bold]{registered.name}[/] version [bold]{registered.version}[/] "
        f"(alias {', '.join(registered.aliases)}), run {registered.run_id}.",
        highlight=False,
    )
    if next_steps:
        console.print(
            f"Next: polku evaluate --data DIR --version {registered.version}  ·  "
            f"polku promote {registered.version}",
            highlight=False,
        )


@app.command()
def train(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    catalogue: Annotated[Path | None, typer.Option(help="service catalogue (TOML)")] = None,
    config: Annotated[Path | None, typer.Option(help="run configuration (TOML)")] = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Validate, build decision points, fit and compare the learners, log to MLflow, register."""
    from model.config import load_config

    _quiet_mlflow()
    with domain_errors(), _stages(_stage_count(len(load_config(config).learners))) as progress:
        result, registered = train_and_register(
            data,
            catalogue_path=catalogue,
            config_path=config,
            model_name=model_name,
            progress=progress,
        )
    print_training_summary(result, registered, out_console)


def _load_model(model_name: str, version: str | None, alias: str | None, default_alias: str) -> Any:
    from training import registry

    if version is not None and alias is not None:
        raise typer.BadParameter("give --version or --alias, not both")
    return registry.load_served(
        model_name, alias=(alias or default_alias) if version is None else None, version=version
    )


@app.command()
def evaluate(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    truth: Annotated[
        Path | None,
        typer.Option(help="simulator truth table (default: truth.csv/.parquet in --data if any)"),
    ] = None,
    version: Annotated[str | None, typer.Option(help="registered version to score")] = None,
    alias: Annotated[
        str | None, typer.Option(help="registry alias to score (default: candidate)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    plots: Annotated[
        Path | None, typer.Option(help="also write the plots (PNG) to this folder")
    ] = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Score a registered version on every decision point in DATA with a complete outcome window.

    On the very data the version was trained on, only its held-out clients are scored.
    """
    from training.router_figures import (
        EVALUATION_KEYS,
        as_json_figures,
        sensitivity_figures,
        uplift_records,
    )

    _quiet_mlflow()
    with domain_errors():
        served = _load_model(model_name, version, alias, "candidate")
        evaluation, note = evaluate_served(served, data, truth_path=truth, plots=plots)
    figures = as_json_figures(evaluation.figures)
    sensitivity = sensitivity_figures(evaluation.extra)
    effects = uplift_records(evaluation.uplift)
    if as_json:
        # EVALUATION_KEYS first, unchanged; the sensitivity analysis and the
        # per-service effects after them.
        typer.echo(json.dumps({**figures, **sensitivity, "service_effects": effects}))
        return
    table = Table(
        title=f"{served.name} version {served.version}", title_justify="left", box=box.SIMPLE_HEAD
    )
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key in EVALUATION_KEYS:
        table.add_row(key, _figure(figures[key], 4))
    out_console.print(table)
    if effects:
        out_console.print(effects_table(effects))
    if sensitivity["dr_sensitivity"]:
        out_console.print(sensitivity_table(figures, sensitivity))
        out_console.print(sensitivity_text(sensitivity), highlight=False)
    err_console.print(note, highlight=False)


def effects_table(effects: list[dict[str, Any]]) -> Table:
    """Per service: the model's mean uplift, the doubly-robust effect and, with truth, the true one."""
    with_truth = any(e.get("true_effect") is not None for e in effects)
    table = Table(
        title="Average effect against no new service, where both were eligible",
        title_justify="left",
        caption="took: decision points that took the service, of those where both were "
        "eligible. model: mean predicted uplift. DR: doubly robust, from the outcomes "
        "adjusted by the propensities, assuming no hidden confounding; – where fewer than "
        "the small-cell threshold took the service or no new service",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
    )
    table.add_column("service", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    # Rich shrinks every column of a table wider than the terminal; figures
    # keep their width so that they are never cut.
    table.add_column("model", justify="right", no_wrap=True, min_width=6)
    table.add_column("DR", justify="right", no_wrap=True, min_width=6)
    table.add_column("DR 95 %", justify="center", no_wrap=True, min_width=13)
    if with_truth:
        table.add_column("true", justify="right", no_wrap=True, min_width=6)

    def signed(value: Any) -> str:
        return "–" if value is None else f"{value:+.3f}"

    for e in effects:
        interval = (
            "–"
            if e.get("dr_low") is None or e.get("dr_high") is None
            else f"{e['dr_low']:+.3f}…{e['dr_high']:+.3f}"
        )
        cells = [
            str(e["service"]),
            f"{e['n_taken']}/{e['n']}",
            signed(e.get("mean_uplift")),
            signed(e.get("dr_effect")),
            interval,
        ]
        if with_truth:
            cells.append(signed(e.get("true_effect")))
        table.add_row(*cells)
    return table


def sensitivity_table(figures: dict[str, Any], sensitivity: dict[str, Any]) -> Table:
    """V_rec's sensitivity intervals per Lambda: doubly robust and Hájek IPW, with the truth's."""
    table = Table(
        title="Hidden confounding: V_rec if the true propensity odds may be off by up to a factor Λ",
        title_justify="left",
        box=box.SIMPLE_HEAD,
    )
    table.add_column("Λ", justify="right")
    table.add_column("doubly robust, 95 %", justify="right")
    table.add_column("IPW (Hájek), 95 %", justify="right")
    truth = figures.get("v_rec")
    if truth is not None:
        table.add_column("holds true V_rec", justify="center")
    ipw = {b["lambda"]: b for b in sensitivity.get("ipw_sensitivity") or []}
    for bound in sensitivity["dr_sensitivity"]:
        other = ipw.get(bound["lambda"], {})
        cells = [
            f"{bound['lambda']:g}",
            f"{_figure(bound['low'], 4)}–{_figure(bound['high'], 4)}",
            f"{_figure(other.get('low'), 4)}–{_figure(other.get('high'), 4)}",
        ]
        if truth is not None:
            inside = bound["low"] is not None and bound["low"] <= truth <= bound["high"]
            cells.append("yes" if inside else "no")
        table.add_row(*cells)
    return table


def sensitivity_text(sensitivity: dict[str, Any]) -> str:
    """One sentence on the break-even Λ."""
    observed = _figure(sensitivity.get("observed_rate"), 4)
    even = sensitivity.get("break_even_lambda")
    if even is None:
        return f"The gain over the observed rate ({observed}) survives every Λ examined."
    if even <= 1.0:
        return (
            f"Even at Λ = 1 the doubly-robust interval reaches the observed rate ({observed}): "
            "no gain over current practice is shown."
        )
    return (
        f"Break-even Λ = {even:.2f} (IPW: {_figure(sensitivity.get('ipw_break_even_lambda'), 2)}): "
        f"hidden confounding that moves the odds of the recommended service by that factor would "
        f"bring the interval's lower end down to the observed rate ({observed}). The DR interval "
        "above assumes Λ = 1."
    )


def evaluate_served(
    served: Any, data: Path, *, truth_path: Path | None = None, plots: Path | None = None
) -> tuple[Any, str]:
    """Build DATA's decision points with the version's own catalogue and configuration, score them."""
    from training.router_figures import evaluate_scores

    dp, rows, truth, note = scoring_points(served, data, truth_path)
    evaluation = evaluate_scores(served.router, dp, rows, truth, model_version=served.version)
    if plots is not None:
        from training.plots import calibration_plot, uplift_by_service_plot

        calibration_plot(evaluation.calibration, plots / "calibration.png")
        uplift_by_service_plot(evaluation.uplift, plots / "uplift_by_service.png")
        note += f"; plots in {plots}"
    return evaluation, note


def scoring_points(
    served: Any, data: Path, truth_path: Path | None = None
) -> tuple[Any, Any, Any, str]:
    """DATA's decision points for a registered version: (points, rows to score, truth, note).

    Built with the version's own catalogue and configuration. On the very
    data the version was trained on, only its held-out clients are scored.
    """
    import numpy as np

    from model.decision_points import build_decision_points
    from training.contract import load_valid_tables
    from training.pipeline import data_fingerprint
    from training.truth import find_truth, read_truth

    router = served.router
    tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
    dp = build_decision_points(
        tables.clients,
        tables.episodes,
        tables.outcomes,
        catalogue=router.catalogue,
        config=router.config,
    )
    found = truth_path if truth_path is not None else find_truth(data)
    if truth_path is not None and not truth_path.is_file():
        raise typer.BadParameter(f"truth file {truth_path} does not exist", param_hint="--truth")
    truth = read_truth(found) if found is not None else None
    rows = np.ones(len(dp.frame), dtype=bool)
    note = f"scored every decision point of {data} with a complete outcome window"
    trained_on = router.metadata.get("data", {}).get("sha256")
    test_from = router.metadata.get("split", {}).get("test_from")
    if trained_on and test_from and data_fingerprint(data)["sha256"] == trained_on:
        intake = tables.clients.set_index(tables.clients["client_id"].astype(str))["intake_date"]
        point_intake = dp.frame["client_id"].astype(str).map(intake)
        rows = (point_intake >= np.datetime64(test_from)).to_numpy(dtype=bool)
        note = (
            f"{data} is the data version {served.version} was trained on: scored only its "
            f"held-out clients (intake on or after {test_from})"
        )
    if truth is not None and found is not None:
        note += f"; truth from {found.name}"
    return dp, rows, truth, note


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="registered version to promote")],
    alias: Annotated[str, typer.Option(help="alias to point at the version")] = "champion",
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Point an alias (by default `champion`, the one the API serves) at a version."""
    from training import registry

    _quiet_mlflow()
    with domain_errors():
        promoted = registry.promote(version, alias=alias, name=model_name)
    out_console.print(
        f"{promoted.name} version {promoted.version} is now [bold]{alias}[/] "
        f"(aliases: {', '.join(promoted.aliases)})",
        highlight=False,
    )


def _as_of(value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date written YYYY-MM-DD") from None


@app.command()
def recommend(
    data: Annotated[Path, typer.Option(help="folder with clients, episodes and outcomes")],
    as_of: Annotated[str, typer.Option("--as-of", help="date of the caseload, YYYY-MM-DD")],
    out: Annotated[Path, typer.Option(help="output file, .csv or .parquet")],
    version: Annotated[str | None, typer.Option(help="registered version to use")] = None,
    alias: Annotated[
        str | None, typer.Option(help="registry alias to use (default: champion)")
    ] = None,
    explanations: Annotated[
        bool, typer.Option("--explanations/--no-explanations", help="explain each recommendation")
    ] = True,
    k: Annotated[int, typer.Option(min=1, help="recommendations per client")] = 3,
    language: Annotated[str, typer.Option(help="fi, sv or en")] = "fi",
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Recommendations for every client with an open case on a date, for planning."""
    from training.batch import OUTPUT_FORMATS, recommend_caseload, write_recommendations
    from training.contract import load_valid_tables

    day = _as_of(as_of)
    if out.suffix.lower() not in OUTPUT_FORMATS:
        raise typer.BadParameter("the output file must end in .csv or .parquet", param_hint="--out")
    if language not in ("fi", "sv", "en"):
        raise typer.BadParameter("choose fi, sv or en", param_hint="--language")
    _quiet_mlflow()
    with domain_errors():
        served = _load_model(model_name, version, alias, "champion")
        router = served.router
        tables = load_valid_tables(data, catalogue=router.catalogue, config=router.config)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as bar:
            task = bar.add_task("explaining recommendations", total=None)

            def tick(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            frame = recommend_caseload(
                router,
                tables,
                day,
                k=k,
                explanations=explanations,
                language=language,
                model=(served.name, served.version),
                progress=tick,
            )
        path = write_recommendations(frame, out)
    out_console.print(
        f"wrote recommendations for {len(frame):,} open cases on {day:%Y-%m-%d} to {path} "
        f"({served.name} version {served.version})",
        highlight=False,
    )


# ==========================================================================
# Reports for evaluators (issue 5)
# ==========================================================================

report_app = typer.Typer(
    help="Rebuild a version's fairness report and model card.", no_args_is_help=True
)
app.add_typer(report_app, name="report")


@report_app.command("fairness")
def report_fairness(
    version: Annotated[str | None, typer.Option(help="registered version")] = None,
    alias: Annotated[
        str | None, typer.Option(help="registry alias (default: champion, the served one)")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="folder with clients, episodes and outcomes (default: the one the version was trained on)"),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(help="simulator truth table (default: truth.csv/.parquet in the data folder if any)"),
    ] = None,
    decisions_db: Annotated[
        str | None,
        typer.Option(
            "--decisions-db",
            help="the API's database URL (e.g. sqlite:///polku.db), for override figures",
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="folder for the four files")] = None,
    log: Annotated[
        bool,
        typer.Option(
            "--log/--no-log",
            help="also replace the reports logged with the version's MLflow run (the API serves those)",
        ),
    ] = False,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Rebuild the fairness report (JSON + HTML) and model card of a version, with override figures.

    Scores the version's held-out clients again (every client with a complete
    outcome window when DATA is not its training data) and, with
    --decisions-db, adds who overrode the recommendations and why, per
    group, suppressed like every other count.
    """
    from model.model_card import fairness_summary
    from training import registry
    from training.reports import build_reports, write_reports

    _quiet_mlflow()
    with domain_errors():
        served = _load_model(model_name, version, alias, "champion")
        if data is None:
            data = registry.training_data_dir(served.run_id)
            if data is None or not data.is_dir():
                where = f" ({data} is not there any more)" if data is not None else ""
                raise typer.BadParameter(
                    f"give the data folder: the one version {served.version} was trained on "
                    f"is not known here{where}",
                    param_hint="--data",
                )
        dp, rows, truth_table, note = scoring_points(served, data, truth)
        decisions = audit = None
        if decisions_db is not None:
            from api import commands

            decisions, audit = commands.decision_log(decisions_db, model_name=served.name)
        reports = build_reports(
            router=served.router,
            decision_points=dp,
            rows_mask=rows,
            truth=truth_table,
            decisions=decisions,
            audit=audit,
            model={"name": served.name, "version": served.version},
            evaluation=served.evaluation,
        )
        fairness = reports.fairness
        # The card written at training time knows the learners compared; it
        # learns its version number and the new fairness figures here.
        card = (
            {
                **served.card,
                "model": {**served.card.get("model", {}), "name": served.name, "version": served.version},
                "fairness": fairness_summary(fairness),
            }
            if served.card
            else reports.card
        )
        folder = out or Path("reports") / f"{served.name}-v{served.version}"
        paths = write_reports(folder, fairness, card)
        if log:
            registry.log_reports(served.run_id, paths)
    n_decisions = 0 if decisions is None else len(decisions)
    err_console.print(note, highlight=False)
    if decisions_db is not None:
        err_console.print(
            f"{n_decisions} decisions on {served.name} recommendations read from the decisions database "
            "(overrides per group are in the report; cells under "
            f"{served.router.config.min_cell_size} clients are hidden)",
            highlight=False,
        )
    for path in paths.values():
        out_console.print(str(path), highlight=False)
    if log:
        err_console.print(
            f"replaced the reports of run {served.run_id} (the API serves them after its next reload)",
            highlight=False,
        )


def serve_after_demo(console: Console) -> bool:
    """HOOK for the API (issue 4): start serving the champion at the end of `polku demo`.

    Return True when serving was started (the demo then does not print the
    "what next" hint about serving).
    """
    return _serve_demo(console)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="folder for the simulated data")] = DEMO_DATA,
    clients: Annotated[
        int, typer.Option(min=500, help="number of simulated clients")
    ] = DEMO_CLIENTS,
    seed: Annotated[int, typer.Option(help="random seed of the world")] = 1,
) -> None:
    """Simulate a world, train on it, promote the new version to champion (then serve)."""
    from training import registry
    from training.simulator import WorldParams, write_world

    _quiet_mlflow()
    with domain_errors():
        err_console.print(
            write_world(WorldParams(n_clients=clients, seed=seed), out, progress=True)
        )
        with _stages(_stage_count(2)) as progress:
            result, registered = train_and_register(out, progress=progress)
        print_training_summary(result, registered, out_console, next_steps=False)
        promoted = registry.promote(registered.version, alias="champion", name=registered.name)
    out_console.print(
        f"Promoted {promoted.name} version {promoted.version} to [bold]champion[/].",
        highlight=False,
    )
    if serve_after_demo(out_console):
        return
    store = registry.resolve_store().tracking_uri
    out_console.print(
        "What next:\n"
        f"  polku evaluate --data {out} --alias champion\n"
        f"  polku recommend --data {out} --as-of 2025-06-30 --out caseload.csv\n"
        f"  mlflow ui --backend-store-uri {store}\n"
        "(the figures of the served model; recommendations for a whole caseload; "
        "runs side by side in the MLflow UI, see docs/mlflow.md)",
        highlight=False,
        soft_wrap=True,
    )


# ==========================================================================
# The API: keys, its database, serving (issue 4). Owned by the API; the work
# is done in api/commands.py, imported inside each command so that
# `polku --help` does not load the web stack.
# ==========================================================================

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
db_app = typer.Typer(
    help="The API's database: schema migrations and retention.", no_args_is_help=True
)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="caseworker, evaluator, data_scientist or admin")],
    unit: Annotated[str, typer.Option(help="the office the key belongs to, e.g. espoo-leppavaara")],
) -> None:
    """Create a key: prints the key alone on standard output; only its hash is stored."""
    from api import commands

    with domain_errors():
        new = commands.create(role, unit)
    err_console.print(
        f"created key {new.key_id} (role {new.role.value}, unit {new.unit}). It is shown once and "
        f"stored only as a hash; revoke it with `polku keys revoke {new.key_id}`.",
        highlight=False,
    )
    typer.echo(new.key)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[str, typer.Argument(help="the key id printed by `polku keys create`")],
) -> None:
    """Revoke a key at once, in every worker."""
    from api import commands

    with domain_errors():
        commands.revoke_key(key_id)
    err_console.print(f"revoked key {key_id}", highlight=False)


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, role, unit, when created and revoked (never the key or its hash)."""
    from api import commands

    with domain_errors():
        rows = commands.list_keys()
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("key id", "role", "unit", "created", "revoked", "demo"):
        table.add_column(column)
    for row in rows:
        table.add_row(
            row.key_id,
            row.role,
            row.unit,
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            "yes" if row.demo else "",
        )
    out_console.print(table)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Bring the database (POLKU_DATABASE_URL) to the newest schema."""
    from api import commands

    with domain_errors():
        revision = commands.upgrade()
    err_console.print(f"database schema at revision {revision}", highlight=False)


@db_app.command("purge")
def db_purge() -> None:
    """Delete audit events (and their decisions) older than POLKU_AUDIT_RETENTION_DAYS."""
    from api import commands

    with domain_errors():
        purged = commands.purge()
    err_console.print(f"purged {purged} audit events past the retention period", highlight=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes; one per core")] = 1,
    reuse_port: Annotated[
        bool,
        typer.Option(
            "--reuse-port",
            help="a listening socket per worker (Linux SO_REUSEPORT): the kernel spreads "
            "connections by client address, instead of the workers taking turns at one socket",
        ),
    ] = False,
) -> None:
    """Serve the API (uvicorn); settings from POLKU_* and MLFLOW_TRACKING_URI (see README)."""
    from api import commands

    with domain_errors():
        commands.serve(
            commands.ServeOptions(host=host, port=port, workers=workers, reuse_port=reuse_port)
        )


def _serve_demo(console: Console) -> bool:
    """End of `polku demo`: a demo caseworker key, a curl call that works, then serve."""
    from api import commands

    with domain_errors():
        key = commands.demo_key()
    console.print(
        "Demo caseworker key (unit demo; refused in production):\n"
        f"  {key.key}\n"
        "Try, in another terminal:\n"
        f"  curl -s -H 'Authorization: Bearer {key.key}' -H 'Content-Type: application/json' "
        "-d @api/examples/recommendation.json http://127.0.0.1:8000/v1/recommendations\n"
        "Serving on http://127.0.0.1:8000 (API docs at /docs); Ctrl-C stops.",
        highlight=False,
        soft_wrap=True,
    )
    with domain_errors():
        commands.serve(commands.ServeOptions())
    return True


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
