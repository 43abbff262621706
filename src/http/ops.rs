//! Operations endpoints: liveness, readiness (database reachable), Prometheus metrics, OpenAPI.

use actix_web::{get, web, HttpResponse};
use diesel::connection::SimpleConnection;

use super::problem::ApiError;
use crate::app::AppState;
use crate::db::DbError;

#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

#[get("/readyz")]
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match state
        .db(|conn| conn.batch_execute("SELECT 1").map_err(DbError::from))
        .await
    {
        Ok(()) => HttpResponse::Ok().content_type("text/plain").body("ready"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .content_type("text/plain")
                .body("database unavailable")
        }
    }
}

#[get("/metrics")]
async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render())
}

/// The OpenAPI 3.1 description of the HTTP API, maintained next to the handlers.
pub const OPENAPI: &str = include_str!("openapi.json");

#[get("/api/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(OPENAPI)
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(healthz)
        .service(readyz)
        .service(metrics)
        .service(openapi);
}

/// Fallback for unknown paths: problem+json under /api, an HTML page elsewhere.
pub async fn not_found(req: actix_web::HttpRequest) -> Result<HttpResponse, ApiError> {
    if req.path().starts_with("/api/") {
        Err(ApiError::NotFound(format!(
            "no such endpoint: {} {}",
            req.method(),
            req.path()
        )))
    } else {
        Ok(super::pages::not_found_page(&req))
    }
}
