//! Vendor console: the program's settings and tiers, and the webhook secret rotation.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{api_error, vendor_page, vendor_program_required};
use crate::accounts::Vendor;
use crate::app::AppState;
use crate::db::DbError;
use crate::http::auth::user_actor;
use crate::http::pages::{
    render, render_with_status, see_other, Form, PageContext, PageError, PageUser,
};
use crate::http::problem::ApiError;
use crate::money::{
    format_amount_units, format_percent_number, parse_amount, parse_currency, parse_percent,
};
use crate::referrals::service::{self, ProgramInput, ProgramView, TierInput, TierView};
use crate::referrals::tiers::code_from_name;
use crate::referrals::{self as referrals, ReferralError};
use crate::validation::{FieldError, FieldErrors};

/// One of the vendor's exams a tier can require, shown as a checkbox with its title.
struct ExamChoice {
    slug: String,
    title: String,
}

/// A tier as its form row shows it: the texts typed (or stored) and the exams ticked.
#[derive(Default, Clone)]
struct TierRow {
    name: String,
    code: String,
    level: String,
    rate: String,
    /// Slugs of the ticked exams.
    requires: Vec<String>,
    error: Option<String>,
}

impl TierRow {
    fn requires_exam(&self, slug: &str) -> bool {
        self.requires.iter().any(|s| s == slug)
    }

    /// A spare row nobody filled in; its level is pre-filled, so it does not count.
    fn is_blank(&self) -> bool {
        [&self.name, &self.code, &self.rate]
            .iter()
            .all(|v| v.trim().is_empty())
            && self.requires.is_empty()
    }
}

#[derive(Template)]
#[template(path = "referrals/vendor_program.html")]
struct VendorProgramPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    exists: bool,
    form: ProgramFormView,
    rows: Vec<TierRow>,
    exams: Vec<ExamChoice>,
    errors: FieldErrors,
    tiers_error: Option<String>,
    webhook_secret: Option<String>,
    webhook_url: Option<String>,
    program_id: Option<String>,
    saved: bool,
    rotated: Option<String>,
}

impl VendorProgramPage {
    /// Whether the form came back with any mistake: a field, the tier list or one tier row.
    fn invalid(&self) -> bool {
        !self.errors.is_empty()
            || self.tiers_error.is_some()
            || self.rows.iter().any(|row| row.error.is_some())
    }
}

#[derive(Default, Clone)]
struct ProgramFormView {
    currency: String,
    landing_url: String,
    attribution_window_days: String,
    hold_days: String,
    commission_months: String,
    /// In currency units, e.g. `50.00`.
    min_payout: String,
    terms_version: String,
    terms_text: String,
}

const BLANK_TIER_ROWS: usize = 2;

/// The rows plus spare ones, whose levels continue above the highest level typed.
fn rows_with_blanks(mut rows: Vec<TierRow>) -> Vec<TierRow> {
    let top = rows
        .iter()
        .filter_map(|row| row.level.trim().parse::<i32>().ok())
        .max()
        .unwrap_or(0);
    rows.extend((1..).take(BLANK_TIER_ROWS).map(|step| TierRow {
        level: top.saturating_add(step).to_string(),
        ..TierRow::default()
    }));
    rows
}

/// The saved program as the form shows it: amounts in currency units, rates in percent, and
/// levels 1, 2, 3… in the tiers' order (saving stores the levels as the new ranks).
fn view_of(program: &ProgramView) -> (ProgramFormView, Vec<TierRow>) {
    let form = ProgramFormView {
        currency: program.currency.clone(),
        landing_url: program.landing_url.clone(),
        attribution_window_days: program.attribution_window_days.to_string(),
        hold_days: program.hold_days.to_string(),
        commission_months: program.commission_months.to_string(),
        min_payout: format_amount_units(program.min_payout_minor, &program.currency),
        terms_version: program.terms_version.clone(),
        terms_text: program.terms_text.clone(),
    };
    let mut tiers: Vec<&TierView> = program.tiers.iter().collect();
    tiers.sort_by_key(|t| t.rank);
    let rows = tiers
        .into_iter()
        .zip(1..)
        .map(|(t, level): (&TierView, i32)| TierRow {
            name: t.name.clone(),
            code: t.code.clone(),
            level: level.to_string(),
            rate: format_percent_number(i64::from(t.rate_bps)),
            requires: t.requires_current_credentials.clone(),
            error: None,
        })
        .collect();
    (form, rows)
}

