"""`polku report ...`: rebuilding a version's reports for evaluators."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from cli.console import (
    DEFAULT_MODEL_NAME,
    ChampionAliasOption,
    ModelNameOption,
    VersionOption,
    domain_errors,
    err_console,
    out_console,
    quiet_mlflow,
)
from cli.training import existing_truth, load_model

report_app = typer.Typer(
    help="Reports for evaluators: a version's fairness report and model card, the service report; "
    "follow decisions up.",
    no_args_is_help=True,
)


@report_app.command("fairness")
def report_fairness(
    version: VersionOption = None,
    alias: ChampionAliasOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="folder with clients, episodes and outcomes (default: the one the version was trained on)"
        ),
    ] = None,
    truth: Annotated[
        Path | None,
        typer.Option(
            help="simulator truth table (default: truth.csv/.parquet in the data folder if any)"
        ),
    ] = None,
    decisions_db: Annotated[
        str | None,
        typer.Option(
            "--decisions-db",
            help="the API's database URL (e.g. sqlite:///data/polku.db), for override figures",
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
    from model.fairness.trend import version_trend
    from model.model_card import fairness_summary, with_model_identity
    from training.registry.runs import log_reports
    from training.registry.served import load_fairness_report, training_data_dir
    from training.registry.versions import list_versions
    from training.reports.build import build_reports, write_reports
    from training.version_evaluation import scoring_points

    quiet_mlflow()
    with domain_errors():
        served = load_model(model_name, version, alias, "champion")
        if data is None:
            data = training_data_dir(served.run_id)
            if data is None or not data.is_dir():
                where = f" ({data} is not there any more)" if data is not None else ""
                raise typer.BadParameter(
                    f"give the data folder: the one version {served.version} was trained on "
                    f"is not known here{where}",
                    param_hint="--data",
                )
        points = scoring_points(served.router, served.version, data, existing_truth(truth))
        decisions = audit = None
        if decisions_db is not None:
            from api.storage.decision_log import read_decision_log

            decisions, audit = read_decision_log(decisions_db, model_name=served.name)
        reports = build_reports(
            router=served.router,
            decision_points=points.dp,
            rows_mask=points.rows,
            truth=points.truth,
            decisions=decisions,
            audit=audit,
            model={"name": served.name, "version": served.version, "run_id": served.run_id},
            evaluation=served.evaluation,
        )
        fairness = reports.fairness
        fairness["trend"] = version_trend(
            [
                (
                    v.version,
                    fairness if v.version == served.version else load_fairness_report(v.run_id),
                )
                for v in list_versions(served.name)
            ]
        )
        # The card written at training time knows the learners compared; it
        # learns its version number and the new fairness figures here.
        card = with_model_identity(
            {**served.card, "fairness": fairness_summary(fairness)}
            if served.card
            else reports.card,
            name=served.name,
            version=served.version,
            run_id=served.run_id,
        )
        folder = out or Path("reports") / f"{served.name}-v{served.version}"
        paths = write_reports(folder, fairness, card)
        if log:
            log_reports(served.run_id, paths)
    n_decisions = 0 if decisions is None else len(decisions)
    err_console.print(points.note, highlight=False)
    if decisions_db is not None:
        err_console.print(
            f"{n_decisions} decisions on {served.name} recommendations read from the decisions "
            "database (overrides per group are in the report; cells under "
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


@report_app.command("followup")
def report_followup(
    decisions_db: Annotated[
        str,
        typer.Option(
            "--decisions-db",
            help="the API's database URL (e.g. sqlite:///data/polku.db): decisions and suggestions",
        ),
    ],
    data: Annotated[
        Path,
        typer.Option(help="folder with clients, episodes and outcomes, including outcomes since"),
    ],
    version: VersionOption = None,
    alias: ChampionAliasOption = None,
    out: Annotated[Path | None, typer.Option(help="folder for followup.json and .html")] = None,
    log: Annotated[
        bool,
        typer.Option(
            "--log/--no-log",
            help="also log the report with the version's MLflow run (the API serves it from there)",
        ),
    ] = False,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """Join the decisions recorded through the API with the outcomes that arrived since.

    Compares outcomes when caseworkers followed the first suggestion with other
    choices (observed and doubly robust adjusted), shows override rates and
    reasons by month and unit, checks p_outcome against matured outcomes and
    each input's drift from the training data, and says whether to retrain.
    """
    from api.storage.decision_log import read_decision_log
    from training.reports.followup import followup_report_for, write_followup

    quiet_mlflow()
    with domain_errors():
        if not data.is_dir():
            raise typer.BadParameter(f"{data} is not a folder", param_hint="--data")
        decisions, audit = read_decision_log(decisions_db, model_name=model_name, with_outputs=True)
        if decisions.empty:
            raise typer.BadParameter(
                f"the database holds no decisions on {model_name} recommendations",
                param_hint="--decisions-db",
            )
        served = load_model(model_name, version, alias, "champion")
        report = followup_report_for(
            served.router,
            data,
            decisions,
            audit,
            model={"name": served.name, "version": served.version, "run_id": served.run_id},
        )
        folder = out or Path("reports") / f"{served.name}-v{served.version}-followup"
        paths = write_followup(folder, report)
        if log:
            from training.registry.runs import log_run_report
            from training.registry.store import FOLLOWUP_REPORT

            log_run_report(served.run_id, FOLLOWUP_REPORT, paths)
    advice = report["advice"]
    err_console.print(
        f"{len(decisions)} decisions read; advice: {advice['verdict']}"
        + "".join(f"\n- {reason['en']}" for reason in advice["reasons"]),
        highlight=False,
    )
    for path in paths.values():
        out_console.print(str(path), highlight=False)
    if log:
        err_console.print(f"logged with run {served.run_id}", highlight=False)


def _date_option(value: str | None, hint: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date written YYYY-MM-DD", param_hint=hint
        ) from None


@report_app.command("services")
def report_services(
    data: Annotated[
        Path | None,
        typer.Option(
            help="folder with clients, episodes and outcomes (default: the one the version was trained on)"
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="first day of the window, YYYY-MM-DD (default: first intake)")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="last day of the window, YYYY-MM-DD (default: extract date)")
    ] = None,
    by: Annotated[
        str | None,
        typer.Option(
            help="client group fields, comma-separated (default: residence_basis, "
            "education_level, finnish_level_band, years_since_arrival_band)"
        ),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="folder for services.json and services.html")
    ] = None,
    log: Annotated[
        bool,
        typer.Option(
            "--log/--no-log",
            help="also log the report with the version's MLflow run (the API serves it from there)",
        ),
    ] = False,
    version: VersionOption = None,
    alias: ChampionAliasOption = None,
    model_name: ModelNameOption = DEFAULT_MODEL_NAME,
) -> None:
    """The service report (JSON + HTML): volumes, waiting times, Finnish level gains,
    outcomes and doubly-robust effects per service and per client group, and work that
    matches education, for the window [--since, --until] of DATA.

    The effects' outcome and choice models are the version's kind, fitted
    again on DATA one fold of clients at a time (cross-fitting); figures for
    fewer than the configuration's min_cell_size clients are hidden.
    """
    from model.services.groups import GroupFieldError
    from training.registry.runs import log_run_report
    from training.registry.served import load_policy_summary, training_data_dir
    from training.registry.store import SERVICE_REPORT
    from training.reports.services import read_inputs, service_report_for, write_service_report

    first = _date_option(since, "--since")
    last = _date_option(until, "--until")
    if first is not None and last is not None and first > last:
        raise typer.BadParameter(f"--since {first} is after --until {last}", param_hint="--since")
    fields = [f.strip() for f in by.split(",") if f.strip()] if by is not None else None
    quiet_mlflow()
    with domain_errors():
        served = load_model(model_name, version, alias, "champion")
        if data is None:
            data = training_data_dir(served.run_id)
            if data is None or not data.is_dir():
                where = f" ({data} is not there any more)" if data is not None else ""
                raise typer.BadParameter(
                    f"give the data folder: the one version {served.version} was trained on "
                    f"is not known here{where}",
                    param_hint="--data",
                )
        inputs = read_inputs(served.router, data)
        try:
            report = service_report_for(
                served.router,
                inputs,
                since=first,
                until=last,
                by=fields,
                model={"name": served.name, "version": served.version, "run_id": served.run_id},
                policy=load_policy_summary(served.run_id),
            )
        except GroupFieldError as exc:
            raise typer.BadParameter(str(exc), param_hint="--by") from None
        folder = out or Path("reports") / f"{served.name}-v{served.version}"
        paths = write_service_report(folder, report)
        if log:
            log_run_report(served.run_id, SERVICE_REPORT, paths)
    window = report["window"]
    evaluated = report["evaluated"]
    err_console.print(
        f"service report of {data} from {window['since']} to {window['until']}: "
        f"{evaluated['decisions']} decisions with a complete follow-up scored by "
        f"{served.name} version {served.version}",
        highlight=False,
    )
    for path in paths.values():
        out_console.print(str(path), highlight=False)
    if log:
        err_console.print(f"logged with run {served.run_id}", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")
