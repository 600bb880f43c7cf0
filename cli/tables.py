"""Rich tables and sentences the training commands print: figures per learner and service."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich import box
from rich.console import Console
from rich.table import Table

from cli.console import figure

if TYPE_CHECKING:
    from training.pipeline import TrainingResult
    from training.registry.versions import RegisteredVersion

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
        *[figure(result.validation[n].get(result.metric)) for n in names],
    )
    for key, label in SUMMARY_ROWS:
        if key == "dr_interval":
            cells = [
                f"{figure(f.get('dr_low'))}–{figure(f.get('dr_high'))}"
                if f.get("dr_low") is not None
                else "–"
                for f in (result.test[n] for n in names)
            ]
        else:
            if all(result.test[n].get(key) is None for n in names):
                continue
            cells = [figure(result.test[n].get(key)) for n in names]
        table.add_row(label, *cells)
    return table


def print_training_summary(
    result: TrainingResult,
    registered: RegisteredVersion,
    console: Console,
    *,
    next_steps: bool = True,
) -> None:
    """What `polku train` prints when done: the figures, the split, warnings, the version."""
    from training.pipeline.split import held_out_words

    console.print(summary_table(result))
    split = result.split.summary(result.dp)
    tried = result.router.metadata.get("selection", {}).get("rounds", {}).get(result.chosen)
    rounds = getattr(result.router.learner, "n_rounds_", None)
    cut = (
        f"; {rounds} of {max(int(k) for k in tried)} rounds, chosen on validation"
        if tried and rounds
        else ""
    )
    why = (
        f"best validation {result.metric}"
        if len(result.test) > 1
        else "the only learner configured"
    )
    console.print(
        f"Served learner: [bold]{result.chosen}[/] ({why}{cut}). "
        f"Clients: {split['train_clients']:,} train, {split['validation_clients']:,} validation, "
        f"{split['test_clients']:,} held out ({held_out_words(split)}).",
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
            f"{figure(bound['low'], 4)}–{figure(bound['high'], 4)}",
            f"{figure(other.get('low'), 4)}–{figure(other.get('high'), 4)}",
        ]
        if truth is not None:
            inside = bound["low"] is not None and bound["low"] <= truth <= bound["high"]
            cells.append("yes" if inside else "no")
        table.add_row(*cells)
    return table


def sensitivity_text(sensitivity: dict[str, Any]) -> str:
    """One sentence on the break-even Λ."""
    observed = figure(sensitivity.get("observed_rate"), 4)
    even = sensitivity.get("break_even_lambda")
    if even is None:
        return f"The gain over the observed rate ({observed}) survives every Λ examined."
    if even <= 1.0:
        return (
            f"Even at Λ = 1 the doubly-robust interval reaches the observed rate ({observed}): "
            "no gain over current practice is shown."
        )
    return (
        f"Break-even Λ = {even:.2f} (IPW: {figure(sensitivity.get('ipw_break_even_lambda'), 2)}): "
        f"hidden confounding that moves the odds of the recommended service by that factor would "
        f"bring the interval's lower end down to the observed rate ({observed}). The DR interval "
        "above assumes Λ = 1."
    )
