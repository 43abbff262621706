//! The retake policy: when a person may start the next attempt at an exam.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDateTime};

use super::catalog::{retake_of, RetakeView};
use crate::db::DbConn;
use crate::exams::store::{self, AttemptHistory};
use crate::exams::ExamError;
use crate::text::plural;

/// When the retake policy allows the next attempt, if not now: the latest of (last pass + wait after pass),
/// (last graded attempt, if failed, + cooldown) and (the attempt that must leave the 12-month window for the
/// count to drop below the maximum + 12 months). `None` = allowed now.
pub fn next_attempt_allowed(
    policy: &RetakeView,
    history: &[AttemptHistory],
    now: NaiveDateTime,
) -> Option<(NaiveDateTime, String)> {
    let days = |n: i32| chrono::Duration::days(i64::from(n.max(0)));
    let mut blocks: Vec<(NaiveDateTime, String)> = Vec::new();
    let graded: Vec<&AttemptHistory> = history.iter().filter(|a| a.graded_at.is_some()).collect();
    if policy.wait_after_pass_days > 0 {
        if let Some(last_pass) = graded
            .iter()
            .filter(|a| a.passed == Some(true))
            .filter_map(|a| a.graded_at)
            .max()
        {
            let until = last_pass + days(policy.wait_after_pass_days);
            if until > now {
                blocks.push((
                    until,
                    format!(
                        "you passed this exam on {}; a new attempt is allowed {} after a pass",
                        last_pass.format("%Y-%m-%d"),
                        plural(policy.wait_after_pass_days, "day", "days")
                    ),
                ));
            }
        }
    }
    if policy.cooldown_days > 0 {
        if let Some(last) = graded.iter().max_by_key(|a| a.graded_at) {
            if last.passed != Some(true) {
                let at = last.graded_at.unwrap_or(last.started_at);
                let until = at + days(policy.cooldown_days);
                if until > now {
                    blocks.push((
                        until,
                        format!(
                            "after a failed attempt the policy asks you to wait {} before the next one",
                            plural(policy.cooldown_days, "day", "days")
                        ),
                    ));
                }
            }
        }
    }
    if policy.max_attempts_per_year > 0 {
        let year = Months::new(12);
        let window_start = now.checked_sub_months(year).unwrap_or(NaiveDateTime::MIN);
        let mut recent: Vec<NaiveDateTime> = history
            .iter()
            .map(|a| a.started_at)
            .filter(|&t| t > window_start)
            .collect();
        recent.sort();
        let max = usize::try_from(policy.max_attempts_per_year).unwrap_or(usize::MAX);
        if recent.len() >= max {
            let leaving = recent[recent.len() - max];
            let until = leaving
                .checked_add_months(year)
                .unwrap_or(NaiveDateTime::MAX);
            if until > now {
                blocks.push((
                    until,
                    format!(
                        "the policy allows {} in any 12 months and you have used them",
                        plural(policy.max_attempts_per_year, "attempt", "attempts")
                    ),
                ));
            }
        }
    }
    blocks.into_iter().max_by_key(|(until, _)| *until)
}

/// Exams the person cannot start again yet, by (vendor slug, exam slug): from when they can,
/// and why.
pub type RetakesNotYet = BTreeMap<(String, String), (NaiveDateTime, String)>;

/// The exams the person cannot start again yet under their retake policy (the dashboard shows
/// these instead of offering them).
pub fn retakes_not_yet(
    conn: &mut DbConn,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<RetakesNotYet, ExamError> {
    let mut blocked = BTreeMap::new();
    let mut seen = std::collections::BTreeSet::new();
    for (_, exam_slug, _, vendor) in store::attempts_of_user(conn, user_id)? {
        if !seen.insert((vendor.clone(), exam_slug.clone())) {
            continue;
        }
        let Some((exam, _, _)) = store::find_exam_by_slugs(conn, &vendor, &exam_slug)? else {
            continue;
        };
        let history = store::attempt_history(conn, &exam.id, user_id)?;
        if let Some(block) = next_attempt_allowed(&retake_of(&exam), &history, now) {
            blocked.insert((vendor, exam_slug), block);
        }
    }
    Ok(blocked)
}
