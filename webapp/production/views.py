"""GET /healthz and GET /metrics (decision 0023).

Who may read them:
* /healthz is public: load balancers and orchestrators call it without credentials. It says only whether the
  database answers, whether the schema is current and how old the freshest worker heartbeat is — no business data.
  `?check=app` leaves the worker out, for a load balancer deciding whether this app host may take traffic.
* /metrics carries business figures (open tasks per procedure, overdue counts), so it answers only a bearer token
  equal to METRICS_TOKEN; without that setting it does not exist (404). Prometheus sends the token as
  `authorization: {credentials: ...}`; the reverse proxy should not route /metrics from outside anyway.
"""

from __future__ import annotations

import hmac

from flask import Blueprint, Response, abort, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from webapp.extensions import db
from workflows.clock import utcnow_naive
from workflows.production.health import ALL_CHECKS, DATABASE, MIGRATIONS, health
from workflows.production.heartbeat import worker_forget_after

bp = Blueprint("production", __name__)

METRICS_KEY = "canbo_metrics"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    checks = (DATABASE, MIGRATIONS) if request.args.get("check") == "app" else ALL_CHECKS
    report = health(
        db.session,
        utcnow_naive(),
        worker_max_age=current_app.config["WORKER_HEARTBEAT_MAX_AGE"],
        worker_forget_after=worker_forget_after(current_app.config),
        checks=checks,
    )
    response = jsonify(report.as_json())
    response.status_code = 200 if report.ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics() -> ResponseReturnValue:
    expected = current_app.config.get("METRICS_TOKEN") or ""
    if not expected:
        abort(404)
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return Response("metrics need the bearer token (METRICS_TOKEN)\n", 401, {"WWW-Authenticate": "Bearer"})
    body = current_app.extensions[METRICS_KEY].exposition()
    db.session.rollback()
    return Response(
        body, 200, {"Content-Type": "text/plain; version=0.0.4; charset=utf-8", "Cache-Control": "no-store"}
    )
