//! Public program pages: the list, one program's terms and tiers, the enroll form and the
//! earnings disclosure.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::api_error;
use super::dashboard::share_text;
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::http::pages::{
    render, render_with_status, see_other, Form, MaybeUser, PageContext, PageError, PageUser,
};
use crate::money::{format_amount, format_percent};
use crate::referrals::service::{self, EnrollInput, EnrollmentView, ProgramView};
use crate::referrals::ReferralError;

#[derive(Template)]
#[template(path = "referrals/programs.html")]
struct ProgramsPage {
    ctx: PageContext,
    programs: Vec<(String, String, String, String)>,
}

#[get("/programs")]
pub(super) async fn programs_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
) -> Result<HttpResponse, PageError> {
    let links = state.links.clone();
    let views = state
        .db(move |conn| service::public_programs(conn, &links))
        .await
        .map_err(api_error)?;
    let programs = views
        .iter()
        .map(|p| {
            let top = p.tiers.iter().map(|t| t.rate_bps).max().unwrap_or(0);
            let base = p.tiers.iter().map(|t| t.rate_bps).min().unwrap_or(0);
            (
                p.id.clone(),
                p.vendor_name.clone(),
                format_percent(base),
                format_percent(top),
            )
        })
        .collect();
    Ok(render(&ProgramsPage {
        ctx: PageContext::new(&req, user),
        programs,
    }))
}

struct TierLine {
    name: String,
    rate: String,
    requires: String,
}

fn tier_lines(program: &ProgramView) -> Vec<TierLine> {
    program
        .tiers
        .iter()
        .map(|t| TierLine {
            name: t.name.clone(),
            rate: format_percent(t.rate_bps),
            requires: if t.required_exam_titles.is_empty() {
                "nothing: every advocate starts here".to_string()
            } else {
                format!(
                    "current certification: {}",
                    t.required_exam_titles.join(", ")
                )
            },
        })
        .collect()
}

#[derive(Template)]
#[template(path = "referrals/program.html")]
struct ProgramPage {
    ctx: PageContext,
    program: ProgramView,
    tiers: Vec<TierLine>,
    min_payout: String,
    enrollment: Option<EnrollmentView>,
    share_text: String,
    error: Option<String>,
    show_form: bool,
}

async fn show_program(
    state: &AppState,
    req: &HttpRequest,
    user: Option<SessionUser>,
    reference: String,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let links = state.links.clone();
    let now = state.clock.now();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let (view, enrollment) = state
        .db(move |conn| {
            service::program_for_visitor(conn, &reference, user_id.as_deref(), &links, now)
        })
        .await
        .map_err(api_error)?;
    Ok(render_with_status(
        status,
        &ProgramPage {
            ctx: PageContext::new(req, user),
            tiers: tier_lines(&view),
            min_payout: format_amount(view.min_payout_minor, &view.currency),
            share_text: enrollment.as_ref().map(share_text).unwrap_or_default(),
            show_form: enrollment
                .as_ref()
                .is_none_or(|e| e.terms_accepted_version != e.terms_version),
            program: view,
            enrollment,
            error,
        },
    ))
}

#[get("/programs/{program}")]
pub(super) async fn program_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    show_program(&state, &req, user, path.into_inner(), None, StatusCode::OK).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EnrollForm {
    terms_version: String,
    accept_terms: Option<String>,
}

#[post("/programs/{program}/enroll")]
pub(super) async fn enroll_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<EnrollForm>,
) -> Result<HttpResponse, PageError> {
    let reference = path.into_inner();
    if form.accept_terms.is_none() {
        return show_program(
            &state,
            &req,
            Some(user),
            reference,
            Some("Tick the box to accept the program's terms; joining is free.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let input = EnrollInput {
        accept_terms_version: Some(form.terms_version),
    };
    let now = state.clock.now();
    let links = state.links.clone();
    let (person, program) = (user.clone(), reference.clone());
    let enrolled = state
        .tx(move |conn| {
            service::enroll_by_reference(conn, &program, (&person).into(), &input, &links, now)
        })
        .await;
    match enrolled {
        Ok(_) => Ok(see_other("/referrals")),
        Err(ReferralError::Validation(errors)) => {
            let message = errors
                .first()
                .map(|e| e.message.clone())
                .unwrap_or_default();
            show_program(
                &state,
                &req,
                Some(user),
                reference,
                Some(format!(
                    "The terms changed while you were reading: {message}"
                )),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
        Err(other) => Err(api_error(other)),
    }
}

struct YearLine {
    year: i32,
    enrolled: u64,
    nothing: String,
    median: String,
    p90: String,
    withheld: bool,
}

#[derive(Template)]
#[template(path = "referrals/disclosure.html")]
struct DisclosurePage {
    ctx: PageContext,
    program: ProgramView,
    tiers: Vec<TierLine>,
    min_payout: String,
    years: Vec<YearLine>,
}

/// Public earnings disclosure page (HTML)
#[utoipa::path(
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 404, description = "No such program", content_type = "text/html", body = String)
    ),
    security()
)]
#[get("/programs/{program}/disclosure")]
pub(super) async fn disclosure_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let reference = path.into_inner();
    let links = state.links.clone();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::disclosure(conn, &reference, &links, now))
        .await
        .map_err(api_error)?;
    let currency = view.program.currency.clone();
    let years = view
        .years
        .iter()
        .map(|y| YearLine {
            year: y.year,
            enrolled: y.enrolled,
            nothing: y
                .earning_nothing_share_bp
                .map(format_percent)
                .unwrap_or_default(),
            median: y
                .median_minor
                .map(|m| format_amount(m, &currency))
                .unwrap_or_default(),
            p90: y
                .p90_minor
                .map(|m| format_amount(m, &currency))
                .unwrap_or_default(),
            withheld: y.withheld,
        })
        .collect();
    Ok(render(&DisclosurePage {
        ctx: PageContext::new(&req, user),
        tiers: tier_lines(&view.program),
        min_payout: format_amount(view.program.min_payout_minor, &currency),
        program: view.program,
        years,
    }))
}
