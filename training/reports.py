"""The fairness report and the model card as files: JSON and self-contained HTML.

- `fairness_report_for` scores decision points with a `Router` and builds the
  fairness report (`model.fairness.fairness_report`).
- `render_fairness_html` and `render_model_card_html` turn the JSON-ready
  dicts into one HTML page each: inline CSS, plots embedded as base64 PNG
  (matplotlib's Agg canvas, never pyplot), no scripts and nothing fetched, so
  the page opens from a file, an MLflow artifact or the API alike. Both
  Finnish and English are on the page, with a switch (pure CSS) choosing the
  one shown; headline findings come first, in plain language.
- `write_reports` writes fairness.json, fairness.html, model_card.json and
  model_card.html; `build_reports` does everything for the command line.

Every number on the HTML page is rendered from the dict, never recomputed,
and carries its place in the JSON (`data-key`, a JSON list of keys) and its
value (`data-value`), so a test can check that the page shows exactly the
JSON's numbers. Suppressed values are shown as `model.suppression.MARK`.
Plots draw published values only.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from model.config import RunConfig
from model.decision_points import DecisionPoints, eligible_column
from model.fairness import (
    ATTRIBUTE_LABELS,
    REPORT_KIND,
    FairnessSettings,
    decisions_from_store,
    fairness_report,
)
from model.model_card import CARD_KIND, FIGURE_LABELS, build_model_card
from model.router import Router
from model.suppression import MARK
from training.plots import new_figure, png_base64
from training.router_figures import action_indices
from training.truth import align_truth

FAIRNESS_JSON: Final = "fairness.json"
FAIRNESS_HTML: Final = "fairness.html"
MODEL_CARD_JSON: Final = "model_card.json"
MODEL_CARD_HTML: Final = "model_card.html"
LANGUAGES: Final = ("fi", "en")
DPI: Final = 110
MISSING: Final = "–"

# --------------------------------------------------------------------------
# scoring and building
# --------------------------------------------------------------------------


def fairness_report_for(
    router: Router,
    decision_points: DecisionPoints | pd.DataFrame,
    rows_mask: np.ndarray | None = None,
    truth: np.ndarray | pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    config: RunConfig | None = None,
    *,
    audit: pd.DataFrame | None = None,
    settings: FairnessSettings | None = None,
    model: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Score the selected decision points with `router` and build the fairness report.

    `decision_points`: a `DecisionPoints` or its frame (with the
    `eligible_<action>` columns). `rows_mask`: which rows to report on (the
    held-out clients, normally); only rows with a known action of the
    catalogue and a complete outcome window are used. `truth`: the
    simulator's truth, as an (n_points, A) matrix aligned to the frame or as
    the truth table. `decisions`: caseworkers' decisions, either already
    joined (client_id, chosen_service, recommended_service, reason_code and
    the attribute columns) or, with `audit`, raw rows of the decisions table
    joined here through `model.fairness.decisions_from_store`. `config`
    defaults to the router's; k is its `min_cell_size`.
    """
    config = config or router.config
    frame = decision_points.frame if isinstance(decision_points, DecisionPoints) else decision_points
    actions = tuple(router.actions)
    if isinstance(decision_points, DecisionPoints) and tuple(decision_points.actions) != actions:
        raise ValueError("the decision points were built with another catalogue than the model's")
    taken_all = action_indices(frame, actions)
    usable = (
        frame["action_known"].to_numpy(dtype=bool)
        & ~frame["censored"].to_numpy(dtype=bool)
        & (taken_all >= 0)
    )
    if rows_mask is not None:
        mask = np.asarray(rows_mask, dtype=bool)
        if mask.shape != usable.shape:
            raise ValueError(f"rows_mask has {mask.shape[0]} rows, the frame {usable.shape[0]}")
        usable &= mask
    rows = frame.loc[usable]
    eligible = rows[[eligible_column(a) for a in actions]].to_numpy(dtype=bool)
    batch = router.score(rows, eligible=eligible, intervals=False)
    if truth is None:
        truth_rows = None
    elif isinstance(truth, pd.DataFrame):
        truth_rows = align_truth(rows, truth, actions)
    else:
        truth_rows = np.asarray(truth, dtype=float)[usable]
    if decisions is not None and audit is not None:
        version = None if model is None else model.get("version")
        decisions = decisions_from_store(decisions, audit, model_version=None if version is None else str(version))
    settings = settings or FairnessSettings.from_config(config)
    names = {a: {lang: router.catalogue.get(a).name[lang] for lang in LANGUAGES} for a in actions}
    info = {
        "learner": router.metadata.get("learner"),
        "training_window": router.metadata.get("training_window"),
        "target": config.target,
        "horizon_days": config.horizon_days,
        **dict(model or {}),
    }
    return fairness_report(
        rows=rows,
        actions=actions,
        taken=taken_all[usable],
        recommended=batch.recommended,
        p=batch.p,
        propensity=batch.support,
        truth=truth_rows,
        decisions=decisions,
        settings=settings,
        model_features=list(router.encoder.columns_),
        protected_attributes=config.protected_attributes,
        model=info,
        service_names=names,
    )


