//! Vendor console: balances, creating payouts and marking them paid.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::dashboard::rfc3339_seconds_text;
use super::{api_error, program_change, vendor_program_required};
use crate::accounts::{Principal, SessionUser, Vendor};
use crate::app::AppState;
use crate::http::auth::user_actor;
use crate::http::pages::{render_with_status, see_other, Form, PageContext, PageError, PageUser};
use crate::money::format_amount;
use crate::referrals::{service, ReferralError};

struct PayoutLine {
    id: String,
    created: String,
    advocate: String,
    code: String,
    amount: String,
    status: String,
    reference: String,
    commissions: usize,
}

struct BalanceLine {
    advocate: String,
    code: String,
    balance: String,
    negative: bool,
    blocked: String,
}

#[derive(Template)]
#[template(path = "referrals/vendor_payouts.html")]
struct PayoutsPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    program_id: String,
    min_payout: String,
    payouts: Vec<PayoutLine>,
    balances: Vec<BalanceLine>,
    error: Option<String>,
}

async fn show_payouts(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    slug: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(state, &user, slug).await?;
    let program_id = program.id.clone();
    let min_payout = format_amount(program.min_payout_minor, &program.currency);
    let currency = program.currency.clone();
    let (payouts, balances) = state
        .db(move |conn| {
            Ok::<_, ReferralError>((
                service::list_payouts(conn, &program)?,
                service::balances(conn, &program)?,
            ))
        })
        .await
        .map_err(api_error)?;
    let payouts = payouts
        .iter()
        .map(|p| PayoutLine {
            id: p.id.clone(),
            created: rfc3339_seconds_text(&p.created_at),
            advocate: p.advocate.clone(),
            code: p.referral_code.clone(),
            amount: format_amount(p.amount_minor, &p.currency),
            status: p.status.clone(),
            reference: p.reference.clone().unwrap_or_default(),
            commissions: p.commissions,
        })
        .collect();
    let balances = balances
        .iter()
        .map(|b| BalanceLine {
            advocate: b.advocate.clone(),
            code: b.referral_code.clone(),
            balance: format_amount(b.balance_minor, &currency),
            negative: b.balance_minor < 0,
            blocked: b.blocked.clone().unwrap_or_else(|| "ready".to_string()),
        })
        .collect();
    Ok(render_with_status(
        status,
        &PayoutsPage {
            ctx: PageContext::new(req, Some(user)),
            vendor,
            section: "payouts",
            program_id,
            min_payout,
            payouts,
            balances,
            error,
        },
    ))
}

#[get("/vendor/{vendor}/program/payouts")]
pub(super) async fn vendor_payouts(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    show_payouts(&state, &req, user, path.into_inner(), None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct Empty {}

#[post("/vendor/{vendor}/program/payouts")]
pub(super) async fn vendor_create_payouts(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    program_change(
        &state,
        &req,
        &user,
        path.into_inner(),
        "payouts",
        service::create_payouts,
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PaidForm {
    reference: String,
}

#[post("/vendor/{vendor}/program/payouts/{id}/paid")]
pub(super) async fn vendor_mark_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<PaidForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let principal = Principal::User(user.clone());
    let now = state.clock.now();
    let links = state.links.clone();
    let paid = state
        .tx(move |conn| {
            service::mark_payout_paid_as(
                conn,
                &principal,
                &id,
                &form.reference,
                &actor,
                &links,
                now,
            )
        })
        .await;
    match paid {
        Ok(_) => Ok(see_other(&format!("/vendor/{slug}/program/payouts"))),
        Err(ReferralError::Validation(errors)) => {
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            show_payouts(
                &state,
                &req,
                user,
                slug,
                Some(format!("Reference: {message}")),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(ReferralError::Conflict(message)) => {
            show_payouts(
                &state,
                &req,
                user,
                slug,
                Some(message),
                StatusCode::CONFLICT,
            )
            .await
        }
        Err(other) => Err(api_error(other)),
    }
}
