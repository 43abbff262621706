//! Exam pages: the catalog, an exam's page with the start form, the exam-taking page (works without
//! JavaScript; with it, answers autosave through the API), the score report, the dashboard section, and the
//! vendor console's exam pages (bank upload with errors by line, results, revenue, vouchers, statistics).

use std::collections::BTreeMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    render, render_with_status, see_other, vendor_with_role, Form, MaybeUser, PageContext,
    PageError, PageUser,
};
use crate::accounts::{SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::charts::{bar_chart, Bar, ChartOptions};
use crate::exams::service::{
    self, AttemptResult, AttemptView, BankSource, CatalogEntry, ExamDetails, ReviewQuestion,
    StatisticsReport, VersionChange, VoucherInput,
};
use crate::exams::store::{self, ExamRow};
use crate::exams::{format_percent, render_markdown, BankError, ExamError, PresentedQuestion};
use crate::http::api::exams::{start_for, BANK_LIMIT};
use crate::http::auth::{csrf_matches, user_actor};
use crate::http::extract::read_body;
use crate::http::multipart::parse_multipart;
use crate::http::problem::ApiError;
use crate::validation::FieldErrors;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(catalog_page)
        .service(exam_page)
        .service(start_submit)
        .service(take_page)
        .service(take_submit)
        .service(summary_page)
        .service(summary_submit)
        .service(result_page)
        .service(vendor_exams_page)
        .service(vendor_upload)
        .service(vendor_exam_page)
        .service(vendor_version_action)
        .service(vendor_vouchers)
        .service(vendor_statistics_page);
}

/// Links for the `/vendor` hub.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    vec![(
        format!("/vendor/{vendor_slug}/exams"),
        "Exams, banks and vouchers",
    )]
}

fn page_error(e: ExamError) -> PageError {
    ApiError::from(e).into()
}

fn when(t: chrono::NaiveDateTime) -> String {
    super::human_time(t)
}

// ------------------------------------------------------------------------------------------- catalog

#[derive(Template)]
#[template(path = "exams/catalog.html")]
struct CatalogPage {
    ctx: PageContext,
    exams: Vec<CatalogEntry>,
}

