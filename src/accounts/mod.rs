//! Accounts: people, vendors and their staff, sessions, API keys, e-mail verification and
//! password reset. Pure rules live in `password` and `session`; `store` is the only place that
//! touches the tables; `service` holds the use cases, each run inside one transaction;
//! `session_cache` remembers checked sessions, and the store makes it forget revoked ones.

pub mod password;
pub mod scopes;
pub mod service;
pub mod session;
pub mod session_cache;
pub mod store;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{api_keys, users, vendor_members, vendors};
use crate::db::text_enum::text_enum;
use crate::db::DbError;
use crate::validation::FieldError;

pub use scopes::{Scope, Scopes};
pub use service::*;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("wrong e-mail address or password")]
    InvalidCredentials,
    #[error("confirm your e-mail address first: follow the link we mailed you")]
    EmailNotVerified,
    #[error("this account is disabled; ask the site's operator to enable it again")]
    AccountDisabled,
    #[error("sign in first")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A rate limit refused the attempt: allowed again after this long.
    #[error("too many attempts")]
    TooMany(std::time::Duration),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// Hashing was busy or failed (policy problems are `Validation`).
    #[error(transparent)]
    Password(password::PasswordError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<password::PasswordError> for AccountError {
    fn from(e: password::PasswordError) -> Self {
        match e {
            password::PasswordError::Policy(message) => {
                AccountError::Validation(crate::validation::field_error("password", message))
            }
            other => AccountError::Password(other),
        }
    }
}

impl From<diesel::result::Error> for AccountError {
    fn from(e: diesel::result::Error) -> Self {
        AccountError::Db(DbError::Query(e))
    }
}

#[derive(Queryable, Selectable, Identifiable, Clone)]
#[diesel(table_name = users)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub password_hash: String,
    pub is_operator: bool,
    pub email_verified_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub disabled_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for User {
    // The password hash stays out of every log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("is_operator", &self.is_operator)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Identifiable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = vendors)]
pub struct Vendor {
    pub id: String,
    pub slug: String,
    pub name: String,
    pub url: String,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = vendor_members)]
pub struct VendorMember {
    pub id: String,
    pub vendor_id: String,
    pub user_id: String,
    pub role: String,
    pub created_at: NaiveDateTime,
}

/// A vendor API key as listed (never the key itself).
#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    pub id: String,
    pub vendor_id: String,
    pub name: String,
    #[serde(skip)]
    pub key_hash: String,
    /// The user who created it.
    pub created_by: Option<String>,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339_opt")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::clock::serialize_rfc3339_opt")]
    pub revoked_at: Option<NaiveDateTime>,
    /// Stored as names separated by spaces; answered as a list.
    #[serde(serialize_with = "scopes::serialize_stored")]
    #[schema(value_type = Vec<Scope>)]
    pub scopes: String,
}

text_enum! {
    /// Staff roles within one vendor. An owner may do everything the other roles may.
    #[derive(utoipa::ToSchema)]
    pub enum VendorRole("vendor role") {
        Owner = "owner",
        Examiner = "examiner",
        ProgramManager = "program_manager",
    }
}

/// A vendor role held by a signed-in person.
#[derive(Debug, Clone, Serialize, Queryable)]
pub struct Membership {
    pub vendor_id: String,
    pub vendor_slug: String,
    pub vendor_name: String,
    #[diesel(deserialize_as = String)]
    pub role: VendorRole,
}

/// The person behind a valid session.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub is_operator: bool,
    pub session_id: String,
    pub memberships: Vec<Membership>,
}

impl SessionUser {
    /// Whether this person may act as `role` for the vendor: operators and the vendor's owners
    /// always may, other staff only in their own role.
    pub fn has_vendor_role(&self, vendor_id: &str, role: VendorRole) -> bool {
        self.is_operator
            || self.memberships.iter().any(|m| {
                m.vendor_id == vendor_id && (m.role == role || m.role == VendorRole::Owner)
            })
    }

    /// Whether this person may open the vendor's console at all (any staff role).
    pub fn is_staff_of(&self, vendor_id: &str) -> bool {
        self.is_operator || self.memberships.iter().any(|m| m.vendor_id == vendor_id)
    }

    /// The roles this person holds at the vendor; operators act as owners of every vendor.
    pub fn roles_at(&self, vendor_id: &str) -> Vec<VendorRole> {
        if self.is_operator {
            return vec![VendorRole::Owner];
        }
        self.memberships
            .iter()
            .filter(|m| m.vendor_id == vendor_id)
            .map(|m| m.role)
            .collect()
    }

    /// Operators and vendor staff see the vendor console.
    pub fn is_staff(&self) -> bool {
        self.is_operator || !self.memberships.is_empty()
    }
}

/// A vendor API key presented as a bearer token.
#[derive(Debug, Clone)]
pub struct ApiKeyCaller {
    pub key_id: String,
    pub vendor_id: String,
    pub scopes: Scopes,
    /// The name its owner gave the key (shown in the audit trail).
    pub name: String,
}

/// Who is calling: a person with a session, or a vendor's system with an API key.
#[derive(Debug, Clone)]
pub enum Principal {
    User(SessionUser),
    ApiKey(ApiKeyCaller),
}
