//! Audit trail: an append-only record of every privileged act — who (a person, a vendor API key,
//! the operator's command line or the system), when, what, on which subject, from which address.
//!
//! Use cases call [`record`] with the caller's [`Actor`] inside the transaction of the act, so an
//! act and its row commit together or not at all. Nothing updates or deletes rows (a test greps
//! the source; triggers refuse it in both dialects). `store` reads the trail for the console, the
//! API, CSV export and `credo audit list`.

pub mod store;

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::db::text_enum::text_enum;
use crate::db::{DbConn, DbError};
use crate::spreadsheet::csv_cell;
pub use store::EventView;

/// Rows per page on the console, in the API and by default in `credo audit list`.
pub const PAGE_SIZE: i64 = 50;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("writing the CSV export: {0}")]
    Export(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for AuditError {
    fn from(e: diesel::result::Error) -> Self {
        AuditError::Db(DbError::Query(e))
    }
}

text_enum! {
    /// What kind of caller acted (`audit_events.actor_kind`).
    #[derive(utoipa::ToSchema)]
    pub enum ActorKind("audit actor kind") {
        User = "user",
        ApiKey = "api_key",
        OperatorCli = "operator_cli",
        System = "system",
    }
}

/// Who acts, and from where. Built once per request by `http::auth::actor` (a person or an API
/// key plus the client address), by the CLI ([`Actor::operator_cli`]) or by jobs and the demo
/// seeding ([`Actor::system`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user id or API key id; the operator's login name for the CLI; none for the system.
    pub id: Option<String>,
    /// What a reader of the trail recognizes: `Name <email>`, the key's name, the command.
    pub display: String,
    /// The client's network address (HTTP only).
    pub address: Option<String>,
}

impl Actor {
    pub fn user(id: &str, display_name: &str, email: &str, address: Option<String>) -> Self {
        Actor {
            kind: ActorKind::User,
            id: Some(id.to_string()),
            display: format!("{display_name} <{email}>"),
            address,
        }
    }

    pub fn api_key(key_id: &str, key_name: &str, address: Option<String>) -> Self {
        Actor {
            kind: ActorKind::ApiKey,
            id: Some(key_id.to_string()),
            display: format!("API key “{key_name}”"),
            address,
        }
    }

    /// The operator running `command` (e.g. `credo keys rotate`) on the server; the login name
    /// comes from `$USER` when the shell sets it.
    pub fn operator_cli(command: &str) -> Self {
        Actor {
            kind: ActorKind::OperatorCli,
            id: std::env::var("USER").ok().filter(|u| !u.is_empty()),
            display: command.to_string(),
            address: None,
        }
    }

    /// Credo itself: a background job or the demo seeding, named by `what`.
    pub fn system(what: &str) -> Self {
        Actor {
            kind: ActorKind::System,
            id: None,
            display: what.to_string(),
            address: None,
        }
    }

    /// The person acting, for the tables' `…_by` columns (none for keys, the CLI and jobs).
    pub fn user_id(&self) -> Option<&str> {
        match self.kind {
            ActorKind::User => self.id.as_deref(),
            _ => None,
        }
    }
}

/// Every kind of privileged act. Stored as text (`as_str`); the set is closed here so the trail
/// can be read and filtered reliably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    VendorCreated,
    StaffAdded,
    /// For the staff lifecycle (removing a member).
    StaffRemoved,
    /// For the staff lifecycle (changing a member's role).
    StaffRoleChanged,
    /// For the account lifecycle (an operator disables an account).
    AccountDisabled,
    /// For the account lifecycle (an operator enables an account again).
    AccountEnabled,
    ApiKeyCreated,
    ApiKeyRevoked,
    SigningKeyRotated,
    /// The vendor's credential settings (the cryptosuite of new credentials) changed.
    CredentialSettingsChanged,
    /// For webhook secret rotation.
    WebhookSecretRotated,
    /// A bank upload stored as a draft version.
    BankVersionImported,
    BankVersionPublished,
    BankVersionUnpublished,
    BankVersionRetired,
    ExamSettingsChanged,
    VouchersIssued,
    OrderCreated,
    OrderMarkedPaid,
    CredentialRevoked,
    ProgramChanged,
    AdvocateStatusChanged,
    CommissionHoldCleared,
    CommissionApproved,
    CommissionRejected,
    PayoutsCreated,
    PayoutMarkedPaid,
    /// Outbound webhooks: an endpoint registered, its secret rotated, deleted; a delivery resent.
    WebhookEndpointCreated,
    WebhookEndpointSecretRotated,
    WebhookEndpointDeleted,
    WebhookDeliveryResent,
    /// The vendor's Stripe signing secret was set or replaced.
    StripeSettingsChanged,
}