#[get("/exams")]
async fn catalog_page(
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
async fn exam_page(
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
async fn start_submit(
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

// -------------------------------------------------------------------------------------- taking page

struct ChoiceView {
    id: String,
    html: String,
    checked: bool,
}

struct QuestionView {
    number: usize,
    id: String,
    multiple: bool,
    /// What the fieldset asks for: the stem's own count when it names one ("Choose two answers").
    legend: String,
    stem_html: String,
    choices: Vec<ChoiceView>,
    answered: bool,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "exams/take.html")]
struct TakePage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
    exam_href: String,
    deadline: String,
    remaining_seconds: i64,
    remaining_text: String,
    questions: Vec<QuestionView>,
    answered: usize,
    /// A staff preview of a version (no certificate, no statistics).
    preview: bool,
    flagged: usize,
}

fn remaining_text(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, (seconds % 3600) / 60, seconds % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

/// The fieldset's instruction. A multiple-answer stem that asks for a number ("(Choose two.)") is
/// repeated, so the stem and the legend never disagree; the number comes from the stem, not the key.
fn legend(multiple: bool, stem_html: &str) -> String {
    if !multiple {
        return "Choose one answer".into();
    }
    match crate::exams::asked_count(stem_html) {
        Some(count) => format!("Choose {} answers", number_word(count)),
        None => "Choose all that apply".into(),
    }
}

/// Small counts in words, as a stem says them ("two"); larger ones in digits.
fn number_word(count: usize) -> String {
    const WORDS: [&str; 9] = [
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    count
        .checked_sub(1)
        .and_then(|index| WORDS.get(index))
        .map_or_else(|| count.to_string(), |word| (*word).to_string())
}

fn question_views(view: &AttemptView, questions: Vec<PresentedQuestion>) -> Vec<QuestionView> {
    let answers: &BTreeMap<String, Vec<String>> = &view.answers;
    questions
        .into_iter()
        .enumerate()
        .map(|(index, q)| {
            let chosen = answers.get(&q.id).cloned().unwrap_or_default();
            let multiple = q.kind == crate::exams::QuestionKind::Multiple;
            QuestionView {
                number: index + 1,
                multiple,
                legend: legend(multiple, &q.stem_html),
                stem_html: q.stem_html,
                answered: !chosen.is_empty(),
                flagged: view.flagged.contains(&q.id),
                choices: q
                    .choices
                    .into_iter()
                    .map(|c| ChoiceView {
                        checked: chosen.contains(&c.id),
                        id: c.id,
                        html: c.text_html,
                    })
                    .collect(),
                id: q.id,
            }
        })
        .collect()
}

fn take_view(ctx: PageContext, view: AttemptView, questions: Vec<PresentedQuestion>) -> TakePage {
    let questions = question_views(&view, questions);
    TakePage {
        ctx,
        answered: questions.iter().filter(|q| q.answered).count(),
        flagged: questions.iter().filter(|q| q.flagged).count(),
        attempt_id: view.id.clone(),
        exam_href: format!("/exams/{}/{}", view.exam.vendor, view.exam.slug),
        exam_title: view.exam.title.clone(),
        deadline: deadline_text(&view.deadline),
        remaining_seconds: view.remaining_seconds,
        remaining_text: remaining_text(view.remaining_seconds),
        questions,
        preview: view.preview,
    }
}

fn deadline_text(deadline: &str) -> String {
    chrono::NaiveDateTime::parse_from_str(deadline, "%Y-%m-%dT%H:%M:%SZ")
        .map(|t| t.format("%H:%M UTC on %-d %b %Y").to_string())
        .unwrap_or_else(|_| deadline.to_owned())
}

async fn load_view(
    state: &AppState,
    user_id: String,
    attempt_id: String,
) -> Result<AttemptView, PageError> {
    let now = state.clock.now();
    state
        .db(move |conn| service::attempt_view(conn, &user_id, &attempt_id, now))
        .await
        .map_err(page_error)
}

/// The attempt's view while it is open; otherwise the redirect to its result.
async fn open_view(
    state: &AppState,
    user: &SessionUser,
    attempt_id: &str,
) -> Result<Result<AttemptView, HttpResponse>, PageError> {
    let view = load_view(state, user.id.clone(), attempt_id.to_owned()).await?;
    if view.status != "open" {
        return Ok(Err(see_other(&format!("/attempts/{attempt_id}/result"))));
    }
    Ok(Ok(view))
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
}

#[get("/attempts/{id}")]
async fn take_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let mut view = match open_view(&state, &user, &attempt_id).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let questions = view.questions.take().unwrap_or_default();
    let mut ctx = PageContext::new(&req, Some(user));
    if query.saved.is_some() {
        ctx.notices.push("Your answers are saved.".into());
    }
    Ok(no_store(render(&take_view(ctx, view, questions))))
}

/// The taking page's form without JavaScript: saves every answer on the page and the flags, then
/// toggles a flag (`flag`/`unflag` = question handle), shows the summary (`action=review`), submits
/// (`action=submit`) or comes back to the page.
#[post("/attempts/{id}")]
async fn take_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let action = field("action").unwrap_or_default();
    let toggled = field("flag")
        .map(|handle| (handle, true))
        .or_else(|| field("unflag").map(|handle| (handle, false)));
    let now = state.clock.now();
    let (user_id, id) = (user.id.clone(), attempt_id.clone());
    let flag = toggled.clone();
    let saved = state
        .tx(move |conn| {
            let ids = service::form_question_handles(conn, &user_id, &id)?;
            let answers = service::answers_from_fields(&ids, &fields);
            service::save_answers(conn, &user_id, &id, &answers, now)?;
            let flags: Vec<(String, bool)> = flag.into_iter().collect();
            service::set_flags(conn, &user_id, &id, &flags, now)?;
            Ok(ids)
        })
        .await;
    let ids = match saved {
        Ok(ids) => ids,
        // Submitted already or out of time: grade with what was saved before and show the result.
        Err(ExamError::AttemptClosed(_)) => Vec::new(),
        Err(other) => return Err(page_error(other)),
    };
    if action == "submit" || saved_closed(&state, &user.id, &attempt_id).await? {
        return submit_and_show(&state, &user, &attempt_id).await;
    }
    if action == "review" {
        return Ok(see_other(&format!("/attempts/{attempt_id}/summary")));
    }
    let anchor = toggled
        .and_then(|(handle, _)| ids.iter().position(|id| *id == handle))
        .map(|index| format!("#q-{}", index + 1))
        .unwrap_or_default();
    Ok(see_other(&format!(
        "/attempts/{attempt_id}?saved=1{anchor}"
    )))
}

/// Grades the attempt (or reads the stored grade) and shows the result.
async fn submit_and_show(
    state: &AppState,
    user: &SessionUser,
    attempt_id: &str,
) -> Result<HttpResponse, PageError> {
    let links = state.links.clone();
    let hook = state.on_exam_passed();
    let (user_id, id) = (user.id.clone(), attempt_id.to_owned());
    let now = state.clock.now();
    state
        .tx(move |conn| service::submit_attempt(conn, &user_id, &id, &links, &hook, now))
        .await
        .map_err(page_error)?;
    Ok(see_other(&format!("/attempts/{attempt_id}/result")))
}

#[derive(Clone, Copy)]
struct SummaryItem {
    number: usize,
    answered: bool,
    flagged: bool,
}

#[derive(Template)]
#[template(path = "exams/summary.html")]
struct SummaryPage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
    deadline: String,
    remaining_text: String,
    total: usize,
    unanswered: Vec<SummaryItem>,
    flagged: Vec<SummaryItem>,
    confirm: String,
}

