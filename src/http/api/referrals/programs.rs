//! Programs and tiers (vendor settings, webhook secret, the public views) and enrollment.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::http::auth::{actor, Caller, CurrentUser};
use crate::http::extract::Json;
use crate::http::openapi::{Conflict, JsonBody, NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::referrals::service::{self, EnrollInput, ProgramInput};
use crate::referrals::ReferralError;
use crate::usecases::vendor_for;

use super::program_for;

/// Create or update the vendor's advocate program and tiers (program managers)
///
/// Answers the program with its id and webhook secret.
#[utoipa::path(
    operation_id = "saveProgram",
    request_body = ProgramInput,
    responses((status = 200, description = "The program", body = service::ProgramView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[put("/api/v1/vendors/{vendor}/program")]
pub(super) async fn put_program(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<ProgramInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let master = state.master_key.clone();
    let links = state.links.clone();
    let (view, _created) = state
        .tx(move |conn| service::save_program(conn, &vendor, &input, &master, &links, &actor, now))
        .await
        .map_err(ApiError::from)?;
    // The landing URL may have changed: redirects look it up again.
    state.clicks.forget_codes();
    Ok(HttpResponse::Ok().json(view))
}

/// The vendor's program with its webhook secret (program managers)
#[utoipa::path(responses((status = 200, description = "The program", body = service::ProgramView), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/program")]
pub(super) async fn get_program(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let master = state.master_key.clone();
    let links = state.links.clone();
    let view = state
        .db(move |conn| {
            let program = service::program_of_vendor(conn, &vendor)?;
            service::program_view(conn, &program, &vendor, Some(&master), &links)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = WebhookRotation)]
struct RotateInput {
    /// RFC 3339; until when the replaced secret keeps verifying (default: 24 hours from now).
    #[schema(format = DateTime)]
    previous_expires_at: Option<String>,
}

/// Rotate the program's webhook secret (program managers)
///
/// Answers the new secret once; the replaced secret keeps verifying until `previous_expires_at`
/// (default 24 hours, at most 30 days; now ends it at once).
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    request_body = RotateInput,
    responses((status = 200, description = "The new secret", body = service::RotatedSecret), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/program/webhook-secret")]
pub(super) async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<RotateInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let until = match input.previous_expires_at.as_deref() {
        None => None,
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.naive_utc())
                .map_err(|_| {
                    ReferralError::field(
                        "previous_expires_at",
                        "use an RFC 3339 time such as 2026-12-08T12:00:00Z",
                    )
                })?,
        ),
    };
    let now = state.clock.now();
    let master = state.master_key.clone();
    let rotated = state
        .tx(move |conn| {
            let program = service::program_of_vendor(conn, &vendor)?;
            service::rotate_webhook_secret(conn, &program, &master, until, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(rotated))
}

/// Public list of advocate programs
#[utoipa::path(responses((status = 200, description = "The programs", body = Vec<service::ProgramView>)), security())]
#[get("/api/v1/programs")]
pub(super) async fn list_programs(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let links = state.links.clone();
    let views = state
        .db(move |conn| service::public_programs(conn, &links))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(views))
}

/// Public view of a program (terms, tiers, settings)
///
/// `{program}` is the program id or its vendor's slug.
#[utoipa::path(responses((status = 200, description = "The program", body = service::ProgramView), NotFound), security())]
#[get("/api/v1/programs/{program}")]
pub(super) async fn public_program(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let links = state.links.clone();
    let view = state
        .db(move |conn| service::public_program(conn, &reference, &links))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

/// Public yearly earnings disclosure
///
/// Per year: people enrolled, share earning nothing (bp), median and 90th percentile net earnings.
#[utoipa::path(responses((status = 200, description = "The disclosure", body = service::DisclosureView), NotFound), security())]
#[get("/api/v1/programs/{program}/disclosure")]
pub(super) async fn public_disclosure(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let links = state.links.clone();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::disclosure(conn, &reference, &links, now))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Enrollment

/// Enroll the signed-in practitioner (free, no purchase)
///
/// `accept_terms_version` must equal the program's current terms version. Enrolling again answers
/// 200 with the existing enrollment.
#[utoipa::path(
    request_body = EnrollInput,
    responses(
        (status = 201, description = "Enrolled", body = service::EnrollmentView),
        (status = 200, description = "Already enrolled", body = service::EnrollmentView),
        SignedIn, NotFound, JsonBody, Conflict
    ),
    extensions(("x-credo-not-audited" = json!("a practitioner's own enrollment (kept with the accepted terms version)")))
)]
#[post("/api/v1/programs/{program}/enrollments")]
pub(super) async fn enroll(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<EnrollInput>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let now = state.clock.now();
    let links = state.links.clone();
    let (view, created) = state
        .tx(move |conn| {
            service::enroll_by_reference(conn, &reference, (&user).into(), &input, &links, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdvocateStatusInput)]
struct StatusInput {
    /// `active` or `suspended`.
    status: String,
}

/// Suspend or reinstate an advocate (program managers)
///
/// Suspended codes answer 404 at `/r/{code}`; new commissions are held.
#[utoipa::path(
    operation_id = "setAdvocateStatus",
    request_body = StatusInput,
    responses((status = 200, description = "The enrollment", body = service::EnrollmentView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/advocates/{enrollment}/status")]
pub(super) async fn set_advocate_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    Json(input): Json<StatusInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let (reference, enrollment_id) = path.into_inner();
    let (program, _) =
        program_for(&state, principal, reference, VendorRole::ProgramManager).await?;
    let now = state.clock.now();
    let enrollment = state
        .tx(move |conn| {
            service::set_advocate_status(conn, &program, &enrollment_id, &input.status, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    state.clicks.forget_codes();
    Ok(HttpResponse::Ok().json(enrollment))
}
