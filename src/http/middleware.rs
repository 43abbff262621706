//! Cross-cutting request handling: access log and metrics, the CSRF cookie every page needs,
//! control characters in addresses, security headers, and who may read `/metrics`.

use std::time::Instant;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use super::auth::CSRF_COOKIE;
use crate::app::AppState;

/// Logs one line per request and records metrics. Only the path is logged, never the query string
/// (mailed links carry one-time tokens there) nor headers or bodies.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().to_string();
    let path = req.path().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let status = response.status().as_u16();
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_string());
    let elapsed = started.elapsed();
    if let Some(state) = state {
        let status_text = status.to_string();
        state
            .metrics
            .http_requests
            .with_label_values(&[method.as_str(), route.as_str(), status_text.as_str()])
            .inc();
        state
            .metrics
            .http_duration
            .with_label_values(&[method.as_str(), route.as_str()])
            .observe(elapsed.as_secs_f64());
    }
    tracing::info!(
        target: "credo::http",
        %method,
        %path,
        status,
        ms = elapsed.as_millis() as u64,
        "request"
    );
    Ok(response)
}

/// The CSRF token of this browser, set by [`csrf_cookie`] on its first request.
#[derive(Clone)]
struct IssuedCsrf(String);

/// Gives every browser a random CSRF cookie; forms echo it in a hidden field (double submit).
pub async fn csrf_cookie(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let issued = if req.cookie(CSRF_COOKIE).is_none() {
        let token = crate::secrets::random_token();
        req.extensions_mut().insert(IssuedCsrf(token.clone()));
        Some(token)
    } else {
        None
    };
    let secure = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|s| s.config.base_url.scheme() == "https");
    let mut response = next.call(req).await?;
    if let Some(token) = issued {
        let cookie = Cookie::build(CSRF_COOKIE, token)
            .path("/")
            .http_only(true)
            .secure(secure)
            .same_site(SameSite::Lax)
            .finish();
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// The CSRF token to embed in this request's forms.
pub fn csrf_token(req: &HttpRequest) -> String {
    if let Some(issued) = req.extensions().get::<IssuedCsrf>() {
        return issued.0.clone();
    }
    req.cookie(CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default()
}

/// The answer to an address with a control character: a path segment is a 404 (no id has one), a
/// query parameter a 422 naming it. JSON and form bodies are checked by their extractors.
fn control_char_answer(req: &HttpRequest) -> Option<HttpResponse> {
    use super::extract::{control_char_error, is_refused_char};
    use super::pages::{form_field_with_control_char, not_found_page, PageError};
    use super::problem::ApiError;
    let api = req.path().starts_with("/api/");
    let path = percent_encoding::percent_decode_str(req.path()).decode_utf8_lossy();
    if path.chars().any(is_refused_char) {
        return Some(if api {
            ApiError::NotFound("nothing here: the address contains a control character".into())
                .error_response()
        } else {
            not_found_page(req)
        });
    }
    let field = form_field_with_control_char(req.query_string().as_bytes())?;
    Some(if api {
        ApiError::Validation(vec![control_char_error(&field)]).error_response()
    } else {
        PageError::Unprocessable(format!(
            "The address parameter `{field}` {}.",
            control_char_error(&field).message
        ))
        .error_response()
    })
}

/// Refuses requests whose path or query holds a control character before any handler runs.
pub async fn refuse_control_chars(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Some(answer) = control_char_answer(req.request()) {
        return Ok(req.into_response(answer).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