/// The summary before submitting: the questions not answered and those flagged for review, each a
/// link back to it, and the Submit button (which asks once more when questions are unanswered).
#[get("/attempts/{id}/summary")]
async fn summary_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let mut view = match open_view(&state, &user, &attempt_id).await? {
        Ok(view) => view,
        Err(redirect) => return Ok(redirect),
    };
    let questions = view.questions.take().unwrap_or_default();
    let items: Vec<SummaryItem> = question_views(&view, questions)
        .into_iter()
        .map(|q| SummaryItem {
            number: q.number,
            answered: q.answered,
            flagged: q.flagged,
        })
        .collect();
    let total = items.len();
    let (unanswered, answered): (Vec<_>, Vec<_>) = items.into_iter().partition(|q| !q.answered);
    let mut flagged: Vec<SummaryItem> = unanswered
        .iter()
        .chain(&answered)
        .filter(|q| q.flagged)
        .copied()
        .collect();
    flagged.sort_by_key(|q| q.number);
    let confirm = match unanswered.len() {
        0 => "Submit your answers for grading? You can't change them afterwards.".to_string(),
        n => format!(
            "{} not answered. Submit anyway? You can't change your answers afterwards.",
            crate::text::plural(n as i64, "question is", "questions are")
        ),
    };
    let page = SummaryPage {
        ctx: PageContext::new(&req, Some(user)),
        exam_title: view.exam.title.clone(),
        deadline: deadline_text(&view.deadline),
        remaining_text: remaining_text(view.remaining_seconds),
        attempt_id,
        total,
        unanswered,
        flagged,
        confirm,
    };
    Ok(no_store(render(&page)))
}

/// The summary page's Submit button.
#[post("/attempts/{id}/submit")]
async fn summary_submit(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(_fields): Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    submit_and_show(&state, &user, &path.into_inner()).await
}

/// Whether the attempt no longer takes answers (deadline passed or already graded).
async fn saved_closed(
    state: &AppState,
    user_id: &str,
    attempt_id: &str,
) -> Result<bool, PageError> {
    let view = load_view(state, user_id.to_owned(), attempt_id.to_owned()).await?;
    Ok(view.status != "open")
}

// --------------------------------------------------------------------------------------- result page

struct DomainRow {
    title: String,
    correct: u32,
    total: u32,
    percent: String,
}

#[derive(Template)]
#[template(path = "exams/result.html")]
struct ResultPage {
    ctx: PageContext,
    exam_title: String,
    exam_href: String,
    score: String,
    pass_percent: u8,
    passed: bool,
    graded_at: String,
    domains: Vec<DomainRow>,
    review: Option<Vec<ReviewQuestion>>,
    credential_href: Option<String>,
    preview: bool,
}

#[derive(Template)]
#[template(path = "exams/grading.html")]
struct GradingPage {
    ctx: PageContext,
    attempt_id: String,
    exam_title: String,
}

#[get("/attempts/{id}/result")]
async fn result_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let attempt_id = path.into_inner();
    let view = load_view(&state, user.id.clone(), attempt_id.clone()).await?;
    let ctx = PageContext::new(&req, Some(user));
    match (view.status, view.result) {
        ("open", _) => Ok(see_other(&format!("/attempts/{attempt_id}"))),
        (_, Some(result)) => Ok(render(&ResultPage {
            preview: view.preview,
            ..result_view(ctx, &view.exam, result, view.review)
        })),
        // Overdue: the deadline job grades it within moments.
        _ => Ok(render(&GradingPage {
            ctx,
            attempt_id,
            exam_title: view.exam.title,
        })),
    }
}

