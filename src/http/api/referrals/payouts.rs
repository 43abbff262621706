//! Payouts: creating, listing, the CSV and marking them paid.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::http::auth::{actor, Caller};
use crate::http::extract::Json;
use crate::http::openapi::{Conflict, JsonBody, NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::referrals::service::{self};
use crate::referrals::ReferralError;

use super::program_for;

/// Create payouts from approved balances at or above the program's minimum
///
/// A negative balance blocks that advocate's payout. 201 with the new payouts, 200 with an empty
/// list when there is nothing to pay.
#[utoipa::path(
    operation_id = "createPayouts",
    responses(
        (status = 201, description = "Created", body = Vec<service::PayoutView>),
        (status = 200, description = "Nothing to pay", body = Vec<service::PayoutView>),
        SignedIn, NotFound, Conflict
    ),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/payouts")]
pub(super) async fn create_payouts(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let created = state
        .tx(move |conn| service::create_payouts(conn, &program, &actor, now))
        .await
        .map_err(ApiError::from)?;
    Ok(if created.is_empty() {
        HttpResponse::Ok().json(created)
    } else {
        HttpResponse::Created().json(created)
    })
}

#[derive(Serialize, utoipa::ToSchema)]
struct PayoutsAnswer {
    payouts: Vec<service::PayoutView>,
    balances: Vec<service::Balance>,
}

/// Payouts and current balances with the reason a payout would be blocked
#[utoipa::path(responses((status = 200, description = "Payouts and balances", body = PayoutsAnswer), SignedIn, NotFound))]
#[get("/api/v1/programs/{program}/payouts")]
pub(super) async fn list_payouts(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let answer = state
        .db(move |conn| {
            Ok::<_, ReferralError>(PayoutsAnswer {
                payouts: service::list_payouts(conn, &program)?,
                balances: service::balances(conn, &program)?,
            })
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(answer))
}

/// All payouts as CSV
#[utoipa::path(responses((status = 200, description = "The payouts", content_type = "text/csv", body = String), SignedIn, NotFound))]
#[get("/api/v1/programs/{program}/payouts.csv")]
pub(super) async fn payouts_csv(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, vendor) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let csv = state
        .db(move |conn| service::payouts_csv(conn, &program))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-payouts.csv\"", vendor.slug),
        ))
        .body(csv))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaidInput {
    /// The transfer's reference.
    reference: String,
}

/// Mark a payout paid with the transfer reference
///
/// Its commissions become paid and the advocate is mailed. The same reference again answers the
/// same.
#[utoipa::path(
    operation_id = "markPayoutPaid",
    request_body = PaidInput,
    responses((status = 200, description = "The payout", body = service::PayoutView), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/payouts/{id}/paid")]
pub(super) async fn mark_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<PaidInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let payout_id = path.into_inner();
    let now = state.clock.now();
    let links = state.links.clone();
    let view = state
        .tx(move |conn| {
            service::mark_payout_paid_as(
                conn,
                &principal,
                &payout_id,
                &input.reference,
                &actor,
                &links,
                now,
            )
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}
