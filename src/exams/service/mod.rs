//! The exam use cases. Each takes a connection and `now` and is run by its caller inside ONE transaction
//! (`AppState::tx` / `db::transaction`): importing a bank, the catalog, vouchers and manual orders, starting an
//! attempt (entitlement and retake policy), saving answers, grading (with the credential hook and the result
//! mail), the deadline sweep, item statistics and revenue.
//!
//! One submodule per responsibility; everything public is re-exported here, so callers name
//! `exams::service::X`.

mod authoring;
mod catalog;
mod console;
mod orders;
mod results;
mod retakes;
mod statistics;
mod taking;
#[cfg(test)]
mod tests;
mod vouchers;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use chrono::NaiveDateTime;

use super::store::{self, AttemptRow};
use super::{Bank, ExamError, Form};
use crate::db::DbConn;

pub use authoring::{
    export_qti, import_bank, imported_bank, set_version_state, validate_bank_file, BankSource,
    ImportOutcome, VersionChange, VersionState, GIFT_DEFAULT_DURATION_MINUTES,
    GIFT_DEFAULT_PASS_PERCENT, GIFT_DEFAULT_VERSION_LABEL,
};
pub use catalog::{
    catalog, exam_details, vendor_exam, CatalogEntry, DomainView, ExamDetails, PriceView,
    RetakeView,
};
pub use console::{exam_results, vendor_exams, versions, ExamResultRow, VendorExamSummary};
pub use orders::{
    create_manual_order, mark_order_paid, revenue, CurrencyTotal, ExamRevenue, ManualOrderInput,
    MarkPaidInput, MonthRevenue, OrderView, RevenueReport,
};
pub use results::{
    attempt_view, attempts_of_user, grade_attempt, overdue_attempts, pass_in_prospect,
    submit_attempt, AttemptResult, AttemptSummary, AttemptView, DomainResult, ReviewChoice,
    ReviewQuestion, StoredResult,
};
pub use retakes::{next_attempt_allowed, retakes_not_yet, RetakesNotYet};
pub use statistics::{statistics, ItemReport, StatisticsReport};
pub use taking::{
    answers_from_fields, close_overdue_attempt, form_question_handles, open_attempt_id,
    save_answer, save_answers, set_flags, start_attempt, start_preview, ExamRef, StartedAttempt,
};
pub use vouchers::{
    create_vouchers, new_voucher_code, normalize_voucher_code, parse_expiry, voucher_batches,
    vouchers_csv, VoucherBatch, VoucherBatchSummary, VoucherInput, MAX_VOUCHERS_PER_BATCH,
};

/// What the credential issuer needs to know about a pass. Built from the bank version the attempt was drawn
/// from, so the certificate names exactly the exam that was taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassedExam {
    pub attempt_id: String,
    pub user_id: String,
    pub vendor_id: String,
    pub exam_id: String,
    pub exam_slug: String,
    pub exam_title: String,
    pub exam_description: String,
    pub pass_percent: i32,
    pub score_bp: i32,
    pub validity_months: i32,
    pub renewal_exam_slug: Option<String>,
    pub graded_at: NaiveDateTime,
}

/// Called by the grading transaction on a pass; returns the id of the credential it issued. An error rolls
/// the whole grading back.
pub type PassHook = dyn Fn(&mut DbConn, &PassedExam) -> Result<Option<String>, ExamError>;

/// Who graded an attempt (stored in `attempts.graded_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GradedBy {
    /// The candidate submitted (API or page).
    Candidate,
    /// The attempt was left open past its deadline and graded with its saved answers.
    DeadlineJob,
}

impl GradedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GradedBy::Candidate => "candidate",
            GradedBy::DeadlineJob => "deadline_job",
        }
    }
}

/// Parsed banks by version id. Versions are immutable and ids are never reused, so a cached bank never goes
/// stale; the cache only saves parsing the bank JSON on every answer save.
fn load_bank(conn: &mut DbConn, version_id: &str) -> Result<Arc<Bank>, ExamError> {
    static CACHE: LazyLock<Mutex<HashMap<String, Arc<Bank>>>> = LazyLock::new(Default::default);
    const CAPACITY: usize = 64;
    if let Some(bank) = CACHE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(version_id)
    {
        return Ok(bank.clone());
    }
    let version = store::find_version(conn, version_id)?
        .ok_or_else(|| ExamError::Internal(format!("exam version {version_id} is missing")))?;
    let bank: Arc<Bank> = Arc::new(serde_json::from_str(&version.bank).map_err(|e| {
        ExamError::Internal(format!(
            "stored bank of version {version_id} is unreadable: {e}"
        ))
    })?);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= CAPACITY {
        cache.clear();
    }
    cache.insert(version_id.to_owned(), bank.clone());
    Ok(bank)
}

fn parse_form(attempt: &AttemptRow) -> Result<Form, ExamError> {
    serde_json::from_str(&attempt.form).map_err(|e| {
        ExamError::Internal(format!(
            "stored form of attempt {} is unreadable: {e}",
            attempt.id
        ))
    })
}
