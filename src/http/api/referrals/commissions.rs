//! Commissions and their review (clear a hold, reject).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, SessionUser, VendorRole};
use crate::app::AppState;
use crate::http::auth::{user_actor, Caller, CurrentUser};
use crate::http::extract::{query_flag, Json};
use crate::http::openapi::{Conflict, Invalid, JsonBody, NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::referrals::service::{self};

use super::program_for;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct CommissionQuery {
    /// Only the commissions held for review.
    #[param(value_type = Option<bool>)]
    held: Option<String>,
}

/// Commissions of the program (program managers)
#[utoipa::path(
    params(CommissionQuery),
    responses((status = 200, description = "The commissions", body = Vec<service::CommissionView>), SignedIn, NotFound, Invalid)
)]
#[get("/api/v1/programs/{program}/commissions")]
pub(super) async fn list_commissions(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    query: web::Query<CommissionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let held = query_flag("held", query.held.as_deref(), false)?;
    let list = state
        .db(move |conn| service::list_commissions(conn, &program, held))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct NoteInput {
    note: Option<String>,
}

/// Clear a review hold (self-referral or suspended advocate) after review
///
/// A person's decision: a session is required, API keys are refused.
#[utoipa::path(
    operation_id = "clearCommissionHold",
    request_body(content = Option<NoteInput>, description = "An optional note (a body that is not one is ignored)"),
    responses((status = 200, description = "The commission", body = service::CommissionView), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/commissions/{id}/clear-hold")]
pub(super) async fn clear_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    body: Option<Json<NoteInput>>,
) -> Result<HttpResponse, ApiError> {
    let note = body.and_then(|Json(b)| b.note);
    let decision = service::Review::ClearHold { note };
    review(&state, &req, user, path.into_inner(), decision).await
}

/// A program manager's review decision on a commission of the program (a person's decision: a
/// session is required, API keys are refused).
async fn review(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    (reference, commission_id): (String, String),
    decision: service::Review,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(req, &user);
    let (program, _) = program_for(
        state,
        Principal::User(user),
        reference,
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let view = state
        .tx(move |conn| {
            service::review_commission(conn, &program, &commission_id, &decision, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    reason: String,
}

/// Reject a pending commission after review (it becomes reversed)
#[utoipa::path(
    operation_id = "rejectCommission",
    request_body = ReasonInput,
    responses((status = 200, description = "The commission", body = service::CommissionView), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/commissions/{id}/reject")]
pub(super) async fn reject_commission(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    let decision = service::Review::Reject {
        reason: input.reason,
    };
    review(&state, &req, user, path.into_inner(), decision).await
}
