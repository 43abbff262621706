//! Referral network API: programs and tiers, enrollment, customer binding, the billing-event
//! inbox (API key or signed webhook), commissions review, payouts, funnel and the
//! practitioner's own figures. Handlers parse, authorize and call one `referrals::service`
//! function; `{program}` is a program id or its vendor's slug.

mod commissions;
mod events;
mod payouts;
mod programs;

use actix_web::{get, web, HttpResponse};

use crate::accounts::{self, Principal, Vendor, VendorRole};
use crate::app::AppState;
use crate::http::auth::{Caller, CurrentUser};
use crate::http::openapi::{NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::referrals::service::{self};
use crate::referrals::Program;
use commissions::{
    __path_clear_hold, __path_list_commissions, __path_reject_commission, clear_hold,
    list_commissions, reject_commission,
};
use events::{
    __path_bind_customer, __path_list_events, __path_post_event, __path_webhook, bind_customer,
    list_events, post_event, webhook,
};
use payouts::{
    __path_create_payouts, __path_list_payouts, __path_mark_paid, __path_payouts_csv,
    create_payouts, list_payouts, mark_paid, payouts_csv,
};
use programs::{
    __path_enroll, __path_get_program, __path_list_programs, __path_public_disclosure,
    __path_public_program, __path_put_program, __path_rotate_webhook_secret,
    __path_set_advocate_status, enroll, get_program, list_programs, public_disclosure,
    public_program, put_program, rotate_webhook_secret, set_advocate_status,
};

crate::http::openapi::routes!("referrals":
    put_program,
    get_program,
    rotate_webhook_secret,
    list_programs,
    public_program,
    public_disclosure,
    enroll,
    bind_customer,
    post_event,
    webhook,
    list_events,
    list_commissions,
    clear_hold,
    reject_commission,
    set_advocate_status,
    create_payouts,
    list_payouts,
    payouts_csv,
    mark_paid,
    funnel,
    my_referrals,
);

/// The program named in a path, if `principal` may act on its vendor as `role` (unknown
/// program → 404; another vendor's → 403).
pub async fn program_for(
    state: &AppState,
    principal: Principal,
    reference: String,
    role: VendorRole,
) -> Result<(Program, Vendor), ApiError> {
    state
        .db(move |conn| {
            let (program, vendor) = service::find_program(conn, &reference)?;
            accounts::authorize_vendor(conn, &principal, &vendor.slug, role)?;
            Ok::<_, ApiError>((program, vendor))
        })
        .await
}

// ---------------------------------------------------------------------------------------------
// Funnel and the practitioner's figures

/// The program's funnel (program managers)
///
/// Clicks without bots → customers → invoices → commissions, per program and per advocate;
/// practitioners registered → attempted → certified → enrolled → earning.
#[utoipa::path(responses((status = 200, description = "The funnel", body = service::FunnelView), SignedIn, NotFound))]
#[get("/api/v1/programs/{program}/funnel")]
async fn funnel(
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
    let view = state
        .db(move |conn| service::funnel(conn, &program))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

/// The signed-in practitioner's enrollments
///
/// Link with disclosure, tier and next tier requirements, clicks, customers, invoices, commissions
/// by status, balance, payouts.
#[utoipa::path(responses((status = 200, description = "The enrollments", body = service::MyReferrals), SignedIn))]
#[get("/api/v1/me/referrals")]
async fn my_referrals(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let view = state
        .db(move |conn| service::my_referrals(conn, &user.id, &links, now))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}
