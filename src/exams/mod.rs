//! Exams: bank files (TOML, Moodle GIFT), the normalized bank model, bank linting, form assembly, grading,
//! item statistics and safe rendering of question text — all pure (no database, no HTTP, no file I/O) — plus `store` (every
//! query of the exam tables) and `service` (the use cases, each run by its caller in one transaction).

pub mod bank_toml;
pub mod form;
pub mod gift;
pub mod grading;
pub mod lint;
pub mod markdown;
pub mod model;
pub mod qti;
pub mod service;
pub mod stats;
pub mod store;

use std::fmt;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use crate::db::DbError;
use crate::validation::FieldError;

pub use bank_toml::{parse_bank, parse_bank_located};
pub use form::{draw_form, Form, FormItem, IndexedForm, PresentedChoice, PresentedQuestion};
pub use gift::parse_gift;
pub use grading::{
    format_percent, grade, percent_json_number, validate_answer, DomainScore, GradeResult,
    ItemScore,
};
pub use lint::{asked_count, lint_bank, QuestionLines};
pub use markdown::{
    escape_html, render_markdown, render_markdown_inline, render_text, render_text_inline,
    sanitize_html,
};
pub use model::{
    AttemptStatus, Bank, Choice, Domain, ExamMeta, ExamVersionState, OrderProvider, OrderStatus,
    Price, Question, QuestionKind, RetakePolicy, TextFormat,
};
pub use qti::{export_package as export_qti_package, looks_like_qti, parse_qti};
pub use service::{GradedBy, PassHook, PassedExam};
pub use stats::{
    item_statistics, AttemptResponses, ExamStatistics, ItemFlag, ItemStatistics, ResponseMatrix,
};

/// The domain of questions that come without one (before any GIFT `$CATEGORY`, QTI items outside a test).
pub const GENERAL_DOMAIN: &str = "general";

/// The questions a GIFT or QTI file yields, with their domains, what was skipped or adjusted (`warnings`), and
/// what the file says about the exam. Turned into a bank by `service::imported_bank`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedQuestions {
    pub questions: Vec<Question>,
    /// In order of appearance: GIFT categories and QTI sections (id slugged or sanitized), or `general`.
    /// `questions_per_form` is what the file asks for (a QTI `selection`), else every imported question of the
    /// domain; a domain with no imported question has 0 and is dropped with a warning.
    pub domains: Vec<Domain>,
    pub warnings: Vec<BankError>,
    /// The line each imported question starts on (for lint warnings; empty where the format has none).
    pub question_lines: QuestionLines,
    /// The exam title the file gives (a QTI test's `title`).
    pub title: Option<String>,
    /// The duration the file gives (a QTI test's `timeLimits maxTime`, rounded up to minutes).
    pub duration_minutes: Option<u32>,
    /// The domains come from a QTI test, so they are the blueprint (rather than the exam's current one).
    pub blueprint_in_file: bool,
}

/// One problem found in a bank file, located so the author can fix it.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error, utoipa::ToSchema,
)]
#[schema(as = BankWarning)]
pub struct BankError {
    pub file: String,
    /// 1-based.
    pub line: usize,
    pub question_id: Option<String>,
    pub message: String,
}

impl fmt::Display for BankError {
    /// `file:line: question ID: message`, the question part only when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.question_id {
            Some(id) => write!(
                f,
                "{}:{}: question {}: {}",
                self.file, self.line, id, self.message
            ),
            None => write!(f, "{}:{}: {}", self.file, self.line, self.message),
        }
    }
}

/// Every problem of a file at once, sorted by line; displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct BankErrors {
    pub errors: Vec<BankError>,
}

impl fmt::Display for BankErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, error) in self.errors.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

/// A recorded form that does not fit the bank it is used with (wrong bank version, or a bank whose blueprint
/// cannot be met). These are server-side inconsistencies, never the candidate's fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("domain `{domain}` has {available} questions but the blueprint draws {required}; add questions or lower `questions_per_form`")]
    NotEnoughQuestions {
        domain: String,
        available: usize,
        required: usize,
    },
    #[error("question `{0}` of the form is not in this bank version; use the bank version the attempt was drawn from")]
    UnknownQuestion(String),
    #[error("choice `{choice}` of question `{question}` in the form is not in this bank version; use the bank version the attempt was drawn from")]
    UnknownChoice { question: String, choice: String },
    #[error("the choices of question `{0}` differ from the form's recorded choice order; use the bank version the attempt was drawn from")]
    ChoicesChanged(String),
}

/// Why an answer cannot be saved; shown to the candidate's client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("question `{0}` is not on this attempt's form")]
    NotOnForm(String),
    #[error("choice `{choice}` does not belong to question `{question}`")]
    UnknownChoice { question: String, choice: String },
    #[error("choice `{choice}` is given twice for question `{question}`; send each choice once")]
    DuplicateChoice { question: String, choice: String },
    #[error("question `{question}` takes one choice; {given} were given")]
    TooManyChoices { question: String, given: usize },
}

/// Every failure of the exams domain, mapped to HTTP problems in one place (`http/problem.rs`) and to friendly
/// messages by the exam pages.
#[derive(Debug, thiserror::Error)]
pub enum ExamError {
    /// A bank file with problems; each names its file, line and question.
    #[error("{0}")]
    Bank(#[from] BankErrors),
    /// A stored form that does not fit its bank version: a server-side inconsistency.
    #[error(transparent)]
    Form(#[from] FormError),
    /// An answer that cannot be saved.
    #[error(transparent)]
    Answer(#[from] AnswerError),
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Forbidden(String),
    /// No voucher, paid order or free price entitles the person to start the exam (HTTP 402).
    #[error("{0}")]
    EntitlementRequired(String),
    /// The voucher given cannot be used: unknown, already used, expired or for another exam (HTTP 402).
    #[error("{0}")]
    VoucherRejected(String),
    #[error("you already have an open attempt at this exam; finish or submit it first (attempt {attempt_id})")]
    AttemptOpen { attempt_id: String },
    /// The attempt no longer takes answers: submitted, graded or past its deadline (HTTP 409).
    #[error("{0}")]
    AttemptClosed(String),
    /// The retake policy does not allow a new attempt yet (HTTP 429 with the time it will).
    #[error("{reason}; the next attempt is allowed from {}", crate::clock::rfc3339_seconds(*.next_attempt_at))]
    RetakeNotYet {
        reason: String,
        next_attempt_at: NaiveDateTime,
        retry_after_secs: u64,
    },
    #[error("{0}")]
    Conflict(String),
    /// The pass hook (credential issuing) failed; the grading is rolled back with it.
    #[error("issuing the credential failed: {0}")]
    Credential(String),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ExamError {
    fn from(e: diesel::result::Error) -> Self {
        ExamError::Db(DbError::Query(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bank_errors_display_one_line_each_with_optional_question() {
        let errors = BankErrors {
            errors: vec![
                BankError {
                    file: "a.toml".into(),
                    line: 3,
                    question_id: None,
                    message: "missing `title` in [exam]".into(),
                },
                BankError {
                    file: "a.toml".into(),
                    line: 112,
                    question_id: Some("pg-arch-007".into()),
                    message: "`single` question has 2 correct choices; mark exactly one".into(),
                },
            ],
        };
        assert_eq!(
            errors.to_string(),
            "a.toml:3: missing `title` in [exam]\n\
             a.toml:112: question pg-arch-007: `single` question has 2 correct choices; mark exactly one"
        );
        assert_eq!(
            ExamError::from(errors.clone()).to_string(),
            errors.to_string()
        );
    }
}
