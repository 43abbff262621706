//! Vendor console: the advocates and their suspension or reinstatement.

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{api_error, program_change, tier_name, vendor_program_required};
use crate::accounts::Vendor;
use crate::app::AppState;
use crate::http::pages::{render, Form, PageContext, PageError, PageUser};
use crate::money::format_amount;
use crate::referrals::{self as referrals, service, ReferralError};

struct AdvocateLine {
    id: String,
    name: String,
    email: String,
    code: String,
    tier: String,
    status: String,
    enrolled: String,
    clicks: i64,
    customers: i64,
    invoices: i64,
    commissions: i64,
    earned: String,
}

#[derive(Template)]
#[template(path = "referrals/vendor_advocates.html")]
struct AdvocatesPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    advocates: Vec<AdvocateLine>,
}

#[get("/vendor/{vendor}/program/advocates")]
pub(super) async fn vendor_advocates(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let currency = program.currency.clone();
    let (funnel, advocates, tier_names) = state
        .db(move |conn| {
            let funnel = service::funnel(conn, &program)?;
            let advocates = referrals::store::advocates_of_program(conn, &program.id)?;
            let tier_names = service::tier_names(conn, &program.id)?;
            Ok::<_, ReferralError>((funnel, advocates, tier_names))
        })
        .await
        .map_err(api_error)?;
    let lines = advocates
        .into_iter()
        .map(|a| {
            let f = funnel
                .advocates
                .iter()
                .find(|f| f.enrollment == a.enrollment.id);
            AdvocateLine {
                id: a.enrollment.id.clone(),
                name: a.name,
                email: a.email,
                code: a.enrollment.referral_code,
                tier: tier_name(&tier_names, &a.enrollment.tier_code),
                status: a.enrollment.status.to_string(),
                enrolled: super::super::human_date(a.enrollment.enrolled_at),
                clicks: f.map_or(0, |f| f.clicks),
                customers: f.map_or(0, |f| f.customers),
                invoices: f.map_or(0, |f| f.invoices),
                commissions: f.map_or(0, |f| f.commissions),
                earned: format_amount(f.map_or(0, |f| f.earned_minor), &currency),
            }
        })
        .collect();
    Ok(render(&AdvocatesPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "advocates",
        advocates: lines,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    status: String,
}

#[post("/vendor/{vendor}/program/advocates/{enrollment}/status")]
pub(super) async fn vendor_advocate_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, enrollment_id) = path.into_inner();
    let answer = program_change(
        &state,
        &req,
        &user,
        slug,
        "advocates",
        move |conn, program, actor, now| {
            service::set_advocate_status(conn, program, &enrollment_id, &form.status, actor, now)
        },
    )
    .await?;
    state.clicks.forget_codes();
    Ok(answer)
}
