//! The vendor console's exam pages: the exam list with the bank upload (errors by line), an exam's page
//! (versions, results, revenue, vouchers) and its actions.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{page_error, when};
use crate::accounts::{Vendor, VendorRole};
use crate::app::AppState;
use crate::exams::service::{self, BankSource, VersionChange, VoucherInput};
use crate::exams::store::ExamRow;
use crate::exams::{format_percent, BankError, ExamError, ExamVersionState};
use crate::http::auth::{csrf_matches, user_actor};
use crate::http::extract::BANK_LIMIT;
use crate::http::multipart::read_parts;
use crate::http::pages::{
    render, render_with_status, see_other, vendor_with_role, Form, PageContext, PageError, PageUser,
};
use crate::validation::FieldErrors;

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

pub(super) fn pass_rate(passed: usize, graded: usize) -> String {
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
                version_state: s.version_state.map(|s| s.to_string()).unwrap_or_default(),
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
pub(super) async fn vendor_exams_page(
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
pub(super) async fn vendor_upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let parts = read_parts(&req, payload, BANK_LIMIT + 64 * 1024).await?;
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
                    if outcome.state == ExamVersionState::Published {
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
                state: v.state.to_string(),
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
pub(super) async fn vendor_exam_page(
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
pub(super) async fn vendor_version_action(
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
pub(super) async fn vendor_vouchers(
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
