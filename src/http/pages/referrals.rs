//! Referral pages: the `/r/<code>` redirect, the practitioner's referral dashboard, public
//! program pages (terms, tiers, enroll form, earnings disclosure) and the vendor's program
//! console (settings and tiers, advocates, events, commissions with hold review, payouts,
//! funnel). Every surface that shows a referral link says that it earns a commission.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    message_page, render, render_with_status, see_other, Form, MaybeUser, PageContext, PageError,
    PageUser,
};
use crate::accounts::{Principal, SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::charts::{funnel_chart, Bar};
use crate::db::DbError;
use crate::http::api::accounts::vendor_for;
use crate::http::api::referrals::{enroll_user, mark_payout_paid, public_program_for};
use crate::http::auth::{client_address, user_actor};
use crate::http::problem::ApiError;
use crate::money::{
    format_amount, format_amount_units, format_percent, format_percent_number, parse_amount,
    parse_currency, parse_percent,
};
use crate::ratelimit::Limit;
use crate::referrals::recorder::{ClickRecorder, Target, Visit};
use crate::referrals::service::{
    self, CommissionView, EnrollInput, EnrollmentView, FunnelView, ProgramInput, ProgramView,
    TierInput, TierView,
};
use crate::referrals::tiers::{code_from_name, default_tier_name};
use crate::referrals::{self as referrals, normalize_code, Program, ReferralError, DISCLOSURE};
use crate::validation::{FieldError, FieldErrors};

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

// =============================================================================================
// The redirect

fn unknown_code(req: &HttpRequest) -> HttpResponse {
    message_page(
        PageContext::new(req, None),
        StatusCode::NOT_FOUND,
        "This referral link does not work",
        "The link is mistyped, or the advocate who shared it is no longer in the program. Nothing was recorded.",
        Some(("/", "Go to the home page")),
    )
}

/// Referral link: records the click and redirects to the program's landing URL
///
/// 302 to the landing URL with `credo_click=<click id>`; unknown or suspended codes get a 404 HTML
/// page and no `Location` (never an open redirect).
#[utoipa::path(
    responses(
        (status = 302, description = "To the program's landing URL", headers(("Location" = String))),
        (status = 404, description = "Unknown or suspended code", content_type = "text/html", body = String)
    ),
    security()
)]
#[get("/r/{code}")]
async fn redirect(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let Some(code) = normalize_code(&path) else {
        return Ok(unknown_code(&req));
    };
    let target: Option<Arc<Target>> = match state.clicks.cached(&code) {
        Some(target) => target,
        None => {
            let recorder = state.clicks.clone();
            state
                .db(move |conn| recorder.lookup(conn, &code).map_err(DbError::from))
                .await
                .map_err(ApiError::from)?
        }
    };
    let Some(target) = target.filter(|t| t.active) else {
        return Ok(unknown_code(&req));
    };
    let address = client_address(&req);
    let header_text = |name: header::HeaderName| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let user_agent = header_text(header::USER_AGENT);
    let referrer = header_text(header::REFERER);
    let visit = Visit {
        address: &address,
        user_agent: user_agent.as_deref(),
        referrer: referrer.as_deref(),
        over_limit: state.limits.check(Limit::Redirect, &address).is_err(),
    };
    let click = state.clicks.new_click(&target, &visit, state.clock.now());
    let location = click.landing.clone();
    if let Some(click) = state.clicks.enqueue(click) {
        state
            .db(move |conn| ClickRecorder::write_one(conn, &click).map_err(DbError::from))
            .await
            .map_err(ApiError::from)?;
    }
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

// =============================================================================================
// Practitioner pages

struct StatusRow {
    label: &'static str,
    class: &'static str,
    count: usize,
    amount: String,
}

struct CommissionRow {
    created: String,
    kind: String,
    invoice: String,
    base: String,
    rate: String,
    amount: String,
    tier: String,
    status: String,
    held: bool,
    held_reason: String,
    hold_until: String,
}

impl CommissionRow {
    fn from(c: &CommissionView, tier_names: &TierNames) -> Self {
        CommissionRow {
            created: rfc3339_seconds_text(&c.created_at),
            kind: c.kind.clone(),
            invoice: c.invoice_id.clone(),
            base: format_amount(c.base_minor, &c.currency),
            rate: format_percent(c.rate_bps),
            amount: format_amount(c.amount_minor, &c.currency),
            tier: tier_name(tier_names, &c.tier),
            status: c.status.clone(),
            held: c.held,
            held_reason: c.held_reason.clone().unwrap_or_default(),
            hold_until: rfc3339_seconds_text(&c.hold_until),
        }
    }
}

/// `2026-11-23T10:00:00Z` → `23 Nov 2026, 10:00 UTC` for people.
fn rfc3339_seconds_text(text: &str) -> String {
    super::human_time_text(text)
}

struct DashEnrollment {
    index: usize,
    vendor_name: String,
    program: String,
    code: String,
    link: String,
    share_text: String,
    status: String,
    tier: String,
    rate: String,
    next_tier: Option<(String, String, String)>,
    terms_outdated: bool,
    clicks: i64,
    customers: i64,
    invoices: i64,
    statuses: Vec<StatusRow>,
    balance: String,
    balance_negative: bool,
    paid: String,
    recent: Vec<CommissionRow>,
    funnel: String,
    /// Any click, customer or invoice yet (else the page says so instead of drawing empty bars).
    has_activity: bool,
    /// Any commission yet, in any state.
    has_commissions: bool,
}

fn share_text(e: &EnrollmentView) -> String {
    format!(
        "I use and recommend {}: {} (referral link — I earn a commission if you buy; it costs you nothing extra)",
        e.vendor_name, e.link
    )
}

fn next_tier_text(e: &EnrollmentView) -> Option<(String, String, String)> {
    e.next_tier.as_ref().map(|n| {
        (
            n.name.clone(),
            format_percent(n.rate_bps),
            if n.missing_exam_titles.is_empty() {
                "nothing more".to_string()
            } else {
                n.missing_exam_titles.join(", ")
            },
        )
    })
}

fn bar(label: &str, value: i64) -> Bar {
    Bar {
        label: label.to_string(),
        value: u64::try_from(value).unwrap_or(0),
    }
}

#[derive(Template)]
#[template(path = "referrals/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    disclosure: &'static str,
    enrollments: Vec<DashEnrollment>,
    programs: Vec<(String, String, bool)>,
}

