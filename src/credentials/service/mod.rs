//! Credential use cases. Each takes the caller's connection and `now`, and runs inside the
//! caller's one transaction (grading calls [`issue_for_pass`] inside its own).
//!
//! Lost races for a unique key (first key of a vendor, a new status list, a status index) are
//! retried inside a savepoint (`db::transaction` nests), so the caller's transaction survives
//! them on PostgreSQL too.

mod issuer_keys;
mod issuing;
mod reminders;
mod revoking;
mod status_lists;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chrono::NaiveDateTime;

use crate::credentials::badge::BadgeError;
use crate::credentials::did::DidError;
use crate::credentials::keys::{KeyError, MasterKey};
use crate::credentials::status_list::{self, StatusListError};
use crate::credentials::store;
use crate::db::{DbConn, DbError};
use crate::links::Links;
use crate::validation::FieldError;

pub use issuer_keys::{
    cryptosuite, did_document, find_vendor_by_slug, instance_did, instance_did_document,
    issuer_did, list_instance_keys, list_keys, rotate_instance_key, rotate_key, set_cryptosuite,
    signing_key, KeyInfo, OpenedKeys,
};
pub use issuing::{format_score, issue_for_pass, prepare_issue, PreparedCredential};
pub use reminders::send_expiry_reminders;
pub use revoking::{
    achievement_name, credential_state, revoke, stored_status, validate_reason, CredentialState,
};

/// Slots per status list (the spec's minimum, for herd privacy).
pub const LIST_SIZE: i32 = status_list::MIN_BITS as i32;
/// New credentials go to a fresh list once this many slots of the current one are taken, so a
/// random free index is found in a few tries and indexes stay unpredictable.
pub const LIST_CAPACITY: i32 = LIST_SIZE / 4 * 3;
/// Longest revocation reason.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the issuer key cannot be used: {0}")]
    Key(#[from] KeyError),
    #[error("the issuer identifier cannot be built: {0}")]
    Did(#[from] DidError),
    #[error("the credential cannot be built: {0}")]
    Badge(#[from] BadgeError),
    #[error("the status list cannot be built: {0}")]
    StatusList(#[from] StatusListError),
    #[error("updating what follows a person's credentials failed: {0}")]
    OnChange(#[source] HookError),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CredentialError {
    fn from(e: diesel::result::Error) -> Self {
        CredentialError::Db(DbError::Query(e))
    }
}

/// A person's current credentials of a vendor changed (one was issued or revoked).
#[derive(Debug, Clone, Copy)]
pub struct CredentialsChanged<'a> {
    pub user_id: &'a str,
    pub vendor_id: &'a str,
    pub reason: &'a str,
    pub at: NaiveDateTime,
}

pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Runs inside the issuing or revoking transaction (an error rolls the change back). The
/// application wires the referral tiers here, so this domain never calls referrals, which reads
/// credentials. Expiry is the referral job's business.
pub type ChangeHook =
    dyn Fn(&mut DbConn, &CredentialsChanged<'_>) -> Result<(), HookError> + Send + Sync;

/// What issuing and revoking need from the application state (see `AppState::issue_context`).
#[derive(Clone)]
pub struct IssueContext {
    pub links: Links,
    pub master_key: MasterKey,
    pub opened_keys: Arc<OpenedKeys>,
    pub status_list_ttl_seconds: u32,
    pub on_change: Arc<ChangeHook>,
}

impl IssueContext {
    fn credentials_changed(
        &self,
        conn: &mut DbConn,
        user_id: &str,
        vendor_id: &str,
        reason: &str,
        at: NaiveDateTime,
    ) -> Result<(), CredentialError> {
        let change = CredentialsChanged {
            user_id,
            vendor_id,
            reason,
            at,
        };
        (self.on_change)(conn, &change).map_err(CredentialError::OnChange)
    }
}

impl std::fmt::Debug for IssueContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueContext")
            .field("base", &self.links.base().as_str())
            .finish_non_exhaustive()
    }
}

/// A passed attempt to certify, as grading knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    pub attempt_id: String,
    pub user_id: String,
    pub vendor_id: String,
    pub exam_id: String,
    pub exam_slug: String,
    pub exam_title: String,
    /// Markdown; the achievement description (the title when empty).
    pub exam_description: String,
    pub pass_percent: i32,
    /// The score in basis points of the whole (10000 = 100 %).
    pub score_bp: i32,
    /// 0 = the credential never expires.
    pub validity_months: i32,
    /// The exam that renews this exam's certificate (`exams.renewal_exam_slug`). Superseding
    /// reads the reverse direction from storage: passing exam X supersedes the person's current
    /// credentials for X and for every exam of the vendor whose renewal exam is X.
    pub renewal_exam_slug: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Referral tiers

/// Slugs of the vendor's exams for which the person holds a credential current at `at`:
/// `valid_from ≤ at < valid_until` (or no expiry) and not revoked at `at`. A superseded
/// credential still counts until it expires (it stays valid; the renewal is also current).
pub fn current_exam_slugs(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    at: NaiveDateTime,
) -> diesel::QueryResult<Vec<String>> {
    store::current_exam_slugs(conn, user_id, vendor_id, at)
}