/// The vendor's exams as checkboxes, by title.
async fn exam_choices(state: &AppState, vendor: &Vendor) -> Result<Vec<ExamChoice>, PageError> {
    let vendor_id = vendor.id.clone();
    let exams = state
        .db(move |conn| referrals::store::vendor_exams(conn, &vendor_id).map_err(DbError::from))
        .await
        .map_err(ApiError::from)?;
    Ok(exams
        .into_iter()
        .map(|(slug, title)| ExamChoice { slug, title })
        .collect())
}

#[get("/vendor/{vendor}/program")]
pub(super) async fn vendor_program(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<SavedQuery>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_page(&state, &user, path.into_inner()).await?;
    let (form, rows, secret, url, id) = match program {
        Some(program) => {
            let master = state.master_key.clone();
            let links = state.links.clone();
            let v = vendor.clone();
            let view = state
                .db(move |conn| service::program_view(conn, &program, &v, Some(&master), &links))
                .await
                .map_err(api_error)?;
            let (form, rows) = view_of(&view);
            (
                form,
                rows,
                view.webhook_secret.clone(),
                view.webhook_url.clone(),
                Some(view.id.clone()),
            )
        }
        None => (
            ProgramFormView {
                currency: "EUR".into(),
                attribution_window_days: "30".into(),
                hold_days: "30".into(),
                commission_months: "12".into(),
                min_payout: "50.00".into(),
                terms_version: "1".into(),
                ..Default::default()
            },
            vec![TierRow {
                name: "Member".into(),
                code: "member".into(),
                level: "1".into(),
                rate: "10".into(),
                ..Default::default()
            }],
            None,
            None,
            None,
        ),
    };
    Ok(render(&VendorProgramPage {
        ctx: PageContext::new(&req, Some(user)),
        exists: id.is_some(),
        exams: exam_choices(&state, &vendor).await?,
        vendor,
        section: "settings",
        form,
        rows: rows_with_blanks(rows),
        errors: FieldErrors::new(),
        tiers_error: None,
        webhook_secret: secret,
        webhook_url: url,
        program_id: id,
        saved: query.saved.is_some(),
        rotated: query.rotated.as_deref().map(super::super::human_time_text),
    }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
    /// After a webhook secret rotation: until when the replaced secret verifies.
    rotated: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RotateForm {
    overlap_hours: String,
}

/// Rotates the webhook secret; the program page then shows the new one and until when the old
/// one still verifies.
#[post("/vendor/{vendor}/program/webhook-secret")]
pub(super) async fn vendor_rotate_webhook_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<RotateForm>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let hours: i64 = match form.overlap_hours.trim() {
        "" => 24,
        text => text
            .parse()
            .ok()
            .filter(|h| (0..=720).contains(h))
            .ok_or_else(|| {
                PageError::BadRequest(
                    "Enter how many hours the old secret keeps working: 0 to 720.".into(),
                )
            })?,
    };
    let now = state.clock.now();
    let master = state.master_key.clone();
    let until = now + chrono::Duration::hours(hours);
    let actor = user_actor(&req, &user);
    let rotated = state
        .tx(move |conn| {
            service::rotate_webhook_secret(conn, &program, &master, Some(until), &actor, now)
        })
        .await
        .map_err(api_error)?;
    Ok(see_other(&format!(
        "/vendor/{}/program?rotated={}",
        vendor.slug, rotated.previous_expires_at
    )))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ProgramForm {
    currency: String,
    landing_url: String,
    attribution_window_days: String,
    hold_days: String,
    commission_months: String,
    min_payout: String,
    terms_version: String,
    terms_text: String,
    tier_name: Vec<String>,
    tier_code: Vec<String>,
    tier_level: Vec<String>,
    tier_rate: Vec<String>,
    /// Ticked exams as `row:slug`, rows counted from 1 as on the page (unticked boxes send
    /// nothing, so the row can't come from the position).
    tier_requires: Vec<String>,
}

impl ProgramForm {
    fn tier_rows(&self) -> Vec<TierRow> {
        let cell = |list: &[String], i: usize| list.get(i).cloned().unwrap_or_default();
        let count = self
            .tier_name
            .len()
            .max(self.tier_code.len())
            .max(self.tier_level.len())
            .max(self.tier_rate.len());
        (0..count)
            .map(|i| TierRow {
                name: cell(&self.tier_name, i),
                code: cell(&self.tier_code, i),
                level: cell(&self.tier_level, i),
                rate: cell(&self.tier_rate, i),
                requires: self
                    .tier_requires
                    .iter()
                    .filter_map(|value| value.split_once(':'))
                    .filter(|(row, _)| row.parse::<usize>() == Ok(i + 1))
                    .map(|(_, slug)| slug.to_string())
                    .collect(),
                error: None,
            })
            .collect()
    }
}

/// Parses a whole number typed in a form; a parse problem is reported on `field`.
fn number<T: std::str::FromStr>(errors: &mut FieldErrors, field: &str, text: &str) -> Option<T> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(v) => Some(v),
        Err(_) => {
            errors.add(field, "enter a whole number");
            None
        }
    }
}

/// What the page calls a field the service names: the amount is typed in currency units.
fn page_field(field: String) -> String {
    if field == "min_payout_minor" {
        "min_payout".to_string()
    } else {
        field
    }
}

/// A tier field as the row's error names it.
fn tier_field_label(field: &str) -> &'static str {
    match field.split(['.', '[']).next().unwrap_or_default() {
        "name" => "Name",
        "code" => "Code",
        "rank" => "Level",
        "rate_bps" => "Rate",
        _ => "Required certifications",
    }
}

