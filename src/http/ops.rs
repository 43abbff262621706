//! Operations endpoints: liveness, readiness (database reachable), Prometheus metrics, OpenAPI.

use actix_web::{get, web, HttpRequest, HttpResponse};
use diesel::connection::SimpleConnection;

use super::auth::{client_ip, presented_token, TokenSource};
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

/// Who may read `/metrics`: a client address in `metrics_allow` (loopback when that is unset), or
/// anyone presenting `metrics_token` as a bearer token.
fn may_read_metrics(state: &AppState, req: &HttpRequest) -> bool {
    use subtle::ConstantTimeEq;
    let config = &state.config;
    let token_ok = match (&config.metrics_token, presented_token(req)) {
        (Some(expected), Some((given, TokenSource::Bearer))) => {
            bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
        }
        _ => false,
    };
    let address_ok = client_ip(req).is_some_and(|ip| {
        if config.metrics_allow.is_empty() {
            ip.to_canonical().is_loopback()
        } else {
            crate::net::is_listed(ip, &config.metrics_allow)
        }
    });
    token_ok || address_ok
}

#[get("/metrics")]
async fn metrics(state: web::Data<AppState>, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    if !may_read_metrics(&state, &req) {
        return Err(ApiError::Forbidden(
            "metrics are readable from the addresses in CREDO_METRICS_ALLOW (loopback by default) \
             or with the CREDO_METRICS_TOKEN bearer token"
                .into(),
        ));
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(state.metrics.render()))
}

/// The OpenAPI 3.1 description: a base document plus one fragment (`paths`, `schemas`) per domain,
/// each maintained next to that domain's handlers.
const OPENAPI_BASE: &str = include_str!("openapi/base.json");
const OPENAPI_FRAGMENTS: &[(&str, &str)] = &[
    ("operations", include_str!("openapi/operations.json")),
    ("accounts", include_str!("openapi/accounts.json")),
    ("audit", include_str!("openapi/audit.json")),
    ("credentials", include_str!("openapi/credentials.json")),
    ("badges", include_str!("openapi/badges.json")),
    ("billing", include_str!("openapi/billing.json")),
    ("exams", include_str!("openapi/exams.json")),
    ("referrals", include_str!("openapi/referrals.json")),
    ("webhooks", include_str!("openapi/webhooks.json")),
];

/// Merges the fragments into the base document (once; the result is cached).
pub fn openapi_document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let mut doc: serde_json::Value = serde_json::from_str(OPENAPI_BASE).unwrap_or_default();
        for (name, fragment) in OPENAPI_FRAGMENTS {
            let Ok(fragment) = serde_json::from_str::<serde_json::Value>(fragment) else {
                tracing::error!(fragment = name, "OpenAPI fragment is not JSON");
                continue;
            };
            for (section, target) in [("paths", "/paths"), ("schemas", "/components/schemas")] {
                if let (Some(from), Some(serde_json::Value::Object(to))) = (
                    fragment.get(section).and_then(|v| v.as_object()),
                    doc.pointer_mut(target),
                ) {
                    to.extend(from.clone());
                }
            }
        }
        doc.to_string()
    })
}

#[get("/api/openapi.json")]
async fn openapi() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(openapi_document())
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

#[cfg(test)]
mod tests {
    #[test]
    fn every_fragment_merges_into_a_valid_document() {
        let doc: serde_json::Value = serde_json::from_str(super::openapi_document()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for (name, fragment) in super::OPENAPI_FRAGMENTS {
            let fragment: serde_json::Value =
                serde_json::from_str(fragment).unwrap_or_else(|e| panic!("{name}: {e}"));
            for path in fragment["paths"].as_object().unwrap().keys() {
                assert!(doc["paths"].get(path).is_some(), "{name}: {path} missing");
            }
        }
        // Every schema reference resolves.
        let text = doc.to_string();
        for reference in text.split("\"#/components/schemas/").skip(1) {
            let name = reference.split('"').next().unwrap();
            assert!(
                doc["components"]["schemas"].get(name).is_some(),
                "unresolved schema {name}"
            );
        }
    }
}