#[get("/referrals")]
async fn referrals_dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
) -> Result<HttpResponse, PageError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let user_id = user.id.clone();
    let (mine, programs, tier_names) = state
        .db(move |conn| {
            let mine = service::my_referrals(conn, &user_id, &links, now)?;
            let programs = referrals::store::list_programs(conn)?;
            // Per program: two programs may use the same code for differently named tiers.
            let mut tier_names = HashMap::new();
            for m in &mine.enrollments {
                let program = m.enrollment.program.clone();
                let names = service::tier_names(conn, &program)?;
                tier_names.insert(program, names);
            }
            Ok::<_, ReferralError>((mine, programs, tier_names))
        })
        .await
        .map_err(api_error)?;
    let no_names = TierNames::new();
    let enrolled: Vec<String> = mine
        .enrollments
        .iter()
        .map(|e| e.enrollment.program.clone())
        .collect();
    let enrollments = mine
        .enrollments
        .iter()
        .enumerate()
        .map(|(index, m)| {
            let e = &m.enrollment;
            let statuses: Vec<StatusRow> = [
                ("Pending (in hold period)", "pending", "pending"),
                ("Under review", "held", "held"),
                ("Approved", "approved", "approved"),
                ("Paid", "paid", "paid"),
                ("Reversed", "reversed", "reversed"),
            ]
            .iter()
            .map(|(label, key, class)| {
                let total = m.commissions.get(*key).cloned().unwrap_or_default();
                StatusRow {
                    label,
                    class,
                    count: total.count,
                    amount: format_amount(total.amount_minor, &e.currency),
                }
            })
            .collect();
            DashEnrollment {
                index,
                vendor_name: e.vendor_name.clone(),
                program: e.program.clone(),
                code: e.referral_code.clone(),
                link: e.link.clone(),
                share_text: share_text(e),
                status: e.status.clone(),
                tier: e.tier_name.clone(),
                rate: format_percent(e.rate_bps),
                next_tier: next_tier_text(e),
                terms_outdated: e.terms_accepted_version != e.terms_version,
                clicks: m.clicks,
                customers: m.customers,
                invoices: m.invoices,
                has_activity: m.clicks + m.customers + m.invoices > 0,
                has_commissions: statuses.iter().any(|s| s.count > 0),
                statuses,
                balance: format_amount(m.balance_minor, &e.currency),
                balance_negative: m.balance_minor < 0,
                paid: format_amount(m.paid_minor, &e.currency),
                recent: m
                    .recent_commissions
                    .iter()
                    .map(|c| {
                        CommissionRow::from(c, tier_names.get(&e.program).unwrap_or(&no_names))
                    })
                    .collect(),
                funnel: funnel_chart(
                    "Your referrals: clicks to commissions",
                    &[
                        bar("Clicks (people)", m.clicks),
                        bar("Customers", m.customers),
                        bar("Paid invoices", m.invoices),
                        bar("Commissions", m.sales),
                    ],
                    420,
                ),
            }
        })
        .collect();
    let programs = programs
        .into_iter()
        .map(|(p, v)| (p.id.clone(), v.name, enrolled.contains(&p.id)))
        .collect();
    Ok(render(&DashboardPage {
        ctx: PageContext::new(&req, Some(user)),
        disclosure: DISCLOSURE,
        enrollments,
        programs,
    }))
}