#[post("/vendor/{vendor}/program")]
pub(super) async fn vendor_program_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<ProgramForm>,
) -> Result<HttpResponse, PageError> {
    let (vendor, existing) = vendor_page(&state, &user, path.into_inner()).await?;
    let actor = user_actor(&req, &user);
    let mut parse_errors = FieldErrors::new();
    let mut rows = form.tier_rows();
    // Blank rows are the spare ones; the service sees only filled rows, `row_of` maps back.
    let mut row_of = Vec::new();
    let mut tiers = Vec::new();
    for (row_index, row) in rows.iter().enumerate() {
        if row.is_blank() {
            continue;
        }
        let k = tiers.len();
        row_of.push(row_index);
        let rate_bps = match row.rate.trim() {
            "" => None,
            text => match parse_percent(text) {
                Ok(bps) => Some(i64::from(bps)),
                Err(e) => {
                    parse_errors.add(format!("tiers[{k}].rate_bps"), e.to_string());
                    None
                }
            },
        };
        tiers.push(TierInput {
            code: match row.code.trim() {
                "" => code_from_name(&row.name),
                code => code.to_string(),
            },
            name: Some(row.name.trim().to_string()).filter(|name| !name.is_empty()),
            rank: number(&mut parse_errors, &format!("tiers[{k}].rank"), &row.level),
            rate_bps,
            requires_current_credentials: row.requires.clone(),
        });
    }
    let min_payout_minor = match (form.min_payout.trim(), parse_currency(form.currency.trim())) {
        ("", _) => None,
        (text, Ok(currency)) => match parse_amount(text, currency) {
            Ok(amount) => Some(amount),
            Err(e) => {
                parse_errors.add("min_payout", e.to_string());
                None
            }
        },
        // The amount can only be read in a known currency.
        (_, Err(e)) => {
            parse_errors.add("currency", e.to_string());
            None
        }
    };
    let input = ProgramInput {
        currency: Some(form.currency.trim().to_string()),
        landing_url: Some(form.landing_url.clone()),
        attribution_window_days: number(
            &mut parse_errors,
            "attribution_window_days",
            &form.attribution_window_days,
        ),
        hold_days: number(&mut parse_errors, "hold_days", &form.hold_days),
        commission_months: number(
            &mut parse_errors,
            "commission_months",
            &form.commission_months,
        ),
        min_payout_minor,
        terms_version: Some(form.terms_version.clone()),
        terms_text: Some(form.terms_text.clone()).filter(|t| !t.trim().is_empty()),
        tiers: Some(tiers),
    };
    let now = state.clock.now();
    let master = state.master_key.clone();
    let links = state.links.clone();
    let v = vendor.clone();
    let result = if parse_errors.is_empty() {
        state
            .tx(move |conn| service::save_program(conn, &v, &input, &master, &links, &actor, now))
            .await
    } else {
        Err(ReferralError::Validation(Vec::new()))
    };
    match result {
        Ok(_) => {
            state.clicks.forget_codes();
            Ok(see_other(&format!(
                "/vendor/{}/program?saved=1",
                vendor.slug
            )))
        }
        Err(ReferralError::Validation(list)) => {
            let mut errors = FieldErrors::new();
            let mut tiers_error = None;
            let all: Vec<FieldError> = parse_errors
                .finish()
                .err()
                .unwrap_or_default()
                .into_iter()
                .chain(list)
                .collect();
            // Messages name other tiers as the service counts them; people count the rows.
            let for_people = |message: String| {
                row_of
                    .iter()
                    .enumerate()
                    .fold(message, |text, (k, row_index)| {
                        text.replace(&format!("tiers[{k}]"), &format!("tier {}", row_index + 1))
                    })
            };
            for e in all {
                if let Some(rest) = e.field.strip_prefix("tiers[") {
                    let (number, field) = rest.split_once(']').unwrap_or((rest, ""));
                    let index = number
                        .parse::<usize>()
                        .ok()
                        .and_then(|k| row_of.get(k).copied());
                    let message = for_people(e.message);
                    match index.and_then(|i| rows.get_mut(i)) {
                        Some(row) => {
                            let labelled = format!(
                                "{}: {message}",
                                tier_field_label(field.trim_start_matches('.'))
                            );
                            row.error = Some(match &row.error {
                                Some(previous) => format!("{previous}; {labelled}"),
                                None => labelled,
                            });
                        }
                        None => tiers_error = Some(message),
                    }
                } else if e.field == "tiers" {
                    tiers_error = Some(for_people(e.message));
                } else {
                    let field = page_field(e.field);
                    if errors.message_for(&field).is_none() {
                        errors.add(field, e.message);
                    }
                }
            }
            let rows = rows_with_blanks(
                rows.into_iter()
                    .filter(|r| r.error.is_some() || !r.is_blank())
                    .collect(),
            );
            let id = existing.as_ref().map(|p| p.id.clone());
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &VendorProgramPage {
                    ctx: PageContext::new(&req, Some(user)),
                    exists: id.is_some(),
                    exams: exam_choices(&state, &vendor).await?,
                    vendor,
                    section: "settings",
                    form: ProgramFormView {
                        currency: form.currency,
                        landing_url: form.landing_url,
                        attribution_window_days: form.attribution_window_days,
                        hold_days: form.hold_days,
                        commission_months: form.commission_months,
                        min_payout: form.min_payout,
                        terms_version: form.terms_version,
                        terms_text: form.terms_text,
                    },
                    rows,
                    errors,
                    tiers_error,
                    webhook_secret: None,
                    webhook_url: None,
                    program_id: id,
                    saved: false,
                    rotated: None,
                },
            ))
        }
        Err(other) => Err(api_error(other)),
    }
}
