"""The FastAPI application: `create_app(settings=None)`.

Nothing happens at import time. `create_app` builds the app from settings
(by default from the environment); the lifespan creates the database engine,
brings the schema up to date (unless told not to), applies retention, and
starts loading the model in the background. The app is live at once and
ready when a model passed its checks and the database answers.

Run it with `polku serve` (uvicorn), or `uvicorn --factory api.main:create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from api import problems
from api.admin.views import router as admin_router
from api.audit.views import router as audit_router
from api.console.views import PREFIX as CONSOLE_PREFIX
from api.console.views import install_console
from api.decisions.views import router as decisions_router
from api.deps import ROLES_KEY, validation_handler
from api.docs import install_docs
from api.gate import Gate
from api.health.views import router as health_router
from api.info.views import router as info_router
from api.limits import AuditGrowth, FailureWindow, KeyRate, Limits
from api.logs import bind_request_ids
from api.middleware import PolkuMiddleware
from api.openapi import install_openapi
from api.plans.views import router as plans_router
from api.recommendations.service import close_audit_writer
from api.recommendations.views import router as recommendations_router
from api.reports.logged import ReportCache
from api.reports.views import router as report_router
from api.serving import ModelHolder, ModelSource, RegistrySource
from api.settings import Settings, get_settings
from api.storage import migrate
from api.storage.control import control_state
from api.storage.engine import make_engine, read_transaction, write_transaction
from api.storage.retention import purge_expired

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"
DESCRIPTION = """\
Decision support for integration-service caseworkers: ranked next services for
one client with SHAP explanations in Finnish, Swedish and English; the
caseworker decides and records the decision.

Authenticate with `Authorization: Bearer <key>` (keys from `polku keys create`).
Errors are RFC 9457 problem details (`application/problem+json`) with the
request id. Every recommendation answered is written to the audit log.
"""


def registry_source(settings: Settings) -> RegistrySource:
    return RegistrySource(
        name=settings.model_name,
        alias=settings.model_alias,
        version=settings.model_version,
        tracking_uri=settings.mlflow_tracking_uri,
    )


def create_app(
    settings: Settings | None = None, *, model_source: ModelSource | None = None
) -> FastAPI:
    """The API. `model_source` replaces the MLflow registry (by default from settings)."""
    settings = settings or get_settings()
    source = model_source or registry_source(settings)
    bind_request_ids()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(
            settings.sqlalchemy_url,
            busy_timeout_ms=settings.db_busy_timeout_ms,
            connect_timeout_s=settings.db_connect_timeout_seconds,
            pool_size=settings.db_pool_size,
        )
        if settings.migrate_on_start:
            migrate.upgrade(engine)
        elif migrate.pending(engine):
            raise RuntimeError("the database schema is not up to date: run `polku db upgrade`")
        cutoff = datetime.now(UTC) - timedelta(days=settings.audit_retention_days)
        with write_transaction(engine) as connection:
            purged = purge_expired(connection, older_than=cutoff)
        if purged.audit_events or purged.plan_events:
            logger.info(
                "retention: purged %d audit events and %d plans older than %d days",
                purged.audit_events,
                purged.plan_events,
                settings.audit_retention_days,
            )
        holder = ModelHolder(source, retry_seconds=settings.model_retry_seconds)
        with read_transaction(engine) as connection:
            holder.note_generation(control_state(connection).reload_generation)
        app.state.engine = engine
        app.state.holder = holder
        holder.start(wait_seconds=settings.model_start_wait_seconds)
        try:
            yield
        finally:
            holder.stop()
            close_audit_writer(engine)
            engine.dispose()

    app = FastAPI(
        # FastAPI's own OpenTelemetry, on when an operator configures a provider:
        # metrics only (by route template). Its spans carry the raw path and
        # query and its logs the messages of validation failures and
        # exceptions; either may hold a caller's values.
        telemetry={"tracing": False, "logs": False},
        title="Polku",
        version=API_VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        # A path with a stray slash is not found (404). Starlette's redirect to the
        # other form would be built from the Host header, which the caller chooses.
        redirect_slashes=False,
        docs_url=None,  # api.docs serves them with local assets
        redoc_url=None,
        openapi_tags=[
            {"name": "recommendations", "description": "ranked next services for one client"},
            {"name": "plans", "description": "a month's clients planned into the services' seats"},
            {"name": "decisions", "description": "what the caseworker chose, and why"},
            {"name": "model", "description": "the served model, its catalogue and reports"},
            {"name": "audit", "description": "every recommendation answered"},
            {"name": "admin", "description": "stop switch and reloads"},
            {"name": "health", "description": "liveness and readiness"},
        ],
    )
    app.state.settings = settings
    app.state.limits = Limits(
        keys=KeyRate(settings.key_requests_per_second),
        failures=FailureWindow(settings.auth_failures_per_minute),
        audit=AuditGrowth(settings.audit_alert_per_minute),
    )
    app.state.report_cache = ReportCache()  # the loaded model's reports, once read
    app.state.recommendations_in_flight = 0  # on this worker (api.recommendations.views)
    _require_access_rules(ROUTERS)
    for router in ROUTERS:
        app.include_router(router)
    app.state.route_methods = [
        (route.path_regex, set(route.methods or ()))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    app.state.query_parameters = {
        (method.upper(), path): {
            p["name"] for p in operation.get("parameters", []) if p["in"] == "query"
        }
        for path, item in app.openapi()["paths"].items()
        for method, operation in item.items()
    }
    install_openapi(app)
    install_docs(app)
    install_console(app)
    problems.install(app)
    # a refused body is answered only after the caller is checked (api.deps)
    app.add_exception_handler(RequestValidationError, validation_handler)
    # Added first, so it runs inside PolkuMiddleware (request id, size limit, log line).
    app.add_middleware(Gate)
    app.add_middleware(
        PolkuMiddleware,
        max_body_bytes=settings.max_body_bytes,
        max_header_bytes=settings.max_header_bytes,
        form_paths=(CONSOLE_PREFIX + "/",),
        path_limits={"/v1/plans": settings.max_plan_body_bytes},
    )
    return app


ROUTERS: tuple[APIRouter, ...] = (
    recommendations_router,
    plans_router,
    decisions_router,
    info_router,
    report_router,
    audit_router,
    admin_router,
    health_router,
)


def _require_access_rules(routers: tuple[APIRouter, ...]) -> None:
    """Refuse to build an app with a route that does not say who may call it."""
    missing = [
        f"{','.join(sorted(getattr(route, 'methods', None) or ()))} {getattr(route, 'path', route)}"
        for router in routers
        for route in router.routes
        if not isinstance(route, APIRoute) or ROLES_KEY not in (route.openapi_extra or {})
    ]
    if missing:
        raise RuntimeError(f"routes without an access rule (api.deps.access): {', '.join(missing)}")
