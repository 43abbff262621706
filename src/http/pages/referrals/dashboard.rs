//! The practitioner's referral dashboard and its section on the main dashboard.

use std::collections::HashMap;

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error, tier_name, TierNames};
use crate::accounts::SessionUser;
use crate::app::AppState;
use crate::charts::{funnel_chart, Bar};
use crate::http::pages::{render, PageContext, PageError, PageUser};
use crate::money::{format_amount, format_percent};
use crate::referrals::service::{self, CommissionView, EnrollmentView};
use crate::referrals::{self as referrals, ReferralError};

struct StatusRow {
    label: &'static str,
    class: &'static str,
    count: usize,
    amount: String,
}

pub(super) struct CommissionRow {
    pub(super) created: String,
    pub(super) kind: String,
    pub(super) invoice: String,
    pub(super) base: String,
    pub(super) rate: String,
    pub(super) amount: String,
    pub(super) tier: String,
    pub(super) status: String,
    pub(super) held: bool,
    pub(super) held_reason: String,
    pub(super) hold_until: String,
}

impl CommissionRow {
    pub(super) fn from(c: &CommissionView, tier_names: &TierNames) -> Self {
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
pub(super) fn rfc3339_seconds_text(text: &str) -> String {
    super::super::human_time_text(text)
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

pub(super) fn share_text(e: &EnrollmentView) -> String {
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

pub(super) fn bar(label: &str, value: i64) -> Bar {
    Bar {
        label: label.to_string(),
        value: u64::try_from(value).unwrap_or(0),
    }
}

#[derive(Template)]
#[template(path = "referrals/dashboard.html")]
struct DashboardPage {
    ctx: PageContext,
    enrollments: Vec<DashEnrollment>,
    programs: Vec<(String, String, bool)>,
}

#[get("/referrals")]
pub(super) async fn referrals_dashboard(
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
        enrollments,
        programs,
    }))
}

#[derive(Template)]
#[template(path = "referrals/dashboard_section.html")]
struct DashboardSection {
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
    DashboardSection { enrollments }
        .render()
        .map_err(|e| PageError::Internal(format!("template: {e}")))
}
