//! The practitioner's view: their enrollments and referrals with totals by status.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::Serialize;

use super::commissions::CommissionView;
use super::enrollment::{enrollment_view, EnrollmentView};
use super::payouts::{payout_view, PayoutView};
use super::programs::{find_program, program_view, ProgramView};
use crate::db::DbConn;
use crate::links::Links;
use crate::referrals::{
    store, Commission, CommissionKind, CommissionStatus, ReferralError, DISCLOSURE,
};

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct StatusTotal {
    pub count: usize,
    pub amount_minor: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyEnrollment {
    #[serde(flatten)]
    pub enrollment: EnrollmentView,
    pub clicks: i64,
    pub customers: i64,
    pub invoices: i64,
    /// Sale commissions not reversed (the funnel's last step).
    pub sales: i64,
    /// Per status: pending, approved, paid, reversed (and held: pending ones under review).
    pub commissions: BTreeMap<String, StatusTotal>,
    /// Approved, not yet paid (negative while clawbacks outweigh earnings).
    pub balance_minor: i64,
    pub paid_minor: i64,
    pub recent_commissions: Vec<CommissionView>,
    pub payouts: Vec<PayoutView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MyReferrals {
    pub disclosure: &'static str,
    pub enrollments: Vec<MyEnrollment>,
}

pub(super) fn status_totals(commissions: &[Commission]) -> BTreeMap<String, StatusTotal> {
    let mut totals: BTreeMap<String, StatusTotal> = [
        CommissionStatus::Pending.as_str(),
        "held",
        CommissionStatus::Approved.as_str(),
        CommissionStatus::Paid.as_str(),
        CommissionStatus::Reversed.as_str(),
    ]
    .iter()
    .map(|s| ((*s).to_string(), StatusTotal::default()))
    .collect();
    for c in commissions {
        let key = if c.status == CommissionStatus::Pending && c.held {
            "held"
        } else {
            c.status.as_str()
        };
        let entry = totals.entry(key.to_string()).or_default();
        entry.count += 1;
        entry.amount_minor = entry.amount_minor.saturating_add(c.amount_minor);
    }
    totals
}

/// Everything the referral dashboard and `GET /api/v1/me/referrals` show.
pub fn my_referrals(
    conn: &mut DbConn,
    user_id: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<MyReferrals, ReferralError> {
    let mut out = Vec::new();
    for (enrollment, program, vendor) in store::enrollments_of_user(conn, user_id)? {
        let view = enrollment_view(conn, &enrollment, &program, &vendor, links, now)?;
        let commissions = store::commissions_of_enrollment(conn, &enrollment.id)?;
        let totals = status_totals(&commissions);
        let balance_minor = totals
            .get(CommissionStatus::Approved.as_str())
            .map_or(0, |t| t.amount_minor);
        let paid_minor = totals
            .get(CommissionStatus::Paid.as_str())
            .map_or(0, |t| t.amount_minor);
        let invoices = store::invoices_by_enrollment(conn, &program.id)?
            .get(&enrollment.id)
            .copied()
            .unwrap_or(0);
        let payouts = store::payouts_of_enrollment(conn, &enrollment.id)?
            .iter()
            .map(|p| payout_view(conn, p, &enrollment.referral_code, ""))
            .collect::<Result<Vec<_>, _>>()?;
        out.push(MyEnrollment {
            clicks: store::human_clicks_of_enrollment(conn, &enrollment.id)?,
            customers: store::customers_of_enrollment(conn, &enrollment.id)?,
            invoices,
            sales: i64::try_from(
                commissions
                    .iter()
                    .filter(|c| {
                        c.kind == CommissionKind::Sale && c.status != CommissionStatus::Reversed
                    })
                    .count(),
            )
            .unwrap_or(i64::MAX),
            commissions: totals,
            balance_minor,
            paid_minor,
            recent_commissions: commissions
                .iter()
                .take(20)
                .map(CommissionView::from)
                .collect(),
            payouts,
            enrollment: view,
        });
    }
    Ok(MyReferrals {
        disclosure: DISCLOSURE,
        enrollments: out,
    })
}

/// A program as a visitor sees it (`reference`: its id or its vendor's slug), with the
/// visitor's enrollment in it when they are signed in (`user_id`) and enrolled.
pub fn program_for_visitor(
    conn: &mut DbConn,
    reference: &str,
    user_id: Option<&str>,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(ProgramView, Option<EnrollmentView>), ReferralError> {
    let (program, vendor) = find_program(conn, reference)?;
    let view = program_view(conn, &program, &vendor, None, links)?;
    let enrollment = match user_id {
        Some(user_id) => store::find_enrollment_of_user(conn, &program.id, user_id)?,
        None => None,
    };
    let enrollment = enrollment
        .map(|e| enrollment_view(conn, &e, &program, &vendor, links, now))
        .transpose()?;
    Ok((view, enrollment))
}
