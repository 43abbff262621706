//! Stripe hand-off (docs/stripe.md): paid exams through the vendor's Stripe checkout and the
//! advocate program's billing events straight from Stripe's webhooks.
//!
//! `stripe.rs` reads Stripe's events (pure); `store.rs` holds the vendor's signing secret, the
//! exams' payment links and the exam-order events; `service/` has the use cases. Exam orders
//! stay `exams`' rows, the advocate program's binding and billing events stay `referrals`'
//! functions: this module only maps Stripe onto them.

pub mod service;
pub mod store;
pub mod stripe;

use crate::db::DbError;
use crate::exams::ExamError;
use crate::referrals::ReferralError;
use crate::validation::FieldError;

#[derive(Debug, thiserror::Error)]
pub enum BillingError {
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The `Stripe-Signature` is missing, wrong or stale, or the body is not a Stripe event:
    /// Stripe expects a 400.
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Exam(#[from] ExamError),
    #[error(transparent)]
    Referral(#[from] ReferralError),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for BillingError {
    fn from(e: diesel::result::Error) -> Self {
        BillingError::Db(DbError::Query(e))
    }
}
