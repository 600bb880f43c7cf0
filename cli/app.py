"""The `polku` command line: a thin shell around the training pipeline and the API.

Every command prints domain errors as one readable line and exits with a
non-zero status, never with a stack trace. Heavy imports happen inside the
commands so that `polku --help` is quick. Progress and messages go to
standard error; results (tables, `--json`) to standard output.

The commands live by subject: `cli.data` (simulate, validate, pseudonymize),
`cli.training` (train, evaluate), `cli.promotion` (compare, promote),
`cli.tuning` (tune), `cli.caseload` (recommend), `cli.planning` (plan),
`cli.reports` (report ...), `cli.demo`, and `cli.server` (keys, db, serve).
"""

from __future__ import annotations

from cli import caseload, data, demo, planning, promotion, reports, server, training, tuning
from cli.console import app

for module in (data, training, promotion, tuning, caseload, planning, reports, demo, server):
    module.register(app)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
