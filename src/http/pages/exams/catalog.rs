//! The catalog and an exam's page with the start form.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{page_error, when};
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::exams::service::{self, CatalogEntry, ExamDetails};
use crate::exams::{render_markdown, ExamError};
use crate::http::pages::{
    render, render_with_status, see_other, Form, MaybeUser, PageContext, PageError, PageUser,
};
use crate::usecases::start_for;
use crate::validation::FieldErrors;

#[derive(Template)]
#[template(path = "exams/catalog.html")]
struct CatalogPage {
    ctx: PageContext,
    exams: Vec<CatalogEntry>,
}

#[get("/exams")]
pub(super) async fn catalog_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
) -> Result<HttpResponse, PageError> {
    let exams = state.db(service::catalog).await.map_err(page_error)?;
    Ok(render(&CatalogPage {
        ctx: PageContext::new(&req, user),
        exams,
    }))
}

#[derive(Template)]
#[template(path = "exams/detail.html")]
struct DetailPage {
    ctx: PageContext,
    exam: ExamDetails,
    description_html: String,
    open_attempt: Option<String>,
    /// A problem starting the attempt, shown above the form.
    problem: Option<String>,
    errors: FieldErrors,
    voucher: String,
    /// The vendor sells this exam through its Stripe checkout.
    pay_online: bool,
}

async fn detail_page(
    state: &AppState,
    req: &HttpRequest,
    user: Option<SessionUser>,
    vendor: String,
    exam: String,
) -> Result<DetailPage, PageError> {
    let user_id = user.as_ref().map(|u| u.id.clone());
    let (details, open_attempt, pay_online) = state
        .db(move |conn| {
            let details = service::exam_details(conn, &vendor, &exam)?;
            let open = match user_id {
                Some(id) => service::open_attempt_id(conn, &id, &vendor, &exam)?,
                None => None,
            };
            let pay_online = crate::billing::service::sells_online(conn, &vendor, &exam)
                .map_err(|e| ExamError::Internal(e.to_string()))?;
            Ok::<_, ExamError>((details, open, pay_online))
        })
        .await
        .map_err(page_error)?;
    Ok(DetailPage {
        ctx: PageContext::new(req, user),
        description_html: render_markdown(&details.description),
        exam: details,
        open_attempt,
        problem: None,
        errors: FieldErrors::new(),
        voucher: String::new(),
        pay_online,
    })
}

#[get("/exams/{vendor}/{exam}")]
pub(super) async fn exam_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam) = path.into_inner();
    Ok(render(
        &detail_page(&state, &req, user, vendor, exam).await?,
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StartForm {
    voucher: String,
}

#[post("/exams/{vendor}/{exam}/start")]
pub(super) async fn start_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<StartForm>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam) = path.into_inner();
    let voucher = Some(form.voucher.clone()).filter(|v| !v.trim().is_empty());
    let started = start_for(
        &state,
        user.id.clone(),
        vendor.clone(),
        exam.clone(),
        voucher,
    )
    .await;
    let error = match started {
        Ok(started) => return Ok(see_other(&format!("/attempts/{}", started.id))),
        Err(e) => e,
    };
    let mut page = detail_page(&state, &req, Some(user), vendor, exam).await?;
    page.voucher = form.voucher;
    let status = match error {
        ExamError::VoucherRejected(message) => {
            page.errors.add("voucher", message);
            StatusCode::PAYMENT_REQUIRED
        }
        ExamError::EntitlementRequired(message) => {
            page.errors.add(
                "voucher",
                format!("{message}. Enter a voucher code to start."),
            );
            StatusCode::PAYMENT_REQUIRED
        }
        ExamError::AttemptOpen { attempt_id } => {
            page.problem = Some(
                "You already have an attempt at this exam in progress. Resume it below.".into(),
            );
            page.open_attempt = Some(attempt_id);
            StatusCode::CONFLICT
        }
        ExamError::Conflict(message) => {
            page.problem = Some(message);
            StatusCode::CONFLICT
        }
        ExamError::RetakeNotYet {
            reason,
            next_attempt_at,
            ..
        } => {
            page.problem = Some(format!(
                "Not yet: {reason}. You can start a new attempt from {}.",
                when(next_attempt_at)
            ));
            StatusCode::TOO_MANY_REQUESTS
        }
        other => return Err(page_error(other)),
    };
    Ok(render_with_status(status, &page))
}