fn result_view(
    ctx: PageContext,
    exam: &service::ExamRef,
    result: AttemptResult,
    review: Option<Vec<ReviewQuestion>>,
) -> ResultPage {
    ResultPage {
        ctx,
        exam_title: exam.title.clone(),
        exam_href: format!("/exams/{}/{}", exam.vendor, exam.slug),
        score: format_percent(result.score_bp),
        pass_percent: result.pass_percent,
        passed: result.passed,
        graded_at: super::human_time_text(&result.graded_at),
        domains: result
            .domains
            .iter()
            .map(|d| DomainRow {
                title: d.title.clone(),
                correct: d.correct,
                total: d.total,
                percent: format_percent(d.score_bp),
            })
            .collect(),
        review,
        credential_href: result.credential_id.map(|id| format!("/c/{id}")),
        preview: false,
    }
}

// ------------------------------------------------------------------------------------------ dashboard

struct DashboardAttempt {
    href: String,
    exam_title: String,
    started: String,
    deadline: String,
    score: String,
    passed: bool,
}

/// An exam the person cannot take again yet: when they can, and why.
struct NotYet {
    href: String,
    exam_title: String,
    from: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "exams/dashboard_section.html")]
struct DashboardSection {
    open: Vec<DashboardAttempt>,
    graded: Vec<DashboardAttempt>,
    available: Vec<CatalogEntry>,
    not_yet: Vec<NotYet>,
}

/// The person's attempts (open ones to resume, graded ones with their score) and the exams they can take.
pub async fn dashboard_section(state: &AppState, user: &SessionUser) -> Result<String, PageError> {
    let user_id = user.id.clone();
    let now = state.clock.now();
    let (attempts, catalog, blocked) = state
        .db(move |conn| {
            Ok::<_, ExamError>((
                service::attempts_of_user(conn, &user_id)?,
                service::catalog(conn)?,
                service::retakes_not_yet(conn, &user_id, now)?,
            ))
        })
        .await
        .map_err(page_error)?;
    // Exams in progress are resumed above; those the retake policy holds back say from when.
    let in_progress: Vec<(String, String)> = attempts
        .iter()
        .filter(|a| a.status == "open")
        .map(|a| (a.vendor.clone(), a.exam_slug.clone()))
        .collect();
    let mut available = Vec::new();
    let mut not_yet = Vec::new();
    for exam in catalog {
        let key = (exam.vendor.clone(), exam.slug.clone());
        if in_progress.contains(&key) {
            continue;
        }
        match blocked.get(&key) {
            Some((until, reason)) => not_yet.push(NotYet {
                href: format!("/exams/{}/{}", exam.vendor, exam.slug),
                exam_title: exam.title,
                from: when(*until),
                reason: reason.clone(),
            }),
            None => available.push(exam),
        }
    }
    let mut open = Vec::new();
    let mut graded = Vec::new();
    for a in attempts {
        let item = DashboardAttempt {
            exam_title: a.exam_title,
            started: when(a.started_at),
            deadline: when(a.deadline),
            score: a
                .score_bp
                .map(|bp| format_percent(u32::try_from(bp).unwrap_or(0)))
                .unwrap_or_default(),
            passed: a.passed == Some(true),
            href: if a.status == "open" {
                format!("/attempts/{}", a.id)
            } else {
                format!("/attempts/{}/result", a.id)
            },
        };
        if a.status == "open" {
            open.push(item);
        } else {
            graded.push(item);
        }
    }
    DashboardSection {
        open,
        graded,
        available,
        not_yet,
    }
    .render()
    .map_err(|e| PageError::Internal(format!("template: {e}")))
}

// ------------------------------------------------------------------------------------ vendor console

struct VendorExamRow {
    slug: String,
    title: String,
    version: i32,
    version_label: String,
    version_state: String,
    price: String,
    graded: usize,
    pass_rate: String,
    open: usize,
}

#[derive(Template)]
#[template(path = "exams/vendor_exams.html")]
struct VendorExamsPage {
    ctx: PageContext,
    vendor: Vendor,
    exams: Vec<VendorExamRow>,
    format: String,
    exam_slug: String,
    text: String,
    errors: FieldErrors,
    /// Problems of the uploaded file, each with its line.
    bank_errors: Vec<BankError>,
    /// The input the bank came from (`file` or `text`): its problems are listed next to it.
    bank_source: &'static str,
}

fn pass_rate(passed: usize, graded: usize) -> String {
    if graded == 0 {
        "—".into()
    } else {
        // Rounded half up to a whole percent.
        format!("{} %", (passed * 200 + graded) / (graded * 2))
    }
}

