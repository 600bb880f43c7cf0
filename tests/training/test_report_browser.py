"""The fairness report and the model card open in a real browser (headless
Chromium): they render with no console errors, every embedded plot decodes,
the language switch shows one language, and a screenshot is saved.

Chromium is Debian's `chromium` package (.ci/run installs it). Locally the
test is skipped when it is missing; in CI (CI=true) a missing browser fails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from matplotlib.image import imread

from model.followup import followup_report
from tests.support.chromium import chromium, console_messages, run_chromium
from tests.support.followup_rows import synthetic_rows
from tests.support.report_world import MODEL, build_world, held_out_report
from training.reports.build import FAIRNESS_HTML, MODEL_CARD_HTML, model_card_for, write_reports
from training.reports.followup import FOLLOWUP_HTML, write_followup

pytestmark = pytest.mark.browser

# Runs in the page (only in the test's copy: the report itself has no script).
PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) {
  window.__problems.push("error:" + (e.message || (e.target && e.target.tagName) || e.type));
}, true);
window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  images.forEach(function (img, i) {
    if (!img.complete || img.naturalWidth === 0) { window.__problems.push("image " + i + " did not decode"); }
  });
  var fi = document.querySelector("#findings .lead .fi");
  var sv = document.querySelector("#findings .lead .sv");
  var en = document.querySelector("#findings .lead .en");
  if (!fi || getComputedStyle(fi).display === "none") { window.__problems.push("Finnish text hidden"); }
  if (!sv || getComputedStyle(sv).display !== "none") { window.__problems.push("Swedish text shown"); }
  if (!en || getComputedStyle(en).display !== "none") { window.__problems.push("English text shown"); }
  document.body.setAttribute("data-probe", window.__problems.length ? window.__problems.join("|") : "ok");
  document.body.setAttribute("data-images", String(images.length));
});
</script>"""


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    chromium()  # skip (or fail in CI) before building anything
    world = build_world()
    report = held_out_report()
    card = model_card_for(
        world.router,
        fairness=report,
        model=MODEL,
        evaluation={"v_hist": 0.22, "v_rec": 0.27, "v_oracle": 0.4, "auc": 0.8, "ece": 0.03},
        has_truth=True,
    )
    folder = tmp_path_factory.mktemp("reports")
    paths = write_reports(folder, report, card)
    rows, reference = synthetic_rows(n=3000, seed=1, shift=0.5)
    followup = followup_report(rows, reference, k=5, model=MODEL)
    paths.update(write_followup(folder, followup))
    return {"folder": folder, "paths": paths, "report": report}


def check_screenshot(page: Path, shot: Path, tmp_path: Path) -> None:
    """Screenshot the page as an evaluator first sees it (1280 x 1600) and check it drew."""
    done = run_chromium(
        ["--window-size=1280,1600", "--hide-scrollbars", f"--screenshot={shot}", page.as_uri()],
        tmp_path / "profile-shot",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert console_messages(done.stderr) == []
    assert shot.is_file() and shot.stat().st_size > 10_000
    pixels = imread(shot)
    # the page drew its header (dark blue band) and is not blank
    header = pixels[20:60, 20:400, :3].reshape(-1, 3).mean(axis=0)
    assert header[2] > header[0] + 0.2, f"no header colour at the top, mean {header}"
    assert np.unique(pixels[:, :, :3].reshape(-1, 3), axis=0).shape[0] > 50
    print(f"screenshot: {shot}")


# Lays the page out as printed (the print rules applied to the screen, an A4
# landscape page's width) and reports every table cell that ends beyond it.
PRINT_PROBE = """<script>
window.addEventListener("load", function () {
  var width = document.documentElement.clientWidth, lost = [];
  document.querySelectorAll("table").forEach(function (table, i) {
    var cells = table.querySelectorAll("th, td");
    cells.forEach(function (cell) {
      if (cell.getBoundingClientRect().right > width + 1) { lost.push(i); }
    });
  });
  document.body.setAttribute("data-print", lost.length ? "lost:" + lost.join(",") : "ok");
  document.body.setAttribute("data-tables", String(document.querySelectorAll("table").length));
});
</script>"""
A4_LANDSCAPE_PX = 1032  # 297 mm less two 12 mm margins, at 96 px per inch


@pytest.mark.parametrize("name", [FAIRNESS_HTML, MODEL_CARD_HTML, FOLLOWUP_HTML])
def test_print_layout_keeps_every_column_on_the_page(
    written: dict[str, Any], name: str, tmp_path: Path
) -> None:
    text = written["paths"][name].read_text("utf-8").replace("@media print", "@media all")
    page = tmp_path / f"print-{name}"
    page.write_text(text.replace("<head>", "<head>" + PRINT_PROBE, 1), "utf-8")
    dumped = run_chromium(
        [
            f"--window-size={A4_LANDSCAPE_PX},1400",
            "--virtual-time-budget=5000",
            "--dump-dom",
            page.as_uri(),
        ],
        tmp_path / "profile-print",
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'data-print="ok"' in dumped.stdout, dumped.stdout[-600:]
    assert 'data-tables="0"' not in dumped.stdout
    shot = written["folder"] / f"print-{name}.png"
    done = run_chromium(
        [
            f"--window-size={A4_LANDSCAPE_PX},1400",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        tmp_path / "profile-print-shot",
    )
    assert done.returncode == 0
    print(f"print screenshot: {shot}")


@pytest.mark.parametrize("name", [FAIRNESS_HTML, MODEL_CARD_HTML, FOLLOWUP_HTML])
def test_report_renders_without_console_errors(
    written: dict[str, Any], name: str, tmp_path: Path
) -> None:
    page = written["paths"][name]
    if name in (FAIRNESS_HTML, FOLLOWUP_HTML):
        check_screenshot(page, written["folder"] / name.replace(".html", ".png"), tmp_path)
    probe_page = tmp_path / f"probe-{name}"
    text = page.read_text("utf-8")
    probe_page.write_text(text.replace("<head>", "<head>" + PROBE, 1), "utf-8")
    dumped = run_chromium(
        ["--virtual-time-budget=5000", "--dump-dom", probe_page.as_uri()], tmp_path / "profile-dom"
    )
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    assert 'data-probe="ok"' in dumped.stdout, dumped.stdout[:400] + dumped.stderr[-2000:]
    assert console_messages(dumped.stderr) == []
    if name in (FAIRNESS_HTML, FOLLOWUP_HTML):
        assert 'data-images="0"' not in dumped.stdout
