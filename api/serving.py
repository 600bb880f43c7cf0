"""The served model: where it comes from, how it is checked, how it is swapped.

A `ModelSource` loads a `ServedModel` (the router plus its registry facts).
The API's source is the MLflow registry (`RegistrySource`, through the read
side of `training.registry`, the one package that talks to MLflow); tests and
offline use may give any other source with the same methods.

`ModelHolder` keeps the model being served and swaps in a new one only when
it loaded *and* passed its golden cases (`model.golden`): a version that
fails either leaves the last good model serving, and the reason is kept for
readiness and logged. Until a first model is loaded the API is live but not
ready and recommendations answer 503; a background thread retries. A reload
asked of one worker reaches the others through the database (a reload
generation, see `api.storage.control`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from model.errors import PolkuError
from model.features import Feature, FeatureKind, feature_catalogue
from model.golden import check_golden
from model.model_card import with_model_identity
from model.router import Router

logger = logging.getLogger(__name__)


class ServedModelLike(Protocol):
    """What the API needs of a served model (`training.registry.served.ServedModel`)."""

    @property
    def router(self) -> Router: ...
    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def run_id(self) -> str | None: ...
    @property
    def evaluation(self) -> Mapping[str, Any]: ...
    @property
    def card(self) -> Mapping[str, Any] | None: ...


class ModelSource(Protocol):
    def load(self) -> ServedModelLike: ...
    def describe(self) -> str: ...
    def fairness_report(self, served: ServedModelLike) -> Mapping[str, Any] | None: ...
    def fairness_page(self, served: ServedModelLike) -> str | None: ...
    def run_report(self, served: ServedModelLike, name: str) -> Mapping[str, Any] | None: ...
    def run_report_page(self, served: ServedModelLike, name: str) -> str | None: ...


class GoldenCaseError(PolkuError, ValueError):
    """A model did not reproduce its golden cases; it is not served."""


@dataclass(frozen=True)
class RegistrySource:
    """The registered model `name` at `alias` (or a pinned `version`) in the MLflow registry."""

    name: str
    alias: str
    version: str | None
    tracking_uri: str | None

    def load(self) -> ServedModelLike:
        from training.registry.served import load_served  # MLflow is slow to import; only here

        return load_served(
            self.name, alias=self.alias, version=self.version, tracking_uri=self.tracking_uri
        )

    def describe(self) -> str:
        where = f"version {self.version}" if self.version else f"alias {self.alias}"
        return f"{self.name} at {where}"

    def fairness_report(self, served: ServedModelLike) -> Mapping[str, Any] | None:
        """The fairness report logged with the version's run; None when the run has none."""
        from training.registry.served import load_fairness_report

        report = (
            load_fairness_report(served.run_id, tracking_uri=self.tracking_uri)
            if served.run_id
            else None
        )
        if report is None:
            return None
        return with_model_identity(
            report, name=served.name, version=str(served.version), run_id=served.run_id
        )

    def fairness_page(self, served: ServedModelLike) -> str | None:
        """The fairness report's HTML page that training logged with the run; None without one."""
        from training.registry.served import load_fairness_html

        return (
            load_fairness_html(served.run_id, tracking_uri=self.tracking_uri)
            if served.run_id
            else None
        )

    def run_report(self, served: ServedModelLike, name: str) -> Mapping[str, Any] | None:
        """The report `name` that `polku report <name> --log` logged with the version's run
        (`services`, `followup`); None when the run has none."""
        from training.registry.served import load_run_report

        return (
            load_run_report(served.run_id, name, tracking_uri=self.tracking_uri)
            if served.run_id
            else None
        )

    def run_report_page(self, served: ServedModelLike, name: str) -> str | None:
        """The HTML page of the report `name` logged with the run; None without one."""
        from training.registry.served import load_run_report_html

        return (
            load_run_report_html(served.run_id, name, tracking_uri=self.tracking_uri)
            if served.run_id
            else None
        )


@dataclass(frozen=True)
class LoadedModel:
    """A served model that passed its checks, with what the request path needs."""

    served: ServedModelLike
    router: Router
    features: tuple[Feature, ...]
    services: frozenset[str]
    actions: tuple[str, ...]
    extras: Mapping[str, FeatureKind]
    loaded_at: datetime
    generation: int
    fairness: Mapping[str, Any] | None = None

    @property
    def name(self) -> str:
        return self.served.name

    @property
    def version(self) -> str:
        return str(self.served.version)