async fn vendor_exams_view(
    state: &AppState,
    ctx: PageContext,
    vendor: Vendor,
) -> Result<VendorExamsPage, PageError> {
    let vendor_id = vendor.id.clone();
    let summaries = state
        .db(move |conn| service::vendor_exams(conn, &vendor_id))
        .await
        .map_err(page_error)?;
    Ok(VendorExamsPage {
        ctx,
        vendor,
        exams: summaries
            .into_iter()
            .map(|s| VendorExamRow {
                price: service::PriceView {
                    amount_minor: s.exam.price_minor,
                    currency: s.exam.currency.clone(),
                }
                .display(),
                slug: s.exam.slug,
                title: s.exam.title,
                version: s.version,
                version_label: s.version_label,
                version_state: s.version_state,
                pass_rate: pass_rate(s.passed, s.graded),
                graded: s.graded,
                open: s.open,
            })
            .collect(),
        format: "toml".into(),
        exam_slug: String::new(),
        text: String::new(),
        errors: FieldErrors::new(),
        bank_errors: Vec::new(),
        bank_source: "text",
    })
}

#[get("/vendor/{vendor}/exams")]
async fn vendor_exams_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Examiner).await?;
    let page = vendor_exams_view(&state, PageContext::new(&req, Some(user)), vendor).await?;
    Ok(render(&page))
}