def model_card_for(
    router: Router,
    *,
    fairness: Mapping[str, Any] | None = None,
    model: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    learners: Mapping[str, Mapping[str, Any]] | None = None,
    validation: Mapping[str, Mapping[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
    has_truth: bool = False,
) -> dict[str, Any]:
    """The model card of a router, filling what the caller does not give from its metadata."""
    meta = router.metadata
    chosen = str(meta.get("learner") or getattr(router.learner, "name", "learner"))
    selection = meta.get("selection") or {}
    metric = str(selection.get("metric") or ("v_rec" if has_truth else "dr_value"))
    if validation is None and isinstance(selection.get("validation"), Mapping):
        validation = {name: {metric: value} for name, value in selection["validation"].items()}
    info = {
        "learner": chosen,
        "target": router.config.target,
        "horizon_days": router.config.horizon_days,
        "catalogue": router.catalogue.source,
        "trained_at": meta.get("trained_at"),
        "polku_version": meta.get("polku_version"),
        **dict(model or {}),
    }
    data_info = dict(data or {})
    data_info.setdefault("training_window", meta.get("training_window"))
    if isinstance(meta.get("data"), Mapping):
        for key, value in meta["data"].items():
            data_info.setdefault(key, value)
    return build_model_card(
        model=info,
        data=data_info,
        features_used=list(router.encoder.columns_),
        protected_attributes=list(router.config.protected_attributes),
        learners=dict(learners or ({chosen: evaluation} if evaluation else {})),
        chosen=chosen,
        selection_metric=metric,
        evaluation=dict(evaluation or {}),
        validation=validation,
        fairness=fairness,
        min_cell_size=router.config.min_cell_size,
        has_truth=has_truth,
    )


@dataclass(frozen=True)
class Reports:
    fairness: dict[str, Any]
    card: dict[str, Any]
    paths: dict[str, Path] = field(default_factory=dict)


def build_reports(
    *,
    router: Router,
    decision_points: DecisionPoints | pd.DataFrame,
    rows_mask: np.ndarray | None = None,
    out_dir: str | Path | None = None,
    truth: np.ndarray | pd.DataFrame | None = None,
    decisions: pd.DataFrame | None = None,
    audit: pd.DataFrame | None = None,
    config: RunConfig | None = None,
    settings: FairnessSettings | None = None,
    model: Mapping[str, Any] | None = None,
    evaluation: Mapping[str, Any] | None = None,
    learners: Mapping[str, Mapping[str, Any]] | None = None,
    validation: Mapping[str, Mapping[str, Any]] | None = None,
    data: Mapping[str, Any] | None = None,
) -> Reports:
    """The fairness report and the model card of one model version, written to `out_dir` if given.

    For `polku train` (the pipeline has every input) and for
    `polku report fairness --version V [--decisions-db URL]` (the router and
    its figures from the registry, decisions and audit rows from the
    database). `model` names the version: {"name": ..., "version": ...}.
    """
    fairness = fairness_report_for(
        router,
        decision_points,
        rows_mask,
        truth,
        decisions,
        config,
        audit=audit,
        settings=settings,
        model=model,
    )
    card = model_card_for(
        router,
        fairness=fairness,
        model=model,
        evaluation=evaluation,
        learners=learners,
        validation=validation,
        data=data,
        has_truth=truth is not None,
    )
    paths = write_reports(out_dir, fairness, card) if out_dir is not None else {}
    return Reports(fairness, card, paths)


def write_reports(out_dir: str | Path, fairness: Mapping[str, Any], card: Mapping[str, Any]) -> dict[str, Path]:
    """Write fairness.json, fairness.html, model_card.json and model_card.html; return their paths."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        FAIRNESS_JSON: to_json(fairness),
        FAIRNESS_HTML: render_fairness_html(fairness, "fi"),
        MODEL_CARD_JSON: to_json(card),
        MODEL_CARD_HTML: render_model_card_html(card, "fi"),
    }
    paths: dict[str, Path] = {}
    for name, text in files.items():
        path = folder / name
        path.write_text(text, encoding="utf-8")
        paths[name] = path
    return paths


def to_json(value: Mapping[str, Any]) -> str:
    """Strict JSON (NaN and infinities as null), UTF-8 text kept readable."""
    return json.dumps(_json_safe(value), ensure_ascii=False, indent=1, allow_nan=False)


def _json_safe(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


# --------------------------------------------------------------------------
# formatting
# --------------------------------------------------------------------------


def format_value(value: Any, kind: str, language: str) -> str:
    """A number as the page shows it; `kind` is count, share, pp (signed percentage
    points), points (unsigned percentage points), prob or ratio."""
    if value is None:
        return MISSING
    number = float(value)
    if not math.isfinite(number):
        return MISSING
    if kind == "count":
        text = f"{round(number):,}"
        return text.replace(",", "\u00a0") if language == "fi" else text
    if kind == "share":
        text = f"{number * 100:.1f}"
        return (text.replace(".", ",").replace("-", "−") + "\u00a0%") if language == "fi" else text + "%"
    if kind in ("pp", "points"):
        text = f"{number * 100:{'+' if kind == 'pp' else ''}.1f}"
        return text.replace(".", ",").replace("-", "−") if language == "fi" else text
    digits = 2 if kind == "ratio" else 3
    text = f"{number:.{digits}f}"
    return text.replace(".", ",").replace("-", "−") if language == "fi" else text


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _both(texts: Mapping[str, str]) -> str:
    """Text in both languages; the page shows one."""
    return "".join(f'<span class="{lang}" lang="{lang}">{_e(texts.get(lang, ""))}</span>' for lang in LANGUAGES)


def _t(fi: str, en: str) -> str:
    return _both({"fi": fi, "en": en})


def _num(key: Sequence[str], value: Any, kind: str, *, suppressed: bool = False) -> str:
    """One number with its JSON place and value, in both languages' formats."""
    key_attr = _e(json.dumps(list(key), ensure_ascii=False))
    if suppressed:
        return (
            f'<span class="n hidden" data-key="{key_attr}" data-value="suppressed" data-kind="{kind}"'
            f' title="piilotettu / suppressed">{MARK}</span>'
        )
    raw = "null" if value is None else repr(float(value)) if kind != "count" else str(int(value))
    inner = "".join(
        f'<span class="{lang}" lang="{lang}">{_e(format_value(value, kind, lang))}</span>' for lang in LANGUAGES
    )
    return f'<span class="n" data-key="{key_attr}" data-value="{_e(raw)}" data-kind="{kind}">{inner}</span>'


def _png(figure: Any) -> str:
    return png_base64(figure)


def _img(data: str, alt: Mapping[str, str]) -> str:
    alt_text = f"{alt.get('fi', '')} / {alt.get('en', '')}"
    return f'<img class="plot" alt="{_e(alt_text)}" src="data:image/png;base64,{data}">'


def _new_figure(width: float, height: float) -> Any:
    return new_figure(width, height, dpi=DPI)


# --------------------------------------------------------------------------
# the page frame
# --------------------------------------------------------------------------

CSS: Final = """
:root { --ink:#1b1f24; --muted:#59636e; --line:#d0d7de; --bg:#ffffff; --soft:#f6f8fa;
        --good:#1a7f37; --bad:#cf222e; --flat:#6e7781; --accent:#0b5cad; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--ink); background: var(--bg); }
.lang-input { position:absolute; opacity:0; pointer-events:none; }
#lang-fi:checked ~ * .en, #lang-fi:checked ~ .en { display:none; }
#lang-en:checked ~ * .fi, #lang-en:checked ~ .fi { display:none; }
header { background:#0b3d6b; color:#fff; padding:18px 28px 14px; }
header h1 { margin:0 0 4px; font-size:24px; }
header .meta { color:#d6e4f2; font-size:13px; }
.switch { float:right; }
.switch label { display:inline-block; margin-left:6px; padding:3px 10px; border:1px solid #9fc1e3;
                border-radius:14px; cursor:pointer; font-size:13px; color:#fff; }
#lang-fi:checked ~ header label[for=lang-fi], #lang-en:checked ~ header label[for=lang-en]
  { background:#fff; color:#0b3d6b; }
main { padding: 8px 28px 40px; max-width: 1200px; }
h2 { font-size:20px; margin:28px 0 8px; border-bottom:2px solid var(--line); padding-bottom:4px; }
h3 { font-size:16px; margin:20px 0 6px; }
.findings { background: var(--soft); border:1px solid var(--line); border-radius:8px; padding:14px 18px; }
.findings .lead { font-size:17px; margin:0 0 10px; }
.findings ul { margin:0; padding-left:0; list-style:none; }
.findings li { margin:6px 0; padding-left:0; }
.badge { display:inline-block; min-width:9em; text-align:center; border-radius:12px; padding:1px 8px;
         margin-right:8px; font-size:12px; font-weight:600; color:#fff; background: var(--flat); }
.badge.narrows { background: var(--good); } .badge.widens { background: var(--bad); }
.note { color: var(--muted); font-size:13px; }
.scroll { overflow-x:auto; }
table { border-collapse: collapse; margin: 6px 0 10px; font-size:13px; }
th, td { border-bottom:1px solid var(--line); padding:3px 8px; text-align:left; vertical-align:top; }
th { background: var(--soft); font-weight:600; }
td.num, th.num { text-align:right; white-space:nowrap; font-variant-numeric: tabular-nums; }
.n.hidden { color: var(--muted); }
tr.flag td { background:#fff4e5; }
.plot { max-width:100%; height:auto; display:block; margin:8px 0; }
.pill { display:inline-block; padding:0 6px; border-radius:8px; background:#eaeef2; font-size:12px; }
dl.kv { display:grid; grid-template-columns: max-content 1fr; gap:2px 14px; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin:0; }
footer { color: var(--muted); font-size:12px; padding: 10px 28px 30px; }
"""


def _page(title: Mapping[str, str], meta: str, body: str, language: str) -> str:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    checked = {lang: " checked" if lang == language else "" for lang in LANGUAGES}
    return (
        "<!doctype html>\n"
        f'<html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_e(title.get(language, ''))}</title><style>{CSS}</style></head><body>"
        f'<input class="lang-input" type="radio" name="lang" id="lang-fi"{checked["fi"]}>'
        f'<input class="lang-input" type="radio" name="lang" id="lang-en"{checked["en"]}>'
        '<header><nav class="switch"><label for="lang-fi" lang="fi">Suomeksi</label>'
        '<label for="lang-en" lang="en">In English</label></nav>'
        f"<h1>{_both(title)}</h1><div class=\"meta\">{meta}</div></header>"
        f"<main>{body}</main></body></html>\n"
    )


# --------------------------------------------------------------------------
# the fairness report
# --------------------------------------------------------------------------

GROUP_COLUMNS: Final[tuple[tuple[str, str, str, str], ...]] = (
    # (field, kind, Finnish header, English header)
    ("clients", "count", "Asiakkaita", "Clients"),
    ("decision_points", "count", "Päätöskohtia", "Decision points"),
    ("base_rate", "share", "Toteutunut hyvä tulos", "Observed good outcome"),
    ("mean_p_outcome", "share", "Ennuste (toteutunut palvelu)", "Predicted (service taken)"),
    ("v_hist", "share", "Odotettu: historia", "Expected: history"),
    ("v_rec", "share", "Odotettu: Polku", "Expected: Polku"),
    ("expected_gain", "pp", "Hyöty, %-yks.", "Gain, pp"),
    ("gain_interval", "pp", "95 %:n väli", "95% interval"),
    ("auc", "prob", "AUC", "AUC"),
    ("ece", "prob", "ECE", "ECE"),
    ("decisions", "count", "Päätöksiä", "Decisions"),
    ("override_rate", "share", "Poikkeamisia", "Override rate"),
)

METRIC_NAMES: Final[dict[str, tuple[str, str]]] = {
    "base_rate": ("toteutunut hyvä tulos", "observed good outcome"),
    "mean_p_outcome": ("ennustettu todennäköisyys", "predicted probability"),
    "v_hist": ("odotettu tulos, historia", "expected outcome, history"),
    "v_rec": ("odotettu tulos, Polku", "expected outcome, Polku"),
    "expected_gain": ("odotettu hyöty", "expected gain"),
    "auc": ("erottelukyky (AUC)", "discrimination (AUC)"),
    "ece": ("kalibrointivirhe (ECE)", "calibration error (ECE)"),
    "override_rate": ("poikkeamisosuus", "override rate"),
}

VERDICTS: Final[dict[str, tuple[str, str]]] = {
    "narrows": ("kaventaa eroa", "narrows the gap"),
    "widens": ("leventää eroa", "widens the gap"),
    "no_clear_change": ("ei selvää muutosta", "no clear change"),
    "not_enough_groups": ("liian vähän ryhmiä", "too few groups"),
}

SOURCES: Final[dict[str, tuple[str, str]]] = {
    "history": ("historia", "history"),
    "model": ("malli", "model"),
    "decisions": ("päätökset", "decisions"),
}


def _labels(report: Mapping[str, Any], attribute: str) -> dict[str, dict[str, str]]:
    section = next((a for a in report.get("attributes", []) if a["name"] == attribute), None)
    return dict(section.get("group_labels", {})) if section else {}


def _group_name(labels: Mapping[str, Mapping[str, str]], group: str) -> str:
    if group == "total":
        return _t("Yhteensä", "Total")
    return _both(labels.get(group, {"fi": group, "en": group}))


def _findings(report: Mapping[str, Any]) -> str:
    headline = report.get("headline", [])
    counts = {v: sum(1 for h in headline if h["verdict"] == v) for v in VERDICTS}
    overall = report.get("overall", {})
    method = report.get("method")
    basis = (
        _t("Arvio perustuu simulaattorin tunnettuun totuuteen.", "Based on the simulator's known truth.")
        if method == "truth"
        else _t(
            "Arvio on kaksoisrobusti estimaatti havaituista tuloksista (oletus: ei havaitsemattomia sekoittavia tekijöitä).",
            "A doubly robust estimate from observed outcomes (assuming no unobserved confounding).",
        )
    )
    lead = (
        '<p class="lead">'
        + _t("Jos asiantuntijat seuraisivat Polkun ensimmäistä suositusta, odotettu työhön tai koulutukseen päätyvien osuus olisi ",
             "If caseworkers followed Polku's first recommendation, the expected share reaching work or education would be ")
        + _num(["overall", "v_rec"], overall.get("v_rec"), "share", suppressed=overall.get("v_rec") is None)
        + _t(" (toteutunut käytäntö: ", " (historical practice: ")
        + _num(["overall", "v_hist"], overall.get("v_hist"), "share", suppressed=overall.get("v_hist") is None)
        + "). "
        + _t(f"Ryhmien väliset erot: kapenevat {counts['narrows']} ominaisuudessa, levenevät {counts['widens']}, "
             f"ei selvää muutosta {counts['no_clear_change']}.",
             f"Gaps between groups: narrower for {counts['narrows']} attributes, wider for {counts['widens']}, "
             f"no clear change for {counts['no_clear_change']}.")
        + " " + basis + "</p>"
    )
    items = []
    for index, item in enumerate(headline):
        verdict = item["verdict"]
        fi, en = VERDICTS.get(verdict, (verdict, verdict))
        items.append(
            f'<li data-verdict="{_e(verdict)}" data-index="{index}"><span class="badge {_e(verdict)}">{_t(fi, en)}</span>'
            f"{_both(item.get('text', {}))}</li>"
        )
    flags = report.get("flags", [])
    settings = report["settings"]
    bounds = {
        lang: (format_value(settings["max_difference"], "points", lang), format_value(settings["min_ratio"], "ratio", lang))
        for lang in LANGUAGES
    }
    by_source = {source: sum(1 for f in flags if f.get("source") == source) for source in SOURCES}
    flag_line = _t(
        f"{len(flags)} ryhmien välistä eroa on raja-arvojen ulkopuolella (ero yli {bounds['fi'][0]} %-yksikköä tai suhde alle {bounds['fi'][1]}): "
        f"{by_source['model']} mallin luvuissa, {by_source['history']} historiallisissa tuloksissa, {by_source['decisions']} poikkeamisissa. Ne on merkitty taulukoihin.",
        f"{len(flags)} gaps between groups are outside the bounds (difference above {bounds['en'][0]} percentage points or ratio below {bounds['en'][1]}): "
        f"{by_source['model']} in the model's figures, {by_source['history']} in historical outcomes, {by_source['decisions']} in overrides. They are marked in the tables.",
    )
    return (
        f'<section class="findings" id="findings"><h2>{_t("Tärkeimmät havainnot", "Key findings")}</h2>'
        f"{lead}<ul>{''.join(items)}</ul><p class=\"note\">{flag_line}</p></section>"
    )


def _headline_plot(report: Mapping[str, Any]) -> str:
    rows = [h for h in report.get("headline", []) if h.get("gap_history") is not None]
    if not rows:
        return ""
    figure = _new_figure(9.0, 0.42 * len(rows) + 1.6)
    axes = figure.subplots()
    y = np.arange(len(rows))[::-1]
    names = [f"{ATTRIBUTE_LABELS[h['attribute']]['fi']} / {ATTRIBUTE_LABELS[h['attribute']]['en']}" for h in rows]
    hist = np.array([h["gap_history"] for h in rows]) * 100
    rec = np.array([h["gap_recommended"] for h in rows]) * 100
    colours = {"narrows": "#1a7f37", "widens": "#cf222e"}
    for yi, a, b, h in zip(y, hist, rec, rows, strict=True):
        axes.annotate("", xy=(b, yi), xytext=(a, yi),
                      arrowprops={"arrowstyle": "->", "color": colours.get(h["verdict"], "#6e7781"), "lw": 1.6})
    axes.scatter(hist, y, color="#8c959f", zorder=3, label="historia / history")
    axes.scatter(rec, y, color="#0b5cad", zorder=3, label="Polku")
    axes.set_yticks(y, names)
    axes.set_xlabel("ero ryhmien välillä, %-yks. / gap between groups, pp")
    axes.set_xlim(left=0)
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    return _img(_png(figure), {"fi": "Ryhmien väliset erot: historia ja Polku", "en": "Gaps between groups: history and Polku"})


def _attribute_plot(section: Mapping[str, Any]) -> str:
    groups = [g for g in section["groups"] if g.get("v_hist") is not None and g.get("v_rec") is not None]
    if not groups:
        return ""
    labels = section.get("group_labels", {})
    figure = _new_figure(9.0, 0.3 * len(groups) + 1.5)
    axes = figure.subplots()
    y = np.arange(len(groups))[::-1]
    hist = np.array([g["v_hist"] for g in groups]) * 100
    rec = np.array([g["v_rec"] for g in groups]) * 100
    for yi, a, b in zip(y, hist, rec, strict=True):
        axes.plot([a, b], [yi, yi], color="#afb8c1", lw=1.5, zorder=1)
    axes.scatter(hist, y, color="#8c959f", zorder=3, label="historia / history")
    axes.scatter(rec, y, color="#0b5cad", zorder=3, label="Polku")
    axes.set_yticks(y, [labels.get(g["group"], {}).get("en", g["group"]) for g in groups])
    axes.set_xlabel("odotettu hyvä tulos, % / expected good outcome, %")
    figure.legend(loc="outside upper center", ncols=2, fontsize="small")
    axes.grid(axis="x", alpha=0.3)
    label = section["label"]
    return _img(_png(figure), {"fi": f"{label['fi']}: odotettu tulos ryhmittäin", "en": f"{label['en']}: expected outcome by group"})


def _group_table(section: Mapping[str, Any]) -> str:
    name = section["name"]
    groups = section["groups"]
    labels = section.get("group_labels", {})
    present = {key for g in groups for key in g}
    present |= {"gain_interval"} if "gain_low" in present else set()
    columns = [c for c in GROUP_COLUMNS if c[0] in present]
    head = "".join(
        f'<th class="num">{_t(fi, en)}</th>' for _, _, fi, en in columns
    )
    rows = []
    for g in groups:
        hidden = set(g.get("suppressed", []))
        cells = []
        for field_name, kind, _, _ in columns:
            base = ["attributes", name, "groups", g["group"]]
            if field_name == "gain_interval":
                low = _num([*base, "gain_low"], g.get("gain_low"), kind, suppressed="gain_low" in hidden)
                high = _num([*base, "gain_high"], g.get("gain_high"), kind, suppressed="gain_high" in hidden)
                cells.append(f'<td class="num">{low} … {high}</td>')
                continue
            cells.append(
                f'<td class="num">{_num([*base, field_name], g.get(field_name), kind, suppressed=field_name in hidden)}</td>'
            )
        rows.append(f"<tr><th>{_group_name(labels, g['group'])}</th>{''.join(cells)}</tr>")
    return (
        f'<div class="scroll"><table class="groups" data-attribute="{_e(name)}"><thead><tr>'
        f"<th>{_t('Ryhmä', 'Group')}</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _gap_table(section: Mapping[str, Any], settings: Mapping[str, Any]) -> str:
    rows = []
    for metric, gap in section.get("gaps", {}).items():
        fi, en = METRIC_NAMES.get(metric, (metric, metric))
        source = SOURCES.get(str(gap.get("source")), ("", ""))
        base = ["attributes", section["name"], "gaps", metric]
        kind = "prob" if metric in ("auc", "ece") else "points"
        flag = _t("ylittää rajan", "outside bounds") if gap.get("flagged") else ""
        rows.append(
            f'<tr class="{"flag" if gap.get("flagged") else ""}"><th>{_t(fi, en)}</th>'
            f'<td>{_t(*source)}</td>'
            f'<td class="num">{_num([*base, "difference"], gap.get("difference"), kind)}</td>'
            f'<td class="num">{_num([*base, "ratio"], gap.get("ratio"), "ratio")}</td>'
            f'<td class="num">{_num([*base, "groups_compared"], gap.get("groups_compared"), "count")}</td>'
            f"<td>{flag}</td></tr>"
        )
    return (
        f"<h3>{_t('Erot ryhmien välillä', 'Gaps between groups')}</h3>"
        f'<p class="note">{_t("Suurin miinus pienin julkaistu ryhmäarvo (ero) ja pienin jaettuna suurimmalla (suhde), Fairlearnin määritelmin; ryhmä ”ei tiedossa” ei ole mukana.", "Largest minus smallest published group value (difference) and smallest over largest (ratio), as Fairlearn defines them; the group “unknown” is left out.")}</p>'
        f'<div class="scroll"><table class="gaps"><thead><tr><th>{_t("Mittari", "Metric")}</th><th>{_t("Lähde", "Source")}</th>'
        f'<th class="num">{_t("Ero", "Difference")}</th><th class="num">{_t("Suhde", "Ratio")}</th>'
        f'<th class="num">{_t("Ryhmiä", "Groups")}</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody></table></div>'
    )


def _distribution_table(
    section: Mapping[str, Any],
    key: str,
    rows: Sequence[Mapping[str, Any]],
    columns: Sequence[str],
    column_names: Mapping[str, Mapping[str, str]],
    caption: str,
) -> str:
    labels = section.get("group_labels", {})
    used = [c for c in columns if any((r["counts"].get(c) or 0) > 0 or r["counts"].get(c) is None for r in rows)]
    head = "".join(f'<th class="num">{_both(column_names.get(c) or {"fi": c, "en": c})}</th>' for c in used)
    body = []
    for row in rows:
        base = ["attributes", section["name"], *key.split("."), row["group"]]
        cells = []
        for c in used:
            hidden = row["shares"].get(c) is None and (row["counts"].get(c) is None or row["total"] is None)
            cells.append(
                f'<td class="num">{_num([*base, "shares", c], row["shares"].get(c), "share", suppressed=hidden)}</td>'
            )
        total = _num([*base, "total"], row["total"], "count", suppressed=row["total"] is None)
        body.append(f"<tr><th>{_group_name(labels, row['group'])}</th><td class=\"num\">{total}</td>{''.join(cells)}</tr>")
    return (
        f"<h3>{caption}</h3><div class=\"scroll\"><table class=\"dist\"><thead><tr><th>{_t('Ryhmä', 'Group')}</th>"
        f'<th class="num">{_t("Yhteensä", "Total")}</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'
    )


REASON_NAMES: Final[dict[str, dict[str, str]]] = {
    "client_preference": {"fi": "asiakkaan toive", "en": "client preference"},
    "waiting_time": {"fi": "jonotusaika", "en": "waiting time"},
    "not_available": {"fi": "ei saatavilla", "en": "not available"},
    "eligibility_error": {"fi": "virhe kelpoisuudessa", "en": "eligibility error"},
    "professional_judgement": {"fi": "ammatillinen harkinta", "en": "professional judgement"},
    "none_suitable": {"fi": "mikään ei sovi", "en": "none suitable"},
    "other": {"fi": "muu", "en": "other"},
    "unknown": {"fi": "ei syytä", "en": "no reason"},
}


def _attribute_section(report: Mapping[str, Any], section: Mapping[str, Any]) -> str:
    label = section["label"]
    used = section.get("used_as_feature")
    role = (
        _t("mallin syöte", "model feature") if used else _t("vain arviointiin", "audit only")
    )
    parts = [
        f'<section class="attribute" id="attr-{_e(section["name"])}"><h2>{_both(label)} <span class="pill">{role}</span></h2>',
        _attribute_plot(section),
        _group_table(section),
        _gap_table(section, report["settings"]),
    ]
    names = report.get("service_names", {})
    services = section.get("services")
    if services:
        actions = report.get("actions", [])
        parts.append(_distribution_table(section, "services.recommended", services["recommended"], actions, names,
                                         _t("Polkun ensimmäiset suositukset (osuus päätöskohdista)", "Polku's first recommendations (share of decision points)")))
        parts.append(_distribution_table(section, "services.historical", services["historical"], actions, names,
                                         _t("Asiantuntijoiden toteutuneet valinnat (osuus päätöskohdista)", "Caseworkers' actual choices (share of decision points)")))
    reasons = section.get("override_reasons")
    if reasons:
        columns = list(reasons[0]["counts"]) if reasons else []
        parts.append(_distribution_table(section, "override_reasons", reasons, columns, REASON_NAMES,
                                         _t("Poikkeamisten syyt (osuus poikkeamisista)", "Reasons for overrides (share of overrides)")))
    parts.append("</section>")
    return "".join(parts)


def _overall_table(report: Mapping[str, Any]) -> str:
    overall = report.get("overall", {})
    fields = [
        ("clients", "count", "Asiakkaita", "Clients"),
        ("decision_points", "count", "Päätöskohtia", "Decision points"),
        ("base_rate", "share", "Toteutunut hyvä tulos", "Observed good outcome"),
        ("mean_p_outcome", "share", "Ennuste toteutuneelle palvelulle", "Predicted, service taken"),
        ("v_hist", "share", "Odotettu tulos: historia", "Expected outcome: history"),
        ("v_rec", "share", "Odotettu tulos: Polku", "Expected outcome: Polku"),
        ("expected_gain", "pp", "Odotettu hyöty, %-yks.", "Expected gain, pp"),
        ("gain_low", "pp", "… 95 %:n välin alaraja", "… 95% interval, low"),
        ("gain_high", "pp", "… 95 %:n välin yläraja", "… 95% interval, high"),
        ("auc", "prob", "AUC", "AUC"),
        ("ece", "prob", "Kalibrointivirhe (ECE)", "Calibration error (ECE)"),
        ("decisions", "count", "Kirjattuja päätöksiä", "Decisions recorded"),
        ("override_rate", "share", "Poikkeamisosuus", "Override rate"),
    ]
    rows = "".join(
        f'<tr><th>{_t(fi, en)}</th><td class="num">{_num(["overall", f], overall.get(f), kind, suppressed=overall.get(f) is None)}</td></tr>'
        for f, kind, fi, en in fields
        if f in overall
    )
    return f'<h2>{_t("Kokonaisluvut", "Overall figures")}</h2><table class="overall">{rows}</table>'


def _headline_table(report: Mapping[str, Any]) -> str:
    rows = []
    for item in report.get("headline", []):
        base = ["headline", item["attribute"]]
        fi, en = VERDICTS.get(item["verdict"], (item["verdict"], item["verdict"]))
        rows.append(
            f"<tr><th>{_both(ATTRIBUTE_LABELS[item['attribute']])}</th>"
            f'<td class="num">{_num([*base, "gap_history"], item.get("gap_history"), "points")}</td>'
            f'<td class="num">{_num([*base, "gap_recommended"], item.get("gap_recommended"), "points")}</td>'
            f'<td class="num">{_num([*base, "change"], item.get("change"), "pp")}</td>'
            f'<td class="num">{_num([*base, "change_low"], item.get("change_low"), "pp")} … '
            f'{_num([*base, "change_high"], item.get("change_high"), "pp")}</td>'
            f'<td><span class="badge {_e(item["verdict"])}">{_t(fi, en)}</span></td></tr>'
        )
    return (
        f'<div class="scroll"><table class="headline"><thead><tr><th>{_t("Ominaisuus", "Attribute")}</th>'
        f'<th class="num">{_t("Ero: historia", "Gap: history")}</th><th class="num">{_t("Ero: Polku", "Gap: Polku")}</th>'
        f'<th class="num">{_t("Muutos", "Change")}</th><th class="num">{_t("95 %:n väli", "95% interval")}</th>'
        f"<th></th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _how_to_read(report: Mapping[str, Any]) -> str:
    k = report["suppression"]["k"]
    used = report.get("attributes_used", {})
    feature_names = ", ".join(ATTRIBUTE_LABELS[a]["en"] for a in used.get("model_features", [])) or "none"
    feature_names_fi = ", ".join(ATTRIBUTE_LABELS[a]["fi"] for a in used.get("model_features", [])) or "ei mitään"
    audit = ", ".join(ATTRIBUTE_LABELS[a]["en"] for a in used.get("audit_only", [])) or "none"
    audit_fi = ", ".join(ATTRIBUTE_LABELS[a]["fi"] for a in used.get("audit_only", [])) or "ei mitään"
    return (
        f'<h2>{_t("Näin luet raporttia", "How to read this report")}</h2><ul>'
        + "<li>" + _t(
            "Hyvä tulos = työ tai koulutus alkaa vuoden kuluessa päätöksestä. ”Odotettu: historia” on se, mitä toteutunut käytäntö tuotti; ”Odotettu: Polku” on arvio siitä, mitä Polkun ensimmäisen suosituksen seuraaminen tuottaisi samoille asiakkaille.",
            "Good outcome = work or education starts within a year of the decision. “Expected: history” is what historical practice achieved; “Expected: Polku” estimates what following Polku's first recommendation would achieve for the same clients.") + "</li>"
        + "<li>" + _t(
            "Ero kapenee, kun ryhmien välinen ero odotetussa tuloksessa on Polkua seuraten pienempi kuin historiassa ja koko 95 %:n väli on nollan alapuolella.",
            "A gap narrows when the difference between groups in expected outcome is smaller under Polku than in history and the whole 95% interval of the change is below zero.") + "</li>"
        + "<li>" + _t(
            f"Tietosuoja: alle {k} asiakkaan solut ja niistä lasketut osuudet on piilotettu merkinnällä {MARK}, samoin solut, joista piilotettu luku voitaisiin laskea summista.",
            f"Privacy: cells of fewer than {k} clients and the rates computed from them are hidden as {MARK}, and so are cells from which a hidden number could be worked out from totals.") + "</li>"
        + "<li>" + _t(
            f"Mallin syötteinä käytetyt ominaisuudet: {feature_names_fi}. Vain arviointiin käytetyt: {audit_fi}.",
            f"Attributes the model uses as features: {feature_names}. Used for this audit only: {audit}.") + "</li>"
        + "</ul>"
    )


def render_fairness_html(report: Mapping[str, Any], language: str = "fi") -> str:
    """The fairness report as one self-contained HTML page (Finnish and English).

    `report` is the dict of `model.fairness.fairness_report` (or its JSON read
    back); the model card's fairness summary is not a report and is refused.
    """
    if report.get("kind") != REPORT_KIND:
        raise ValueError("not a fairness report: expected the dict of model.fairness.fairness_report")
    model = report.get("model", {})
    version = model.get("version")
    meta = _t(
        f"Malli {model.get('name') or 'Polku'} {'versio ' + str(version) if version else ''} · oppija {model.get('learner') or '–'} · luotu {report.get('generated_at', '')}",
        f"Model {model.get('name') or 'Polku'} {'version ' + str(version) if version else ''} · learner {model.get('learner') or '–'} · generated {report.get('generated_at', '')}",
    )
    body = [
        _findings(report),
        _headline_plot(report),
        _headline_table(report),
        _how_to_read(report),
        _overall_table(report),
    ]
    body += [_attribute_section(report, section) for section in report.get("attributes", [])]
    body.append(
        "<footer>"
        + _t(
            f"Menetelmä: {'simulaattorin totuus' if report.get('method') == 'truth' else 'kaksoisrobusti estimaatti'}; "
            f"välit: asiakastason bootstrap ({report['settings']['n_boot']} toistoa). Piilotettuja soluja: {report['suppression']['cells_hidden']}.",
            f"Method: {'simulator truth' if report.get('method') == 'truth' else 'doubly robust estimate'}; "
            f"intervals: client-level bootstrap ({report['settings']['n_boot']} replicates). Cells hidden: {report['suppression']['cells_hidden']}.",
        )
        + "</footer>"
    )
    return _page({"fi": "Polku – yhdenvertaisuusraportti", "en": "Polku – fairness report"}, meta, "".join(body), language)


# --------------------------------------------------------------------------
# the model card
# --------------------------------------------------------------------------


def _policy_plot(card: Mapping[str, Any]) -> str:
    compared = card.get("learners", {}).get("compared", {})
    names = [n for n, f in compared.items() if f.get("v_rec") is not None or f.get("dr_value") is not None]
    if not names:
        return ""
    figure = _new_figure(6.5, 3.6)
    axes = figure.subplots()
    x = np.arange(len(names), dtype=float)
    hist = [compared[n].get("v_hist") for n in names]
    rec = [compared[n].get("v_rec") if compared[n].get("v_rec") is not None else compared[n].get("dr_value") for n in names]
    width = 0.38
    axes.bar(x - width / 2, [np.nan if v is None else v * 100 for v in hist], width, color="#8c959f", label="historia / history")
    axes.bar(x + width / 2, [np.nan if v is None else v * 100 for v in rec], width, color="#0b5cad", label="Polku")
    for i, n in enumerate(names):
        oracle = compared[n].get("v_oracle")
        if oracle is not None:
            axes.hlines(oracle * 100, x[i] - width, x[i] + width, colors="#1a7f37", linestyles="--",
                        label="paras / best" if i == 0 else "_nolegend_")
    axes.set_xticks(x, names)
    axes.set_ylabel("hyvä tulos, % / good outcome, %")
    axes.legend(fontsize="small", loc="lower right")
    return _img(_png(figure), {"fi": "Politiikan arvo oppijoittain", "en": "Policy value by learner"})


def _card_figures(card: Mapping[str, Any]) -> str:
    compared = card.get("learners", {}).get("compared", {})
    names = list(compared)
    keys = [k for k in FIGURE_LABELS if any(compared[n].get(k) is not None for n in names)]
    head = "".join(f'<th class="num">{_e(n)}{" ★" if n == card["learners"].get("chosen") else ""}</th>' for n in names)
    rows = []
    for key in keys:
        kind = "prob" if key in ("auc", "brier", "ece", "capture_ratio") else "share"
        cells = "".join(
            f'<td class="num">{_num(["learners", "compared", n, key], compared[n].get(key), kind)}</td>' for n in names
        )
        rows.append(f"<tr><th>{_both(FIGURE_LABELS[key])}</th>{cells}</tr>")
    if not keys:
        return f'<p class="note">{_t("Arviointilukuja ei annettu tälle kortille.", "No evaluation figures were given for this card.")}</p>'
    return (
        f'<div class="scroll"><table class="figures"><thead><tr><th>{_t("Mittari", "Figure")}</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _kv(items: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<dt>{_e(k)}</dt><dd>{_e(json.dumps(v, ensure_ascii=False) if isinstance(v, Mapping | list) else v)}</dd>"
        for k, v in items.items()
        if v is not None
    )
    return f'<dl class="kv">{rows}</dl>'


def render_model_card_html(card: Mapping[str, Any], language: str = "fi") -> str:
    """The model card as one self-contained HTML page (Finnish and English)."""
    if card.get("kind") != CARD_KIND:
        raise ValueError("not a model card: expected the dict of model.model_card.build_model_card")
    model = card.get("model", {})
    fairness = card.get("fairness") or {}
    features = card.get("features", {})
    learners = card.get("learners", {})
    oversight = card.get("human_oversight", {})
    meta = _t(
        f"Versio {model.get('version') or '–'} · oppija {model.get('learner') or '–'} · koulutettu {model.get('trained_at') or '–'}",
        f"Version {model.get('version') or '–'} · learner {model.get('learner') or '–'} · trained {model.get('trained_at') or '–'}",
    )
    body = [
        f'<section class="findings" id="findings"><h2>{_t("Mihin Polku on tarkoitettu", "What Polku is for")}</h2>'
        f'<p class="lead">{_both(card.get("intended_use", {}))}</p>'
        f'<p>{_t("Suosituksen ohittaminen", "To override a recommendation")}: <code>{_e(oversight.get("override", {}).get("endpoint", ""))}</code> – '
        f'{_both(oversight.get("override", {}))}</p>'
        f'<p>{_t("Pysäytys", "To stop it")}: <code>{_e(oversight.get("stop", {}).get("endpoint", ""))}</code> – '
        f'{_both(oversight.get("stop", {}))}</p></section>',
        f'<h2>{_t("Käyttäjät", "Users")}</h2><ul>' + "".join(f"<li>{_both(u)}</li>" for u in card.get("intended_users", [])) + "</ul>",
        f'<h2>{_t("Ei tarkoitettu", "Out of scope")}</h2><ul>' + "".join(f"<li>{_both(u)}</li>" for u in card.get("out_of_scope", [])) + "</ul>",
    ]
    if fairness:
        flagged = fairness.get("flagged_gaps", 0)
        items = "".join(
            f'<li><span class="badge {_e(h["verdict"])}">{_t(*VERDICTS.get(h["verdict"], (h["verdict"], h["verdict"])))}</span>{_both(h.get("text", {}))}</li>'
            for h in fairness.get("headline", [])
        )
        body.append(
            f'<h2>{_t("Yhdenvertaisuus", "Fairness")}</h2><ul class="plain">{items}</ul>'
            f'<p class="note">{_t(f"Raja-arvot ylittäviä eroja: {flagged}. Kaikki luvut: yhdenvertaisuusraportti.", f"Gaps outside the bounds: {flagged}. Every figure: the fairness report.")}</p>'
        )
    body.append(
        f'<h2>{_t("Oppijat ja valinta", "Learners compared and the choice")}</h2>'
        f'<p>{_both(learners.get("why", {}))} '
        + _t(f"Valittu: {learners.get('chosen')}.", f"Chosen: {learners.get('chosen')}.")
        + "</p>"
        + _policy_plot(card)
        + _card_figures(card)
    )
    body.append(
        f'<h2>{_t("Ominaisuudet", "Features")}</h2>'
        f'<p>{_both(features.get("note", {}))}</p>'
        f'<p>{_t("Suojattuja, ei käytössä", "Protected, not used")}: {_e(", ".join(features.get("protected_excluded", [])) or "–")}<br>'
        f'{_t("Suojattuja, käytössä", "Protected, used")}: {_e(", ".join(features.get("protected_used", [])) or "–")}<br>'
        f'{_t("Mallin syötteet", "Model inputs")}: {_e(", ".join(features.get("used", [])))}</p>'
    )
    body.append(
        f'<h2>{_t("Rajoitukset ja riskit", "Limitations and known risks")}</h2><ul>'
        + "".join(f'<li id="limit-{_e(item.get("id", ""))}">{_both(item)}</li>' for item in card.get("limitations", []))
        + "</ul>"
    )
    body.append(f'<h2>{_t("Data", "Data")}</h2>{_kv(card.get("data", {}))}')
    body.append(f'<h2>{_t("Malli", "Model")}</h2>{_kv(model)}')
    body.append(f'<footer>{_both(card.get("privacy", {}))}</footer>')
    return _page({"fi": "Polku – mallikortti", "en": "Polku – model card"}, meta, "".join(body), language)
