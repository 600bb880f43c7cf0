"""The loop closed: caseworkers' decisions joined with the outcomes that arrived later.

Once Polku has served for a while, the API's database holds what it
suggested and what caseworkers chose, and the data holds what happened to
the clients afterwards. `followup_report` joins the two and answers a data
scientist's questions, one module each:

- `rows`: one row per decision, its suggestion, choice and matured outcome;
- `comparison`: outcomes of following the first suggestion vs choosing
  another, observed and doubly robust adjusted, with 95 % intervals;
- `overrides`: override rates and reasons over time and per unit;
- `calibration`: whether `p_outcome` matched the outcomes that arrived;
- `drift`: population stability of each input feature against the training data;
- `report`: the whole report and its advice on when to retrain.

docs/reports.md describes the report for its readers.
"""

from model.followup.report import FOLLOWUP_KIND, followup_report
from model.followup.rows import decision_rows, matured_outcomes

__all__ = ["FOLLOWUP_KIND", "decision_rows", "followup_report", "matured_outcomes"]