#[post("/vendor/{vendor}/exams/upload")]
async fn vendor_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let mut payload = payload.into_inner();
    let body = read_body(&mut payload, BANK_LIMIT + 64 * 1024).await?;
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let parts = parse_multipart(&content_type, &body)
        .ok_or_else(|| PageError::BadRequest("the upload form could not be read".into()))?;
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name && p.filename.is_none())
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
            .unwrap_or_default()
    };
    if !csrf_matches(&req, Some(&field("csrf_token"))) {
        return Err(PageError::Forbidden(
            "This form has expired or was not sent from Credo. Go back, reload the page and try again."
                .into(),
        ));
    }
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Examiner).await?;
    let format = if field("format") == "gift" {
        "gift"
    } else {
        "toml"
    };
    let exam_slug = field("exam").trim().to_owned();
    let publish = field("publish") == "on";
    let pasted = field("text");
    let file = parts
        .iter()
        .find(|p| p.name == "file" && !p.data.is_empty());
    let mut page = vendor_exams_view(
        &state,
        PageContext::new(&req, Some(user.clone())),
        vendor.clone(),
    )
    .await?;
    page.format = format.to_owned();
    page.exam_slug = exam_slug.clone();
    let (name, text) = match file {
        Some(part) => {
            let default = if format == "gift" {
                "upload.gift"
            } else {
                "upload.toml"
            };
            let name = part
                .filename
                .as_deref()
                .map(|n| n.rsplit(['/', '\\']).next().unwrap_or(n).to_owned())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| default.to_owned());
            match String::from_utf8(part.data.clone()) {
                Ok(text) => (name, text),
                Err(_) => {
                    page.errors
                        .add("file", "the file is not UTF-8 text; save it as UTF-8");
                    return Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
                }
            }
        }
        None => {
            let name = if format == "gift" {
                "pasted.gift"
            } else {
                "pasted.toml"
            };
            (name.to_owned(), pasted.clone())
        }
    };
    if text.trim().is_empty() {
        page.errors
            .add("text", "choose a bank file or paste its text");
        return Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let vendor_for_import = vendor.clone();
    let (import_name, import_text, import_slug) = (name.clone(), text.clone(), exam_slug.clone());
    let imported = state
        .tx(move |conn| {
            let source = if format == "gift" {
                BankSource::Gift {
                    name: &import_name,
                    text: &import_text,
                    exam_slug: &import_slug,
                }
            } else {
                BankSource::Toml {
                    name: &import_name,
                    text: &import_text,
                }
            };
            service::import_bank(conn, &vendor_for_import, &source, publish, &actor, now)
        })
        .await;
    match imported {
        Ok(outcome) => {
            // The exam's page, answered directly (not through a redirect) so the notice and the warnings come
            // from the import, never from a URL someone could craft.
            let mut page = vendor_exam_view(
                &state,
                PageContext::new(&req, Some(user)),
                vendor,
                outcome.exam.clone(),
            )
            .await?;
            page.ctx.notices.push(if outcome.created {
                format!(
                    "Imported {name}: version {} with {}{}. {}",
                    outcome.version,
                    crate::text::plural(outcome.questions as i64, "question", "questions"),
                    if outcome.warnings.is_empty() {
                        String::new()
                    } else {
                        format!(
                            ", {}",
                            crate::text::plural(
                                outcome.warnings.len() as i64,
                                "warning",
                                "warnings"
                            )
                        )
                    },
                    if outcome.state == store::VERSION_PUBLISHED {
                        "It is published: candidates take it from now on."
                    } else {
                        "It is a draft: only staff see it. Preview it, then publish it under Versions."
                    }
                )
            } else {
                format!(
                    "{name} is identical to version {}; nothing changed.",
                    outcome.version
                )
            });
            page.warnings = outcome.warnings.iter().map(ToString::to_string).collect();
            let status = if outcome.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(render_with_status(status, &page))
        }
        Err(ExamError::Bank(errors)) => {
            page.bank_errors = errors.errors;
            page.bank_source = if file.is_some() { "file" } else { "text" };
            // Keep pasted text so it can be fixed in place.
            if file.is_none() {
                page.text = pasted;
            }
            Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(ExamError::Validation(errors)) => {
            for error in errors {
                page.errors.add(error.field, error.message);
            }
            if file.is_none() {
                page.text = pasted;
            }
            Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(page_error(other)),
    }
}

struct ResultRow {
    candidate: String,
    email: String,
    graded: String,
    score: String,
    passed: bool,
    by_deadline: bool,
}

struct RevenueRow {
    month: String,
    amount: String,
    orders: u32,
}

struct BatchRow {
    created: String,
    expires: String,
    count: usize,
    redeemed: usize,
}

struct VersionRow {
    number: i32,
    label: String,
    source: String,
    created: String,
    state: String,
}

#[derive(Template)]
#[template(path = "exams/vendor_exam.html")]
struct VendorExamPage {
    ctx: PageContext,
    vendor: Vendor,
    exam: ExamRow,
    price: String,
    graded: usize,
    pass_rate: String,
    results: Vec<ResultRow>,
    revenue: Vec<RevenueRow>,
    batches: Vec<BatchRow>,
    versions: Vec<VersionRow>,
    warnings: Vec<String>,
    new_codes: Vec<String>,
    count: String,
    expires_at: String,
    errors: FieldErrors,
}

async fn vendor_exam_view(
    state: &AppState,
    ctx: PageContext,
    vendor: Vendor,
    exam_slug: String,
) -> Result<VendorExamPage, PageError> {
    let vendor_for_db = vendor.clone();
    let (exam, results, revenue, batches, versions) = state
        .db(move |conn| {
            let exam = service::vendor_exam(conn, &vendor_for_db.id, &exam_slug)?;
            let results = service::exam_results(conn, &exam, 200)?;
            let revenue = service::revenue(conn, &vendor_for_db)?;
            let batches = service::voucher_batches(conn, &exam)?;
            let versions = service::versions(conn, &exam)?;
            Ok::<_, ExamError>((exam, results, revenue, batches, versions))
        })
        .await
        .map_err(page_error)?;
    let graded = results.len();
    let passed = results.iter().filter(|r| r.passed).count();
    let revenue_rows = revenue
        .exams
        .into_iter()
        .filter(|e| e.exam == exam.slug)
        .flat_map(|e| e.months)
        .flat_map(|m| {
            let month = m.month.clone();
            m.totals.into_iter().map(move |t| RevenueRow {
                month: month.clone(),
                amount: service::PriceView {
                    amount_minor: t.amount_minor,
                    currency: t.currency,
                }
                .display(),
                orders: t.orders,
            })
        })
        .collect();
    Ok(VendorExamPage {
        ctx,
        vendor,
        price: service::PriceView {
            amount_minor: exam.price_minor,
            currency: exam.currency.clone(),
        }
        .display(),
        graded,
        pass_rate: pass_rate(passed, graded),
        results: results
            .into_iter()
            .map(|r| ResultRow {
                candidate: r.candidate,
                email: r.email,
                graded: r.graded_at.map(when).unwrap_or_default(),
                score: format_percent(u32::try_from(r.score_bp).unwrap_or(0)),
                passed: r.passed,
                by_deadline: r.graded_by.as_deref() == Some("deadline_job"),
            })
            .collect(),
        revenue: revenue_rows,
        batches: batches
            .into_iter()
            .map(|b| BatchRow {
                created: when(b.created_at),
                expires: b.expires_at.map(when).unwrap_or_else(|| "never".into()),
                count: b.count,
                redeemed: b.redeemed,
            })
            .collect(),
        versions: versions
            .into_iter()
            .map(|v| VersionRow {
                number: v.number,
                label: v.label,
                source: format!("{} ({})", v.source_name, v.source_format),
                created: when(v.created_at),
                state: v.state,
            })
            .collect(),
        exam,
        warnings: Vec::new(),
        new_codes: Vec::new(),
        count: "10".into(),
        expires_at: String::new(),
        errors: FieldErrors::new(),
    })
}

#[get("/vendor/{vendor}/exams/{exam}")]
async fn vendor_exam_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, vendor, VendorRole::Examiner).await?;
    let page = vendor_exam_view(&state, PageContext::new(&req, Some(user)), vendor, exam).await?;
    Ok(render(&page))
}

