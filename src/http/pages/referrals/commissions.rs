//! Vendor console: the commissions and the hold review (clear, reject).

use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::dashboard::CommissionRow;
use super::{api_error, program_change, vendor_program_required};
use crate::accounts::{SessionUser, Vendor};
use crate::app::AppState;
use crate::http::pages::{render, Form, PageContext, PageError, PageUser};
use crate::referrals::service::{self, CommissionView, Review};
use crate::referrals::{CommissionStatus, ReferralError};

struct ReviewLine {
    id: String,
    row: CommissionRow,
}

#[derive(Template)]
#[template(path = "referrals/vendor_commissions.html")]
struct CommissionsPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    held: Vec<ReviewLine>,
    all: Vec<ReviewLine>,
}

#[get("/vendor/{vendor}/program/commissions")]
pub(super) async fn vendor_commissions(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let (list, tier_names) = state
        .db(move |conn| {
            let list = service::list_commissions(conn, &program, false)?;
            Ok::<_, ReferralError>((list, service::tier_names(conn, &program.id)?))
        })
        .await
        .map_err(api_error)?;
    let line = |c: &CommissionView| ReviewLine {
        id: c.id.clone(),
        row: CommissionRow::from(c, &tier_names),
    };
    let held = list
        .iter()
        .filter(|c| c.held && c.status == CommissionStatus::Pending.as_str())
        .map(line)
        .collect();
    let all = list.iter().map(line).collect();
    Ok(render(&CommissionsPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "commissions",
        held,
        all,
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReviewForm {
    note: String,
}

#[post("/vendor/{vendor}/program/commissions/{id}/clear-hold")]
pub(super) async fn vendor_clear_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<ReviewForm>,
) -> Result<HttpResponse, PageError> {
    let decision = Review::ClearHold {
        note: Some(form.note),
    };
    review(&state, &req, &user, path.into_inner(), decision).await
}

#[post("/vendor/{vendor}/program/commissions/{id}/reject")]
pub(super) async fn vendor_reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<ReviewForm>,
) -> Result<HttpResponse, PageError> {
    let reason = if form.note.trim().is_empty() {
        "self-referral confirmed".to_string()
    } else {
        form.note
    };
    review(
        &state,
        &req,
        &user,
        path.into_inner(),
        Review::Reject { reason },
    )
    .await
}

async fn review(
    state: &AppState,
    req: &HttpRequest,
    user: &SessionUser,
    (slug, id): (String, String),
    decision: Review,
) -> Result<HttpResponse, PageError> {
    program_change(
        state,
        req,
        user,
        slug,
        "commissions",
        move |conn, program, actor, now| {
            service::review_commission(conn, program, &id, &decision, actor, now)
        },
    )
    .await
}