#[derive(Template)]
#[template(path = "referrals/dashboard_section.html")]
struct DashboardSection {
    disclosure: &'static str,
    enrollments: Vec<(String, String, String, String, String)>,
}

/// The referral part of `/dashboard`: each enrollment's link with the disclosure, tier and
/// balance.
pub async fn dashboard_section(state: &AppState, user: &SessionUser) -> Result<String, PageError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let user_id = user.id.clone();
    let mine = state
        .db(move |conn| service::my_referrals(conn, &user_id, &links, now))
        .await
        .map_err(api_error)?;
    let enrollments = mine
        .enrollments
        .iter()
        .map(|m| {
            let e = &m.enrollment;
            (
                e.vendor_name.clone(),
                e.link.clone(),
                e.tier_name.clone(),
                format_percent(e.rate_bps),
                format_amount(m.balance_minor, &e.currency),
            )
        })
        .collect();
    DashboardSection {
        disclosure: DISCLOSURE,
        enrollments,
    }
    .render()
    .map_err(|e| PageError::Internal(format!("template: {e}")))
}

#[derive(Template)]
#[template(path = "referrals/programs.html")]
struct ProgramsPage {
    ctx: PageContext,
    programs: Vec<(String, String, String, String)>,
}

#[get("/programs")]
async fn programs_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
) -> Result<HttpResponse, PageError> {
    let links = state.links.clone();
    let views = state
        .db(move |conn| {
            referrals::store::list_programs(conn)?
                .iter()
                .map(|(p, v)| service::program_view(conn, p, v, None, &links))
                .collect::<Result<Vec<_>, ReferralError>>()
        })
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
    disclosure: &'static str,
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
    let (program, vendor) = public_program_for(state, reference).await?;
    let links = state.links.clone();
    let now = state.clock.now();
    let user_id = user.as_ref().map(|u| u.id.clone());
    let (view, enrollment) = state
        .db(move |conn| {
            let view = service::program_view(conn, &program, &vendor, None, &links)?;
            let enrollment = match user_id {
                Some(id) => service::my_enrollment(conn, &program, &vendor, &id, &links, now)?,
                None => None,
            };
            Ok::<_, ReferralError>((view, enrollment))
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
            disclosure: DISCLOSURE,
            error,
        },
    ))
}

#[get("/programs/{program}")]
async fn program_page(
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
async fn enroll_submit(
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
    match enroll_user(&state, &user, reference.clone(), input).await {
        Ok(_) => Ok(see_other("/referrals")),
        Err(ApiError::Validation(errors)) => {
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
        Err(other) => Err(other.into()),
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
    disclosure: &'static str,
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
async fn disclosure_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (program, vendor) = public_program_for(&state, path.into_inner()).await?;
    let links = state.links.clone();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::disclosure(conn, &program, &vendor, &links, now))
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
        disclosure: DISCLOSURE,
    }))
}

// =============================================================================================
// Vendor console

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
async fn vendor_program(
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
        rotated: query.rotated.as_deref().map(super::human_time_text),
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
async fn vendor_rotate_webhook_secret(
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
async fn vendor_program_submit(
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
async fn vendor_advocates(
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
                status: a.enrollment.status,
                enrolled: super::human_date(a.enrollment.enrolled_at),
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
async fn vendor_advocate_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<StatusForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, enrollment_id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let (vendor, program) = vendor_program_required(&state, &user, slug).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| {
            service::set_advocate_status(conn, &program, &enrollment_id, &form.status, &actor, now)
        })
        .await
        .map_err(api_error)?;
    state.clicks.forget_codes();
    Ok(see_other(&format!(
        "/vendor/{}/program/advocates",
        vendor.slug
    )))
}

struct EventLine {
    received: String,
    source: String,
    external_event_id: String,
    kind: String,
    invoice: String,
    customer: String,
    amount: String,
    outcome: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "referrals/vendor_events.html")]
struct EventsPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    events: Vec<EventLine>,
    webhook_url: String,
}