impl Action {
    pub const ALL: [Action; 32] = [
        Action::VendorCreated,
        Action::StaffAdded,
        Action::StaffRemoved,
        Action::StaffRoleChanged,
        Action::AccountDisabled,
        Action::AccountEnabled,
        Action::ApiKeyCreated,
        Action::ApiKeyRevoked,
        Action::SigningKeyRotated,
        Action::CredentialSettingsChanged,
        Action::WebhookSecretRotated,
        Action::BankVersionImported,
        Action::BankVersionPublished,
        Action::BankVersionUnpublished,
        Action::BankVersionRetired,
        Action::ExamSettingsChanged,
        Action::VouchersIssued,
        Action::OrderCreated,
        Action::OrderMarkedPaid,
        Action::CredentialRevoked,
        Action::ProgramChanged,
        Action::AdvocateStatusChanged,
        Action::CommissionHoldCleared,
        Action::CommissionApproved,
        Action::CommissionRejected,
        Action::PayoutsCreated,
        Action::PayoutMarkedPaid,
        Action::WebhookEndpointCreated,
        Action::WebhookEndpointSecretRotated,
        Action::WebhookEndpointDeleted,
        Action::WebhookDeliveryResent,
        Action::StripeSettingsChanged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::VendorCreated => "vendor.created",
            Action::StaffAdded => "staff.added",
            Action::StaffRemoved => "staff.removed",
            Action::StaffRoleChanged => "staff.role_changed",
            Action::AccountDisabled => "account.disabled",
            Action::AccountEnabled => "account.enabled",
            Action::ApiKeyCreated => "api_key.created",
            Action::ApiKeyRevoked => "api_key.revoked",
            Action::SigningKeyRotated => "signing_key.rotated",
            Action::CredentialSettingsChanged => "credential_settings.changed",
            Action::WebhookSecretRotated => "webhook_secret.rotated",
            Action::BankVersionImported => "bank.version_imported",
            Action::BankVersionPublished => "bank.version_published",
            Action::BankVersionUnpublished => "bank.version_unpublished",
            Action::BankVersionRetired => "bank.version_retired",
            Action::ExamSettingsChanged => "exam.settings_changed",
            Action::VouchersIssued => "vouchers.issued",
            Action::OrderCreated => "order.created",
            Action::OrderMarkedPaid => "order.marked_paid",
            Action::CredentialRevoked => "credential.revoked",
            Action::ProgramChanged => "program.changed",
            Action::AdvocateStatusChanged => "advocate.status_changed",
            Action::CommissionHoldCleared => "commission.hold_cleared",
            Action::CommissionApproved => "commission.approved",
            Action::CommissionRejected => "commission.rejected",
            Action::PayoutsCreated => "payouts.created",
            Action::PayoutMarkedPaid => "payout.marked_paid",
            Action::WebhookEndpointCreated => "webhook_endpoint.created",
            Action::WebhookEndpointSecretRotated => "webhook_endpoint.secret_rotated",
            Action::WebhookEndpointDeleted => "webhook_endpoint.deleted",
            Action::WebhookDeliveryResent => "webhook_delivery.resent",
            Action::StripeSettingsChanged => "stripe_settings.changed",
        }
    }

    /// What the subject id names.
    pub fn subject_type(self) -> &'static str {
        match self {
            Action::VendorCreated
            | Action::CredentialSettingsChanged
            | Action::StripeSettingsChanged => "vendor",
            Action::StaffAdded | Action::StaffRemoved | Action::StaffRoleChanged => "user",
            Action::AccountDisabled | Action::AccountEnabled => "user",
            Action::ApiKeyCreated | Action::ApiKeyRevoked => "api_key",
            Action::SigningKeyRotated => "signing_key",
            Action::WebhookSecretRotated | Action::ProgramChanged | Action::PayoutsCreated => {
                "program"
            }
            Action::BankVersionImported
            | Action::BankVersionPublished
            | Action::BankVersionUnpublished
            | Action::BankVersionRetired => "exam_version",
            Action::ExamSettingsChanged => "exam",
            Action::VouchersIssued => "voucher_batch",
            Action::OrderCreated | Action::OrderMarkedPaid => "order",
            Action::CredentialRevoked => "credential",
            Action::AdvocateStatusChanged => "enrollment",
            Action::CommissionHoldCleared
            | Action::CommissionApproved
            | Action::CommissionRejected => "commission",
            Action::PayoutMarkedPaid => "payout",
            Action::WebhookEndpointCreated
            | Action::WebhookEndpointSecretRotated
            | Action::WebhookEndpointDeleted => "webhook_endpoint",
            Action::WebhookDeliveryResent => "webhook_delivery",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Action::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Appends one row to the trail. Call it inside the transaction of the act it records.
/// `vendor_id` is `None` for site-wide acts; `details` says what changed (never a secret).
pub fn record(
    conn: &mut DbConn,
    actor: &Actor,
    action: Action,
    vendor_id: Option<&str>,
    subject_id: &str,
    details: Value,
    now: NaiveDateTime,
) -> diesel::QueryResult<()> {
    store::insert(
        conn,
        &store::NewEvent {
            vendor_id,
            actor,
            action,
            subject_id,
            details: &details,
        },
        now,
    )
}

/// One page of a trail, newest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AuditPage)]
pub struct Page {
    pub events: Vec<EventView>,
    /// 1-based.
    pub page: i64,
    pub pages: i64,
    pub total: i64,
    pub per_page: i64,
}

/// Page `page` (1-based; past the end gives no events) of one vendor's trail, or of the whole
/// site's with `None` (operators).
pub fn read_page(
    conn: &mut DbConn,
    vendor_id: Option<&str>,
    page: i64,
    per_page: i64,
) -> Result<Page, AuditError> {
    let page = page.max(1);
    let per_page = per_page.clamp(1, 1000);
    let total = store::count(conn, vendor_id)?;
    let events = store::page(
        conn,
        vendor_id,
        per_page,
        (page - 1).saturating_mul(per_page),
    )?;
    Ok(Page {
        events,
        page,
        pages: (total + per_page - 1) / per_page,
        total,
        per_page,
    })
}

/// The whole trail (one vendor's or, with `None`, the site's) as CSV, newest first.
pub fn csv(conn: &mut DbConn, vendor_id: Option<&str>) -> Result<String, AuditError> {
    let events = store::page(conn, vendor_id, i64::MAX, 0)?;
    let export = |e: csv::Error| AuditError::Export(e.to_string());
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record([
            "at",
            "vendor_id",
            "actor_kind",
            "actor_id",
            "actor",
            "client_address",
            "action",
            "subject_type",
            "subject_id",
            "details",
        ])
        .map_err(export)?;
    for e in events {
        writer
            .write_record([
                e.at,
                e.vendor_id.unwrap_or_default(),
                e.actor_kind.to_string(),
                e.actor_id.unwrap_or_default(),
                csv_cell(&e.actor_display),
                e.client_address.unwrap_or_default(),
                e.action,
                e.subject_type,
                e.subject_id,
                csv_cell(&e.details.to_string()),
            ])
            .map_err(export)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AuditError::Export(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| AuditError::Export(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for action in Action::ALL {
            assert!(seen.insert(action.as_str()), "{} twice", action.as_str());
            assert_eq!(Action::parse(action.as_str()), Some(action));
            assert!(!action.subject_type().is_empty());
        }
        assert_eq!(Action::parse("vendor.deleted"), None);
    }

    #[test]
    fn only_people_fill_the_by_columns() {
        let person = Actor::user("u1", "Ada", "ada@example.org", Some("10.0.0.1".into()));
        assert_eq!(person.user_id(), Some("u1"));
        assert_eq!(person.display, "Ada <ada@example.org>");
        assert_eq!(Actor::api_key("k1", "ci", None).user_id(), None);
        assert_eq!(Actor::system("job").user_id(), None);
        assert_eq!(Actor::operator_cli("credo keys rotate").user_id(), None);
    }
}
