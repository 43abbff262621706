//! Vendor reports: the referral funnel and the yearly earnings disclosure.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::programs::{find_program, program_view, ProgramView};
use crate::db::DbConn;
use crate::links::Links;
use crate::referrals::{
    disclosure, store, CommissionKind, CommissionStatus, Program, ReferralError,
};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PractitionerFunnel {
    pub registered: i64,
    pub attempted: i64,
    pub certified: i64,
    pub enrolled: i64,
    pub earning: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdvocateFunnel {
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub status: String,
    pub tier: String,
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    pub commissions: i64,
    /// Approved and paid commissions, net of clawbacks.
    pub earned_minor: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FunnelView {
    pub program: String,
    pub currency: String,
    /// Clicks (bots excluded) → customers → invoices → commissions.
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    pub commissions: i64,
    pub practitioners: PractitionerFunnel,
    pub advocates: Vec<AdvocateFunnel>,
}

pub fn funnel(conn: &mut DbConn, program: &Program) -> Result<FunnelView, ReferralError> {
    let clicks = store::human_clicks_by_enrollment(conn, &program.id)?;
    let customers = store::customers_by_enrollment(conn, &program.id)?;
    let invoices = store::invoices_by_enrollment(conn, &program.id)?;
    let mut sale_counts: HashMap<String, i64> = HashMap::new();
    let mut earned: HashMap<String, i64> = HashMap::new();
    for fact in store::commission_facts(conn, &program.id)? {
        if fact.kind == CommissionKind::Sale && fact.status != CommissionStatus::Reversed {
            *sale_counts.entry(fact.enrollment_id.clone()).or_default() += 1;
        }
        if fact.status == CommissionStatus::Approved || fact.status == CommissionStatus::Paid {
            let e = earned.entry(fact.enrollment_id).or_default();
            *e = e.saturating_add(fact.amount_minor);
        }
    }
    let advocates: Vec<AdvocateFunnel> = store::advocates_of_program(conn, &program.id)?
        .into_iter()
        .map(|a| {
            let id = a.enrollment.id.clone();
            AdvocateFunnel {
                clicks: clicks.get(&id).copied().unwrap_or(0),
                customers: customers.get(&id).copied().unwrap_or(0),
                invoices: invoices.get(&id).copied().unwrap_or(0),
                commissions: sale_counts.get(&id).copied().unwrap_or(0),
                earned_minor: earned.get(&id).copied().unwrap_or(0),
                referral_code: a.enrollment.referral_code,
                advocate: a.name,
                status: a.enrollment.status.to_string(),
                tier: a.enrollment.tier_code,
                enrollment: id,
            }
        })
        .collect();
    let sum = |f: fn(&AdvocateFunnel) -> i64| advocates.iter().map(f).sum::<i64>();
    let practitioners = PractitionerFunnel {
        registered: store::count_users(conn)?,
        attempted: store::count_attempters(conn, &program.vendor_id)?,
        certified: store::count_certified(conn, &program.vendor_id)?,
        enrolled: i64::try_from(advocates.len()).unwrap_or(i64::MAX),
        earning: i64::try_from(advocates.iter().filter(|a| a.earned_minor > 0).count())
            .unwrap_or(i64::MAX),
    };
    Ok(FunnelView {
        program: program.id.clone(),
        currency: program.currency.clone(),
        clicks: sum(|a| a.clicks),
        customers: sum(|a| a.customers),
        invoices: sum(|a| a.invoices),
        commissions: sum(|a| a.commissions),
        practitioners,
        advocates,
    })
}

/// Below this many people enrolled in a year, that year's figures are withheld: with a handful
/// of advocates a median or a percentile is one person's income.
pub const DISCLOSURE_MIN_ADVOCATES: u64 = 5;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct YearFigures {
    pub year: i32,
    pub enrolled: u64,
    /// Fewer than `DISCLOSURE_MIN_ADVOCATES` people: the three figures below are `null`.
    pub withheld: bool,
    /// Share of enrolled people whose net earnings that year were zero or less, in basis points.
    pub earning_nothing_share_bp: Option<u32>,
    pub median_minor: Option<i64>,
    pub p90_minor: Option<i64>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DisclosureView {
    pub program: ProgramView,
    pub years: Vec<YearFigures>,
}

/// The public yearly earnings disclosure: per calendar year, the people enrolled at any time in
/// it and, over them, the share earning nothing, the median and the 90th percentile of their
/// net earnings (approved and paid commissions created that year, clawbacks subtracted).
/// `reference` is the program's id or its vendor's slug.
pub fn disclosure(
    conn: &mut DbConn,
    reference: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<DisclosureView, ReferralError> {
    let (program, vendor) = find_program(conn, reference)?;
    let view = program_view(conn, &program, &vendor, None, links)?;
    let enrollments = store::enrollment_dates(conn, &program.id)?;
    let mut earnings: HashMap<(String, i32), i64> = HashMap::new();
    for fact in store::commission_facts(conn, &program.id)? {
        if fact.status == CommissionStatus::Approved || fact.status == CommissionStatus::Paid {
            let e = earnings
                .entry((fact.enrollment_id, fact.created_at.year()))
                .or_default();
            *e = e.saturating_add(fact.amount_minor);
        }
    }
    let mut years = Vec::new();
    for year in (program.created_at.year()..=now.year()).rev() {
        let end = NaiveDate::from_ymd_opt(year + 1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or(NaiveDateTime::MAX);
        let values: Vec<i64> = enrollments
            .iter()
            .filter(|(_, enrolled_at)| *enrolled_at < end)
            .map(|(id, _)| earnings.get(&(id.clone(), year)).copied().unwrap_or(0))
            .collect();
        let figures = disclosure::earnings_disclosure(&values);
        let shown = figures.enrolled >= DISCLOSURE_MIN_ADVOCATES;
        years.push(YearFigures {
            year,
            enrolled: figures.enrolled,
            withheld: !shown,
            earning_nothing_share_bp: shown.then_some(figures.earning_nothing_share_bp),
            median_minor: shown.then_some(figures.median_minor),
            p90_minor: shown.then_some(figures.p90_minor),
        });
    }
    Ok(DisclosureView {
        program: view,
        years,
    })
}
