//! Tiers: recomputing an enrollment's tier when the advocate's credentials change (and the sweep
//! for stale ones), and the next-tier hint.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use serde::Serialize;

use super::programs::titles_of;
use crate::db::DbConn;
use crate::referrals::store::{self, CredentialChange};
use crate::referrals::{tiers, Enrollment, Program, ReferralError, TierRule};

/// Recomputes one enrollment's tier from the credentials current at `now`, storing it and a
/// `tier_changes` row with `reason` when it changed. Safe against concurrent recomputation: the
/// write is conditional on the last computation time and retried on a lost race.
pub(super) fn recompute_tier(
    conn: &mut DbConn,
    mut enrollment: Enrollment,
    program: &Program,
    rules: &[TierRule],
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), ReferralError> {
    for _ in 0..4 {
        let held = held_exam_slugs(conn, &enrollment.user_id, &program.vendor_id, now)?;
        let tier = tiers::select_tier(rules, &held)
            .map(|t| t.code.clone())
            .unwrap_or_else(|| enrollment.tier_code.clone());
        if store::store_tier(conn, &enrollment.id, enrollment.tier_checked_at, &tier, now)? {
            if tier != enrollment.tier_code {
                store::insert_tier_change(
                    conn,
                    &enrollment.id,
                    Some(&enrollment.tier_code),
                    &tier,
                    reason,
                    now,
                )?;
            }
            return Ok(());
        }
        match store::find_enrollment(conn, &enrollment.id)? {
            Some(fresh) => enrollment = fresh,
            None => return Ok(()),
        }
    }
    Err(ReferralError::Conflict(
        "the tier is being recomputed concurrently; try again".into(),
    ))
}

/// Recomputes the person's tier in the vendor's program after one of their credentials was
/// issued, revoked or expired, recording the change with `reason`. The credentials module calls
/// it in the transaction that changes the credential.
/// The vendor's exams of which the person holds a current credential at `at`: the only input of
/// tiers (never money spent).
pub(super) fn held_exam_slugs(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    at: NaiveDateTime,
) -> diesel::QueryResult<HashSet<String>> {
    Ok(
        crate::credentials::service::current_exam_slugs(conn, user_id, vendor_id, at)?
            .into_iter()
            .collect(),
    )
}

pub fn on_credentials_changed(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    reason: &str,
    now: NaiveDateTime,
) -> Result<(), ReferralError> {
    for (enrollment, program) in store::enrollments_of_user_at_vendor(conn, user_id, vendor_id)? {
        let rules = store::program_tiers(conn, &program.id)?;
        recompute_tier(conn, enrollment, &program, &rules, reason, now)?;
    }
    Ok(())
}

/// One pass of the tier job: recomputes enrollments whose credentials expired (reason
/// "credential expired") or became valid since their tier was computed. Returns how many
/// enrollments were looked at.
pub fn recompute_stale_tiers(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, ReferralError> {
    let mut done = 0;
    for (change, reason) in [
        (CredentialChange::Expired, "credential expired"),
        (CredentialChange::BecameValid, "credential became valid"),
    ] {
        for id in store::enrollments_with_credential_change(conn, change, now, limit)? {
            let Some(enrollment) = store::find_enrollment(conn, &id)? else {
                continue;
            };
            let Some(program) = store::find_program(conn, &enrollment.program_id)? else {
                continue;
            };
            let rules = store::program_tiers(conn, &program.id)?;
            recompute_tier(conn, enrollment, &program, &rules, reason, now)?;
            done += 1;
        }
    }
    Ok(done)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NextTierView {
    pub code: String,
    pub name: String,
    pub rate_bps: u32,
    /// Exam slugs whose current credential is still missing.
    pub missing_exams: Vec<String>,
    /// The titles of those exams, for pages.
    #[serde(skip)]
    pub missing_exam_titles: Vec<String>,
}

pub(super) fn next_tier_view(
    rules: &[TierRule],
    held: &HashSet<String>,
    exam_titles: &HashMap<String, String>,
) -> Option<NextTierView> {
    tiers::next_tier(rules, held).map(|(tier, missing)| NextTierView {
        code: tier.code.clone(),
        name: tier.name.clone(),
        rate_bps: tier.rate_bps,
        missing_exam_titles: titles_of(&missing, exam_titles),
        missing_exams: missing.into_iter().map(str::to_string).collect(),
    })
}
