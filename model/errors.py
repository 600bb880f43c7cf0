"""One hierarchy of domain errors.

Each subclasses a builtin so callers that only know Python's own errors still
catch them (as scikit-learn's `NotFittedError(ValueError)` does). The API
translates them to problem details in one place; the command line prints them
without a stack trace.
"""

from __future__ import annotations


class PolkuError(Exception):
    """Base of every error Polku raises on purpose."""


class CatalogueError(PolkuError, ValueError):
    """The service catalogue file or one of its rules is not valid."""


class ConfigError(PolkuError, ValueError):
    """A run configuration is not valid."""


class DataContractError(PolkuError, ValueError):
    """Input tables break the data contract; `problems` lists every failure."""

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class NotFittedError(PolkuError, ValueError):
    """A learner was used before `fit`."""


class UnknownServiceError(PolkuError, KeyError):
    """A service code that the catalogue does not have."""

    def __str__(self) -> str:  # KeyError quotes its argument; keep the message readable
        return str(self.args[0]) if self.args else "unknown service"


class PersonalIdentityCodeError(PolkuError, ValueError):
    """A value looks like a Finnish personal identity code; ids must be pseudonymous."""


class SuppressionError(PolkuError, ValueError):
    """Small-cell suppression was asked for something unsafe or malformed (e.g. k < 3)."""


class CapacityError(PolkuError, ValueError):
    """A capacity table breaks its rules; `problems` lists each (file, row, column, message)."""

    def __init__(self, message: str, problems: list[dict[str, object]] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class PlanningError(PolkuError, ValueError):
    """A batch cannot be planned as asked (a client twice, an impossible limit, ...)."""
