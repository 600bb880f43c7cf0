"""The fairness report and the small-cell suppression that keeps it anonymous.

Does the model treat groups of clients fairly, and would following it narrow
or widen the gaps that historical practice left? `fairness_report` answers
with a JSON-ready dict, built in steps that each have a module:

- `settings`: how the report is computed (`FairnessSettings`);
- `groups`: each client's group per attribute, and the groups' order;
- `suppression`: hiding small counts in a table so no person can be told apart;
- `tables`: the tables of counts the report publishes, suppressed together;
- `decisions`: caseworkers' decisions and overrides, read into those tables;
- `metrics`: the per-group figures through Fairlearn's `MetricFrame`;
- `intervals`: 95 % intervals of group rates and of the gaps between groups;
- `gaps`: differences and ratios between groups, and the headline;
- `text`: the report's words in Finnish, Swedish and English;
- `sections`: one attribute's rows, gaps and headline;
- `report`: the whole report.

docs/fairness.md describes the report for its readers. The names below are
the package's public interface; code inside the package imports from the
modules.
"""

from model.fairness.decisions import decisions_from_store
from model.fairness.gaps import gap
from model.fairness.groups import ATTRIBUTES, INTERSECTION, group_labels
from model.fairness.report import REPORT_KIND, fairness_report
from model.fairness.settings import FairnessSettings
from model.fairness.text import ATTRIBUTE_LABELS

__all__ = [
    "ATTRIBUTES",
    "ATTRIBUTE_LABELS",
    "INTERSECTION",
    "REPORT_KIND",
    "FairnessSettings",
    "decisions_from_store",
    "fairness_report",
    "gap",
    "group_labels",
]
