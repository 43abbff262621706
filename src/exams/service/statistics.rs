//! Item statistics of a version's graded attempts.

use std::collections::HashMap;

use serde::Serialize;

use super::load_bank;
use crate::db::DbConn;
use crate::exams::store::{self, ExamRow};
use crate::exams::{item_statistics, AttemptResponses, ExamError, ItemFlag, ResponseMatrix};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ItemStatistics)]
pub struct ItemReport {
    pub question_id: String,
    pub domain: String,
    /// Graded attempts whose form had the question.
    pub responses: usize,
    pub p: Option<f64>,
    pub r_pb: Option<f64>,
    pub flags: Vec<ItemFlag>,
}

/// `GET /api/v1/vendors/{vendor}/exams/{exam}/statistics`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Statistics)]
pub struct StatisticsReport {
    pub exam: String,
    pub version: i32,
    pub attempts: usize,
    pub pass_rate: Option<f64>,
    pub kr20: Option<f64>,
    pub sem: Option<f64>,
    /// Graded attempts per score band: 0–10 %, 10–20 %, …, 90–100 % (100 % is in the last band).
    #[schema(value_type = Vec<u32>, min_items = 10, max_items = 10)]
    pub histogram: [u32; 10],
    pub items: Vec<ItemReport>,
    /// The sample-size guard (`stats_min_attempts`): below it, difficulty, discrimination, flags
    /// and KR-20 are noise, and `too_few_attempts` says so (the figures stay for the curious).
    pub min_attempts: u32,
    pub too_few_attempts: bool,
}

/// Item statistics of one version: `version` or, by default, the latest version with graded attempts (the
/// latest version when none has any).
pub fn statistics(
    conn: &mut DbConn,
    exam: &ExamRow,
    version: Option<i32>,
    min_attempts: u32,
) -> Result<StatisticsReport, ExamError> {
    let number = match version {
        Some(number) => number,
        None => match store::latest_version_with_graded_attempts(conn, &exam.id)? {
            Some(number) => number,
            None => {
                store::latest_version(conn, &exam.id)?
                    .ok_or(ExamError::NotFound("exam version"))?
                    .number
            }
        },
    };
    let version = store::find_version_by_number(conn, &exam.id, number)?
        .ok_or(ExamError::NotFound("exam version"))?;
    let bank = load_bank(conn, &version.id)?;
    let mut outcomes: HashMap<String, HashMap<String, bool>> = HashMap::new();
    for (attempt_id, question_id, correct) in store::item_outcomes_of_version(conn, &version.id)? {
        outcomes
            .entry(attempt_id)
            .or_default()
            .insert(question_id, correct);
    }
    let items: Vec<String> = bank.questions.iter().map(|q| q.id.clone()).collect();
    let attempts = store::graded_attempts_of_version(conn, &version.id)?
        .into_iter()
        .map(|(id, score_bp, passed)| {
            let row = outcomes.get(&id);
            AttemptResponses {
                score_basis_points: u32::try_from(score_bp.unwrap_or(0)).unwrap_or(0),
                passed: passed.unwrap_or(false),
                responses: items
                    .iter()
                    .map(|item| row.and_then(|row| row.get(item).copied()))
                    .collect(),
            }
        })
        .collect();
    let stats = item_statistics(&ResponseMatrix { items, attempts });
    Ok(StatisticsReport {
        exam: exam.slug.clone(),
        version: version.number,
        too_few_attempts: stats.attempts < min_attempts as usize,
        min_attempts,
        attempts: stats.attempts,
        pass_rate: stats.pass_rate,
        kr20: stats.kr20,
        sem: stats.sem,
        histogram: stats.histogram,
        items: stats
            .items
            .into_iter()
            .zip(&bank.questions)
            .map(|(item, question)| ItemReport {
                question_id: item.question_id,
                domain: question.domain.clone(),
                responses: item.responses,
                p: item.p,
                r_pb: item.r_pb,
                flags: item.flags,
            })
            .collect(),
    })
}
