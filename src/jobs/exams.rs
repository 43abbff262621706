//! Grades attempts left open past their deadline with their saved answers. Safe with several nodes: the
//! grading's conditional `UPDATE attempts SET status = 'graded' … WHERE status = 'open'` lets exactly one
//! node grade an attempt; the others read the stored result and move on.

use crate::app::AppState;
use crate::exams::service::{self, GradedBy};
use crate::exams::ExamError;
use crate::usecases;

const BATCH: i64 = 50;

pub async fn run_once(state: AppState) -> Result<(), String> {
    let now = state.clock.now();
    let due = state
        .db(move |conn| service::overdue_attempts(conn, now, BATCH))
        .await
        .map_err(|e: ExamError| e.to_string())?;
    for attempt_id in due {
        let graded =
            usecases::grade_attempt(&state, attempt_id.clone(), None, GradedBy::DeadlineJob).await;
        match graded {
            Ok(result) => {
                tracing::info!(attempt_id = %attempt_id, passed = result.passed, "graded an attempt at its deadline")
            }
            // One bad attempt must not stop the others; it stays open and is retried next pass.
            Err(error) => {
                tracing::warn!(attempt_id = %attempt_id, %error, "grading an overdue attempt failed")
            }
        }
    }
    Ok(())
}