#[get("/vendor/{vendor}/program/events")]
async fn vendor_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let webhook_url = state
        .links
        .url(&format!("/api/v1/programs/{}/webhook", program.id));
    let events = state
        .db(move |conn| {
            referrals::store::recent_events(conn, &program.id, 200).map_err(DbError::from)
        })
        .await
        .map_err(ApiError::from)?;
    let events = events
        .iter()
        .map(|e| {
            let effect: serde_json::Value =
                serde_json::from_str(&e.effect).unwrap_or(serde_json::Value::Null);
            EventLine {
                received: super::human_time(e.received_at),
                source: e.source.clone(),
                external_event_id: e.external_event_id.clone(),
                kind: e.kind.clone(),
                invoice: e.invoice_id.clone(),
                customer: e.customer_external_id.clone(),
                amount: format_amount(e.amount_minor, &e.currency),
                outcome: effect["outcome"].as_str().unwrap_or("").replace('_', " "),
                reason: effect["reason"].as_str().unwrap_or("").to_string(),
            }
        })
        .collect();
    Ok(render(&EventsPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "events",
        events,
        webhook_url,
    }))
}

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
async fn vendor_commissions(
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
        .filter(|c| c.held && c.status == "pending")
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
async fn vendor_clear_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<ReviewForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let (vendor, program) = vendor_program_required(&state, &user, slug).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| service::clear_hold(conn, &program, &id, &actor, Some(&form.note), now))
        .await
        .map_err(api_error)?;
    Ok(see_other(&format!(
        "/vendor/{}/program/commissions",
        vendor.slug
    )))
}

#[post("/vendor/{vendor}/program/commissions/{id}/reject")]
async fn vendor_reject(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<ReviewForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let (vendor, program) = vendor_program_required(&state, &user, slug).await?;
    let now = state.clock.now();
    let note = if form.note.trim().is_empty() {
        "self-referral confirmed".to_string()
    } else {
        form.note
    };
    state
        .tx(move |conn| service::reject_commission(conn, &program, &id, &actor, &note, now))
        .await
        .map_err(api_error)?;
    Ok(see_other(&format!(
        "/vendor/{}/program/commissions",
        vendor.slug
    )))
}

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
async fn vendor_payouts(
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
async fn vendor_create_payouts(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let actor = user_actor(&req, &user);
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| service::create_payouts(conn, &program, &actor, now))
        .await
        .map_err(api_error)?;
    Ok(see_other(&format!(
        "/vendor/{}/program/payouts",
        vendor.slug
    )))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PaidForm {
    reference: String,
}

#[post("/vendor/{vendor}/program/payouts/{id}/paid")]
async fn vendor_mark_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<PaidForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let actor = user_actor(&req, &user);
    match mark_payout_paid(
        &state,
        Principal::User(user.clone()),
        actor,
        id,
        form.reference,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/vendor/{slug}/program/payouts"))),
        Err(ApiError::Validation(errors)) => {
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
        Err(ApiError::Conflict(message)) => {
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
        Err(other) => Err(other.into()),
    }
}

#[derive(Template)]
#[template(path = "referrals/vendor_funnel.html")]
struct FunnelPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    referral_chart: String,
    practitioner_chart: String,
    funnel: FunnelView,
    earned: Vec<String>,
}

#[get("/vendor/{vendor}/program/funnel")]
async fn vendor_funnel(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let funnel = state
        .db(move |conn| service::funnel(conn, &program))
        .await
        .map_err(api_error)?;
    let referral_chart = funnel_chart(
        "Referrals: clicks to commissions",
        &[
            bar("Clicks (people)", funnel.clicks),
            bar("Customers", funnel.customers),
            bar("Invoices", funnel.invoices),
            bar("Commissions", funnel.commissions),
        ],
        420,
    );
    let p = &funnel.practitioners;
    let practitioner_chart = funnel_chart(
        "Practitioners: registered to earning",
        &[
            bar("Registered", p.registered),
            bar("Attempted an exam", p.attempted),
            bar("Certified", p.certified),
            bar("Enrolled", p.enrolled),
            bar("Earning", p.earning),
        ],
        420,
    );
    let earned = funnel
        .advocates
        .iter()
        .map(|a| format_amount(a.earned_minor, &funnel.currency))
        .collect();
    Ok(render(&FunnelPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "funnel",
        referral_chart,
        practitioner_chart,
        funnel,
        earned,
    }))
}
