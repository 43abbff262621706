//! Referral pages: the `/r/<code>` redirect, the practitioner's referral dashboard, public
//! program pages (terms, tiers, enroll form, earnings disclosure) and the vendor's program
//! console (settings and tiers, advocates, events, commissions with hold review, payouts,
//! funnel). Every surface that shows a referral link says that it earns a commission.
//!
//! One submodule per page group; `configure` registers them all.

mod advocates;
mod commissions;
mod dashboard;
mod events;
mod funnel;
mod payouts;
mod programs;
mod referral_link;
mod settings;

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;

use super::{see_other, PageError};
use crate::accounts::{Principal, SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::audit::Actor;
use crate::db::{DbConn, DbError};
use crate::http::auth::user_actor;
use crate::http::problem::ApiError;
use crate::referrals::tiers::default_tier_name;
use crate::referrals::{self as referrals, Program, ReferralError};
use crate::usecases::vendor_for;
use advocates::{vendor_advocate_status, vendor_advocates};
use commissions::{vendor_clear_hold, vendor_commissions, vendor_reject};
use dashboard::referrals_dashboard;
use events::vendor_events;
use funnel::vendor_funnel;
use payouts::{vendor_create_payouts, vendor_mark_paid, vendor_payouts};
use programs::{
    __path_disclosure_page, disclosure_page, enroll_submit, program_page, programs_page,
};
use referral_link::{__path_redirect, redirect};
use settings::{vendor_program, vendor_program_submit, vendor_rotate_webhook_secret};

pub use dashboard::dashboard_section;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(redirect)
        .service(referrals_dashboard)
        .service(programs_page)
        .service(program_page)
        .service(enroll_submit)
        .service(disclosure_page)
        .service(vendor_program)
        .service(vendor_program_submit)
        .service(vendor_rotate_webhook_secret)
        .service(vendor_advocates)
        .service(vendor_advocate_status)
        .service(vendor_events)
        .service(vendor_commissions)
        .service(vendor_clear_hold)
        .service(vendor_reject)
        .service(vendor_payouts)
        .service(vendor_create_payouts)
        .service(vendor_mark_paid)
        .service(vendor_funnel);
}

// The two pages that are part of the public contract (API.md) are in the OpenAPI document.
crate::http::openapi::documented!("referrals": redirect, disclosure_page);

/// Links for the `/vendor` hub.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    let base = format!("/vendor/{vendor_slug}/program");
    vec![
        (base.clone(), "Advocate program: settings and tiers"),
        (format!("{base}/advocates"), "Advocates"),
        (format!("{base}/events"), "Billing events"),
        (format!("{base}/commissions"), "Commissions and hold review"),
        (format!("{base}/payouts"), "Payouts"),
        (format!("{base}/funnel"), "Referral funnel"),
    ]
}

/// Tier names by code, for rows that keep the code of the tier they were earned in.
type TierNames = HashMap<String, String>;

/// The tier's name for people; a tier removed since shows its code in words.
fn tier_name(names: &TierNames, code: &str) -> String {
    names
        .get(code)
        .cloned()
        .unwrap_or_else(|| default_tier_name(code))
}

fn api_error(e: ReferralError) -> PageError {
    ApiError::from(e).into()
}

async fn vendor_page(
    state: &AppState,
    user: &SessionUser,
    slug: String,
) -> Result<(Vendor, Option<Program>), PageError> {
    let vendor = vendor_for(
        state,
        Principal::User(user.clone()),
        slug,
        VendorRole::ProgramManager,
    )
    .await?;
    let vendor_id = vendor.id.clone();
    let program = state
        .db(move |conn| {
            referrals::store::find_program_of_vendor(conn, &vendor_id).map_err(DbError::from)
        })
        .await
        .map_err(ApiError::from)?;
    Ok((vendor, program))
}

/// A program manager's change from a console form: the program of the vendor `slug`, the change
/// in one transaction (with the actor and the time), then back to the console page `section`.
async fn program_change<T, F>(
    state: &AppState,
    req: &HttpRequest,
    user: &SessionUser,
    slug: String,
    section: &str,
    change: F,
) -> Result<HttpResponse, PageError>
where
    F: FnOnce(&mut DbConn, &Program, &Actor, NaiveDateTime) -> Result<T, ReferralError>
        + Send
        + 'static,
    T: Send + 'static,
{
    let actor = user_actor(req, user);
    let (vendor, program) = vendor_program_required(state, user, slug).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| change(conn, &program, &actor, now))
        .await
        .map_err(api_error)?;
    Ok(see_other(&format!(
        "/vendor/{}/program/{section}",
        vendor.slug
    )))
}

async fn vendor_program_required(
    state: &AppState,
    user: &SessionUser,
    slug: String,
) -> Result<(Vendor, Program), PageError> {
    match vendor_page(state, user, slug).await? {
        (vendor, Some(program)) => Ok((vendor, program)),
        (vendor, None) => Err(PageError::NotFound(format!(
            "{} has no advocate program yet. Create it under /vendor/{}/program.",
            vendor.name, vendor.slug
        ))),
    }
}
