//! Referral network (DESIGN §6): pure rules (codes, clicks, tiers, webhooks, disclosure,
//! self-referral), storage (`store`), use cases (`service`) and the click recorder (`recorder`,
//! group commit for `/r/<code>`). Money arithmetic lives in `crate::money`.
//!
//! Ethical by construction: one level only (nothing links one enrollment to another), tiers read
//! only *current* credentials, exam fees and voucher purchases never reach this module, every
//! share surface carries [`DISCLOSURE`], and money is integer minor units.

pub mod clicks;
pub mod codes;
pub mod disclosure;
pub mod recorder;
pub mod sealed;
pub mod selfref;
pub mod service;
pub mod store;
pub mod tiers;
pub mod webhook;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

pub use clicks::{hash_with_salt, is_bot};
pub use codes::{generate_code, normalize_code};
pub use disclosure::{earnings_disclosure, EarningsDisclosure};
pub use service::on_credentials_changed;
pub use tiers::{next_tier, select_tier, validate_tiers, TierRule};
pub use webhook::{sign, verify_signature, WebhookError};

use crate::accounts::AccountError;
use crate::db::schema::{
    billing_events, clicks as clicks_table, commissions, customers, enrollments, payouts, programs,
};
use crate::db::text_enum::text_enum;
use crate::db::DbError;
use crate::money::MoneyError;
use crate::validation::FieldError;

/// The sentence shown next to every referral link (dashboard, share page, enrollment answer).
pub const DISCLOSURE: &str = "Disclosure: this is a referral link. If someone buys through it, \
the person who shared it earns a commission from the vendor. It costs the buyer nothing extra.";

text_enum! {
    /// Where an advocate's enrollment stands (`enrollments.status`).
    pub enum EnrollmentStatus("enrollment status") {
        Active = "active",
        Suspended = "suspended",
    }
}

text_enum! {
    /// Commission kinds (`commissions.kind`). There is deliberately no kind for recruiting or for
    /// another enrollment's sales.
    pub enum CommissionKind("commission kind") {
        Sale = "sale",
        Clawback = "clawback",
    }
}

text_enum! {
    /// Commission statuses (`commissions.status`, `commission_transitions.from_status` and
    /// `to_status`).
    pub enum CommissionStatus("commission status") {
        Pending = "pending",
        Approved = "approved",
        Paid = "paid",
        Reversed = "reversed",
    }
}

text_enum! {
    /// Payout statuses (`payouts.status`).
    pub enum PayoutStatus("payout status") {
        Pending = "pending",
        Paid = "paid",
    }
}

text_enum! {
    /// Billing event kinds accepted by the inbox (`billing_events.kind`). Exam fees and voucher
    /// purchases are not among them: they never become a commission base.
    pub enum BillingEventKind("billing event kind") {
        InvoicePaid = "invoice_paid",
        Refund = "refund",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReferralError {
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Signature(#[from] WebhookError),
    #[error(transparent)]
    Money(#[from] MoneyError),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for ReferralError {
    fn from(e: diesel::result::Error) -> Self {
        ReferralError::Db(DbError::Query(e))
    }
}

/// Authorization answers of the accounts domain (checked inside a referral use case).
impl From<AccountError> for ReferralError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Validation(errors) => ReferralError::Validation(errors),
            AccountError::Forbidden(message) => ReferralError::Forbidden(message.to_string()),
            AccountError::NotFound(_) => ReferralError::NotFound(e.to_string()),
            AccountError::Conflict(message) => ReferralError::Conflict(message),
            AccountError::Db(e) => ReferralError::Db(e),
            other => ReferralError::Internal(other.to_string()),
        }
    }
}

impl ReferralError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        ReferralError::Validation(crate::validation::field_error(field, message))
    }

    /// Whether this is a lost race for a unique key (the caller may retry in a new transaction).
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, ReferralError::Db(DbError::Query(e)) if crate::db::is_unique_violation(e))
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = programs)]
pub struct Program {
    pub id: String,
    pub vendor_id: String,
    pub currency: String,
    pub landing_url: String,
    pub attribution_window_days: i32,
    pub hold_days: i32,
    pub commission_months: i32,
    pub min_payout_minor: i64,
    pub terms_version: String,
    pub terms_text: String,
    /// Sealed under the master key (see [`sealed`]); never logged.
    pub webhook_secret: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The secret the last rotation replaced (sealed), accepted until
    /// `previous_webhook_expires_at`.
    pub previous_webhook_secret: Option<String>,
    pub previous_webhook_expires_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize)]
#[diesel(table_name = enrollments)]
pub struct Enrollment {
    pub id: String,
    pub program_id: String,
    pub user_id: String,
    pub referral_code: String,
    pub tier_code: String,
    pub terms_accepted_version: String,
    #[diesel(deserialize_as = String)]
    pub status: EnrollmentStatus,
    pub enrolled_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub tier_checked_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = clicks_table)]
pub struct Click {
    pub id: String,
    pub program_id: String,
    pub enrollment_id: String,
    pub at: NaiveDateTime,
    pub ip_hash: String,
    pub ua_hash: String,
    pub referrer: Option<String>,
    pub landing: String,
    pub is_bot: bool,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = customers)]
pub struct Customer {
    pub id: String,
    pub program_id: String,
    pub external_id: String,
    pub enrollment_id: String,
    pub click_id: Option<String>,
    pub email: Option<String>,
    pub bound_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = billing_events)]
pub struct BillingEvent {
    pub id: String,
    pub program_id: String,
    pub source: String,
    pub external_event_id: String,
    #[diesel(deserialize_as = String)]
    pub kind: BillingEventKind,
    pub invoice_id: String,
    pub customer_external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub occurred_at: NaiveDateTime,
    pub payload: String,
    pub effect: String,
    pub received_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = commissions)]
pub struct Commission {
    pub id: String,
    pub program_id: String,
    pub enrollment_id: String,
    pub customer_id: String,
    pub billing_event_id: String,
    pub invoice_id: String,
    #[diesel(deserialize_as = String)]
    pub kind: CommissionKind,
    pub base_minor: i64,
    pub rate_bps: i32,
    pub amount_minor: i64,
    pub currency: String,
    #[diesel(deserialize_as = String)]
    pub status: CommissionStatus,
    pub held: bool,
    pub held_reason: Option<String>,
    pub hold_until: NaiveDateTime,
    pub tier_snapshot: String,
    pub payout_id: Option<String>,
    pub reverses_id: Option<String>,
    pub idempotency_key: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = payouts)]
pub struct Payout {
    pub id: String,
    pub program_id: String,
    pub enrollment_id: String,
    pub amount_minor: i64,
    pub currency: String,
    #[diesel(deserialize_as = String)]
    pub status: PayoutStatus,
    pub reference: Option<String>,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
}