def prepare(
    served: ServedModelLike, *, generation: int, fairness: Mapping[str, Any] | None = None
) -> LoadedModel:
    """Check a freshly loaded model against its golden cases and prepare it for requests."""
    router = served.router
    problems = check_golden(router)
    if problems:
        raise GoldenCaseError(
            f"model {served.name} version {served.version} fails its golden cases: "
            + "; ".join(problems)
        )
    extras = dict(router.config.extra_features)
    return LoadedModel(
        served=served,
        router=router,
        features=feature_catalogue(router.catalogue.service_codes, extras),
        services=frozenset(router.catalogue.service_codes),
        actions=tuple(router.actions),
        extras=extras,
        loaded_at=datetime.now(UTC),
        generation=generation,
        fairness=fairness,
    )


@dataclass(frozen=True)
class LoadOutcome:
    loaded: bool
    serving: LoadedModel | None
    error: str | None


class ModelHolder:
    """The model being served, swapped atomically; failures keep the last good one."""

    def __init__(self, source: ModelSource, *, retry_seconds: float = 30.0) -> None:
        self.source = source
        self.retry_seconds = retry_seconds
        self.current: LoadedModel | None = None
        self.last_error: str | None = None
        self.last_attempt: datetime | None = None
        self._lock = threading.Lock()
        self._asked_lock = threading.Lock()
        self._wanted_generation = 0
        self._stop = threading.Event()
        self._first_attempt = threading.Event()
        self._thread: threading.Thread | None = None

    # -- loading ---------------------------------------------------------------------
    def load(self, *, generation: int | None = None) -> LoadOutcome:
        """Load from the source now; swap in the result only if it passes its checks."""
        with self._lock:
            generation = self._wanted_generation if generation is None else generation
            self.last_attempt = datetime.now(UTC)
            started = time.perf_counter()
            try:
                served = self.source.load()
                loaded = prepare(
                    served, generation=generation, fairness=self.source.fairness_report(served)
                )
            except Exception as exc:
                self.last_error = (
                    f"{self.source.describe()} could not be served: {public_reason(exc)}"
                )
                serving = self.current
                logger.error(
                    "model load failed (%s: %s); %s",
                    type(exc).__name__,
                    exc,
                    f"still serving version {serving.version}" if serving else "no model is served",
                )
                # A failed generation is not retried in a loop; a new reload asks again.
                if serving is not None:
                    self.current = _with_generation(serving, max(generation, serving.generation))
                return LoadOutcome(False, self.current, self.last_error)
            finally:
                self._first_attempt.set()
            self.current = loaded
            self.last_error = None
            logger.info(
                "serving model %s version %s (loaded and checked in %.0f ms)",
                loaded.name,
                loaded.version,
                (time.perf_counter() - started) * 1000,
            )
            return LoadOutcome(True, loaded, None)

    def request_reload(self, generation: int) -> None:
        """Reload in the background when another worker asked for a newer generation."""
        with self._asked_lock:
            if generation <= self._wanted_generation:
                return  # asked already (loaded, failed or under way)
            self._wanted_generation = generation
        threading.Thread(
            target=self.load, kwargs={"generation": generation}, name="polku-reload", daemon=True
        ).start()

    def note_generation(self, generation: int) -> None:
        """The generation that is current at start: older reload requests are done."""
        with self._asked_lock:
            self._wanted_generation = max(self._wanted_generation, generation)

    # -- background first load and retries --------------------------------------------
    def start(self, *, wait_seconds: float) -> None:
        """Load in a background thread; wait up to `wait_seconds` for the first attempt."""
        self._thread = threading.Thread(target=self._run, name="polku-model-loader", daemon=True)
        self._thread.start()
        self._first_attempt.wait(wait_seconds)

    def _run(self) -> None:
        while not self._stop.is_set():
            if self.current is None:
                self.load()
            if self.current is not None or self.retry_seconds <= 0:
                return
            self._stop.wait(self.retry_seconds)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)


_LOCATIONS = re.compile(r"(?:[a-z][a-z0-9+.-]*:)?/{1,3}[^\s'\"]+|[A-Za-z]:\\[^\s'\"]+")


def public_reason(exc: BaseException) -> str:
    """Why a load failed, for readiness and admins: no file paths or store URIs (the log has them)."""
    text = _LOCATIONS.sub("<location>", str(exc)).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _with_generation(model: LoadedModel, generation: int) -> LoadedModel:
    return model if generation == model.generation else replace(model, generation=generation)