/// `POST /vendor/{vendor}/exams/{exam}/versions/{n}/{publish|unpublish|retire|preview}`: the
/// version buttons of the console's exam page. A preview opens the taking page.
#[post("/vendor/{vendor}/exams/{exam}/versions/{version}/{change}")]
async fn vendor_version_action(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String, i32, String)>,
    Form(_): Form<Vec<(String, String)>>,
) -> Result<HttpResponse, PageError> {
    let (vendor_slug, exam_slug, number, change) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, vendor_slug, VendorRole::Examiner).await?;
    let now = state.clock.now();
    let change = match change.as_str() {
        "publish" => VersionChange::Publish,
        "unpublish" => VersionChange::Unpublish,
        "retire" => VersionChange::Retire,
        "preview" => {
            let (user_id, slug) = (user.id.clone(), exam_slug.clone());
            let started = state
                .tx(move |conn| {
                    let exam = service::vendor_exam(conn, &vendor.id, &slug)?;
                    service::start_preview(conn, &vendor, &exam, number, &user_id, now)
                })
                .await;
            return match started {
                Ok(started) => Ok(see_other(&format!("/attempts/{}", started.id))),
                Err(ExamError::AttemptOpen { attempt_id }) => {
                    Ok(see_other(&format!("/attempts/{attempt_id}")))
                }
                Err(e) => Err(page_error(e)),
            };
        }
        _ => {
            return Err(PageError::NotFound(
                "There is no such version action.".into(),
            ))
        }
    };
    let (vendor_for_tx, slug, actor) = (vendor.clone(), exam_slug.clone(), user_actor(&req, &user));
    let changed = state
        .tx(move |conn| {
            let exam = service::vendor_exam(conn, &vendor_for_tx.id, &slug)?;
            service::set_version_state(conn, &vendor_for_tx, &exam, number, change, &actor, now)
        })
        .await;
    let ctx = PageContext::new(&req, Some(user));
    match changed {
        Ok(done) => {
            let mut page = vendor_exam_view(&state, ctx, vendor, exam_slug).await?;
            page.ctx.notices.push(match change {
                VersionChange::Publish => format!(
                    "Version {} is published: it is in the catalog and candidates take it from now on.",
                    done.version
                ),
                VersionChange::Unpublish => format!(
                    "Version {} is a draft again: the exam has left the catalog until you publish a version.",
                    done.version
                ),
                VersionChange::Retire => format!(
                    "Version {} is retired: it is kept for its attempts and offered to nobody.",
                    done.version
                ),
            });
            Ok(render(&page))
        }
        Err(ExamError::Conflict(why)) => {
            let mut page = vendor_exam_view(&state, ctx, vendor, exam_slug).await?;
            page.ctx.notices.push(format!("Nothing changed: {why}."));
            Ok(render_with_status(StatusCode::CONFLICT, &page))
        }
        Err(other) => Err(page_error(other)),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct VoucherForm {
    count: String,
    expires_at: String,
}

#[post("/vendor/{vendor}/exams/{exam}/vouchers")]
async fn vendor_vouchers(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<VoucherForm>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam_slug) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, vendor, VendorRole::Examiner).await?;
    let count = form.count.trim().parse::<i64>().unwrap_or(0);
    let input = VoucherInput {
        count,
        expires_at: Some(form.expires_at.clone()),
    };
    let now = state.clock.now();
    let (vendor_id, slug, actor) = (
        vendor.id.clone(),
        exam_slug.clone(),
        user_actor(&req, &user),
    );
    let created = state
        .tx(move |conn| {
            let exam = service::vendor_exam(conn, &vendor_id, &slug)?;
            service::create_vouchers(conn, &exam, &input, &actor, now)
        })
        .await;
    let ctx = PageContext::new(&req, Some(user));
    match created {
        Ok(batch) => {
            let mut page = vendor_exam_view(&state, ctx, vendor, exam_slug).await?;
            page.ctx.notices.push(format!(
                "Created {}. Copy them now or download the CSV.",
                crate::text::plural(batch.codes.len() as i64, "voucher", "vouchers")
            ));
            page.new_codes = batch.codes;
            Ok(render_with_status(StatusCode::CREATED, &page))
        }
        Err(ExamError::Validation(errors)) => {
            let mut page = vendor_exam_view(&state, ctx, vendor, exam_slug).await?;
            for error in errors {
                page.errors.add(error.field, error.message);
            }
            page.count = form.count;
            page.expires_at = form.expires_at;
            Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(other) => Err(page_error(other)),
    }
}

