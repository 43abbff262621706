//! The paste/upload verify page `/verify`.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde_json::Value;

use super::page_error;
use super::verdict::{FactsView, VerdictView};
use crate::app::AppState;
use crate::badges;
use crate::credentials::resolver;
use crate::http::auth::{client_address, csrf_matches, CSRF_FIELD};
use crate::http::extract::{parse_json_value, read_body, BAKED_VERIFY_LIMIT, VERIFY_LIMIT};
use crate::http::multipart::read_parts;
use crate::http::pages::{render, render_with_status, MaybeUser, PageContext, PageError};
use crate::http::problem::ApiError;
use crate::ratelimit::Limit;
use crate::validation::FieldErrors;

#[derive(Template)]
#[template(path = "credentials/verify.html")]
struct VerifyPage {
    ctx: PageContext,
    credential: String,
    errors: FieldErrors,
    verdict: Option<VerdictView>,
}

#[get("/verify")]
pub(super) async fn verify_page(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    render(&VerifyPage {
        ctx: PageContext::new(&req, user),
        credential: String::new(),
        errors: FieldErrors::new(),
        verdict: None,
    })
}

#[post("/verify")]
pub(super) async fn verify_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let show = |credential: String, errors: FieldErrors, verdict, status| {
        render_with_status(
            status,
            &VerifyPage {
                ctx: PageContext::new(&req, user.clone()),
                credential,
                errors,
                verdict,
            },
        )
    };
    let too_large = || {
        let mut errors = FieldErrors::new();
        errors.add(
            "credential",
            format!(
                "this is larger than {} KB; a credential is a few KB",
                VERIFY_LIMIT / 1024
            ),
        );
        errors
    };
    let read = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        read_parts(&req, payload, BAKED_VERIFY_LIMIT + 16 * 1024)
            .await
            .map(|parts| {
                parts
                    .into_iter()
                    .map(|part| (part.name, part.data))
                    .collect()
            })
    } else {
        read_body(&mut payload.into_inner(), BAKED_VERIFY_LIMIT + 16 * 1024)
            .await
            .and_then(|body| {
                Ok(
                    serde_html_form::from_bytes::<HashMap<String, String>>(&body)
                        .map_err(|_| ApiError::BadRequest("the form could not be read".into()))?
                        .into_iter()
                        .map(|(k, v)| (k, v.into_bytes()))
                        .collect(),
                )
            })
    };
    let fields: HashMap<String, Vec<u8>> = match read {
        Ok(fields) => fields,
        Err(e @ ApiError::PayloadTooLarge { .. }) => {
            tracing::debug!(error = %e, "verify page upload refused");
            return Ok(show(
                String::new(),
                too_large(),
                None,
                StatusCode::PAYLOAD_TOO_LARGE,
            ));
        }
        Err(e) => return Err(e.into()),
    };
    let token = fields
        .get(CSRF_FIELD)
        .map(|t| String::from_utf8_lossy(t).into_owned());
    if !csrf_matches(&req, token.as_deref()) {
        return Err(PageError::Forbidden(format!(
            "This form has expired or was not sent from Credo (missing or wrong `{CSRF_FIELD}`). \
             Go back, reload the page and try again."
        )));
    }
    if let Err(wait) = state.limits.check(Limit::Verify, &client_address(&req)) {
        let mut errors = FieldErrors::new();
        errors.add("credential", ApiError::too_many(wait).to_string());
        return Ok(show(
            String::new(),
            errors,
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let pasted = fields
        .get("credential")
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default();
    let uploaded = fields
        .get("file")
        .filter(|f| !f.iter().all(u8::is_ascii_whitespace));
    let mut errors = FieldErrors::new();
    let (source, field) = match uploaded.map(|file| badges::credential_in_image(file)) {
        // A baked badge image: verify the credential inside it.
        Some(Ok(Some(json))) => (json.into_bytes(), "file"),
        Some(Ok(None)) => (uploaded.cloned().unwrap_or_default(), "file"),
        Some(Err(e)) => {
            errors.add("file", e.to_string());
            return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
        }
        None => (pasted.clone().into_bytes(), "credential"),
    };
    if source.len() > VERIFY_LIMIT {
        return Ok(show(
            pasted,
            too_large(),
            None,
            StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    if source.iter().all(u8::is_ascii_whitespace) {
        errors.add(
            "credential",
            "paste a credential's JSON here or choose a file below",
        );
        return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let credential: Value = match parse_json_value(&source) {
        Ok(value) => value,
        Err(e) => {
            errors.add(
                field,
                format!(
                    "this is not a credential's JSON ({})",
                    match e {
                        ApiError::BadRequest(m) => m,
                        other => other.to_string(),
                    }
                ),
            );
            return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    if let Err(problems) = resolver::check_shape(&credential) {
        let text = problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        errors.add(field, format!("this is not a credential: {text}"));
        return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let report = state.verify_json(&credential).await.map_err(page_error)?;
    let verdict = VerdictView {
        facts: FactsView::of(&state, &report, &credential),
        ..VerdictView::from_report(&report)
    };
    Ok(show(pasted, errors, Some(verdict), StatusCode::OK))
}
