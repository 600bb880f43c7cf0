"""The fairness report and the model card as self-contained HTML pages.

`render_fairness_html` and `render_model_card_html` turn the JSON-ready
dicts into one HTML page each: inline CSS, plots embedded as base64 PNG, no
scripts and nothing fetched, so the page opens from a file, an MLflow
artifact or the API alike. Both Finnish and English are on the page, with a
switch (pure CSS) choosing the one shown; headline findings come first, in
plain language.

Every number on the page is rendered from the dict, never recomputed, and
carries its place in the JSON (`data-key`, a JSON list of keys) and its
value (`data-value`), so a test can check that the page shows exactly the
JSON's numbers. Suppressed values are shown as `model.suppression.MARK`.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, Final

from model.fairness import ATTRIBUTE_LABELS, REPORT_KIND
from model.model_card import CARD_KIND, FIGURE_LABELS
from model.suppression import MARK
from training.reports.plots import group_outcomes_png, headline_gaps_png, learner_values_png

LANGUAGES: Final = ("fi", "en")
MISSING: Final = "–"


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


def _img(data: str | None, alt: Mapping[str, str]) -> str:
    if data is None:
        return ""
    alt_text = f"{alt.get('fi', '')} / {alt.get('en', '')}"
    return f'<img class="plot" alt="{_e(alt_text)}" src="data:image/png;base64,{data}">'


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
        _img(group_outcomes_png(section), {"fi": f"{label['fi']}: odotettu tulos ryhmittäin", "en": f"{label['en']}: expected outcome by group"}),
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
        _img(headline_gaps_png(report), {"fi": "Ryhmien väliset erot: historia ja Polku", "en": "Gaps between groups: history and Polku"}),
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
        + _img(learner_values_png(card), {"fi": "Politiikan arvo oppijoittain", "en": "Policy value by learner"})
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