struct ItemRow {
    question_id: String,
    domain: String,
    responses: usize,
    p: String,
    r_pb: String,
    flags: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "exams/vendor_statistics.html")]
struct StatisticsPage {
    ctx: PageContext,
    vendor: Vendor,
    exam: ExamRow,
    report: StatisticsReport,
    pass_rate: String,
    kr20: String,
    sem: String,
    chart: String,
    items: Vec<ItemRow>,
    versions: Vec<i32>,
}

fn decimal(value: Option<f64>, places: usize) -> String {
    value
        .filter(|v| v.is_finite())
        .map(|v| format!("{v:.places$}"))
        .unwrap_or_else(|| "—".into())
}

/// The histogram of a report as an accessible SVG bar chart.
pub fn histogram_chart(report: &StatisticsReport) -> String {
    let bars: Vec<Bar> = report
        .histogram
        .iter()
        .enumerate()
        .map(|(band, count)| Bar {
            label: format!("{}–{}", band * 10, band * 10 + 10),
            value: u64::from(*count),
        })
        .collect();
    bar_chart(
        "Attempts by score (%)",
        &bars,
        ChartOptions {
            // Narrow enough that its labels stay readable when scaled down to a phone's width.
            width: 480,
            height: 260,
            horizontal: false,
            value_suffix: None,
        },
    )
}

#[get("/vendor/{vendor}/exams/{exam}/statistics")]
async fn vendor_statistics_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam_slug) = path.into_inner();
    let query: BTreeMap<String, String> =
        serde_html_form::from_str(req.query_string()).unwrap_or_default();
    let version = crate::http::api::exams::parse_version(query.get("version").map(String::as_str))
        .map_err(PageError::from)?;
    let vendor = vendor_with_role(&state, &user, vendor, VendorRole::Examiner).await?;
    let vendor_id = vendor.id.clone();
    let min_attempts = state.config.stats_min_attempts;
    let (exam, report, versions) = state
        .db(move |conn| {
            let exam = service::vendor_exam(conn, &vendor_id, &exam_slug)?;
            let report = service::statistics(conn, &exam, version, min_attempts)?;
            let versions = service::versions(conn, &exam)?;
            Ok::<_, ExamError>((exam, report, versions))
        })
        .await
        .map_err(page_error)?;
    let flag = |f: &crate::exams::ItemFlag| match f {
        crate::exams::ItemFlag::TooHard => ("warn", "too hard (p < 0.2)"),
        crate::exams::ItemFlag::TooEasy => ("warn", "too easy (p > 0.9)"),
        crate::exams::ItemFlag::LowDiscrimination => ("warn", "low discrimination (r < 0.2)"),
        crate::exams::ItemFlag::LikelyMiskeyed => ("bad", "likely miskeyed (r < 0)"),
    };
    let items = report
        .items
        .iter()
        .map(|item| ItemRow {
            question_id: item.question_id.clone(),
            domain: item.domain.clone(),
            responses: item.responses,
            p: decimal(item.p, 2),
            r_pb: decimal(item.r_pb, 2),
            flags: item.flags.iter().map(flag).collect(),
        })
        .collect();
    Ok(render(&StatisticsPage {
        ctx: PageContext::new(&req, Some(user)),
        pass_rate: report
            .pass_rate
            .map(|r| format!("{:.0} %", r * 100.0))
            .unwrap_or_else(|| "—".into()),
        kr20: decimal(report.kr20, 2),
        sem: decimal(report.sem, 2),
        chart: histogram_chart(&report),
        items,
        versions: versions.iter().map(|v| v.number).collect(),
        vendor,
        exam,
        report,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_like_a_clock() {
        assert_eq!(remaining_text(59), "00:59");
        assert_eq!(remaining_text(3599), "59:59");
        assert_eq!(remaining_text(3661), "1:01:01");
    }
}
