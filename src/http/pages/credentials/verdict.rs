//! The verdict of a verification as pages show it, shared by `/c/{id}` and `/verify`.

use chrono::DateTime;
use serde_json::Value;

use super::certificate::long_date;
use crate::app::AppState;
use crate::credentials::resolver::{StoredFacts, VerifyReport};
use crate::credentials::verify::{CheckName, Status};

pub struct CheckView {
    pub label: &'static str,
    pub ok: bool,
    /// The check did not run (an earlier one failed): shown neutral, not as a failure.
    pub not_checked: bool,
    pub detail: String,
}

/// Whom and what a verified credential is about (the verify page), as it states them.
pub struct FactsView {
    pub holder: String,
    pub achievement: String,
    pub issuer_name: String,
    /// The issuer's profile page here, for a vendor hosted here.
    pub issuer_profile: Option<String>,
    pub issued: String,
    pub expires: Option<String>,
    /// The certificate page, when the credential was issued here.
    pub page: Option<String>,
}

impl FactsView {
    /// The facts of a credential whose signature verified; `None` otherwise.
    pub(super) fn of(state: &AppState, report: &VerifyReport, vc: &Value) -> Option<Self> {
        let summary = report.verified_summary(vc)?;
        let date = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| long_date(&t))
        };
        Some(Self {
            issuer_profile: state.verifier.local.issuer_profile(&state.links, &summary),
            holder: summary
                .holder
                .unwrap_or_else(|| "(name not disclosed)".into()),
            achievement: summary.achievement.unwrap_or_default(),
            issuer_name: summary
                .issuer
                .name
                .or(summary.issuer.id)
                .unwrap_or_default(),
            issued: date(&summary.valid_from).unwrap_or_default(),
            expires: date(&summary.valid_until),
            page: report.stored.as_ref().map(|s| s.page.clone()),
        })
    }
}

pub struct VerdictView {
    /// The status code, also the CSS class: valid, revoked, expired, not_yet_valid, invalid,
    /// could_not_check.
    pub status: &'static str,
    pub heading: String,
    pub summary: String,
    pub checks: Vec<CheckView>,
    pub superseded_by_page: Option<String>,
    /// Said plainly on the page: a credential of another issuer was checked with that issuer's
    /// own keys (did:key, or did:web over HTTPS), not against anything stored here.
    pub issuer_hosted_here: bool,
    /// What to weigh although every check passed (an issuer URL not bound to its key).
    pub warnings: Vec<String>,
    /// Holder, achievement, issuer and dates (the verify page; the certificate page shows them
    /// itself).
    pub facts: Option<FactsView>,
}

fn check_label(name: CheckName) -> &'static str {
    match name {
        CheckName::Format => "Credential format",
        CheckName::Proof => "Signature",
        CheckName::VerificationMethod => "Signing key listed by the issuer",
        CheckName::Controller => "Key controlled by the issuer",
        CheckName::Validity => "Validity dates",
        CheckName::Status => "Revocation status",
    }
}

fn status_code(status: Status) -> &'static str {
    match status {
        Status::Valid => "valid",
        Status::Expired => "expired",
        Status::Revoked => "revoked",
        Status::NotYetValid => "not_yet_valid",
        Status::Invalid => "invalid",
        Status::CouldNotCheck => "could_not_check",
    }
}

/// "Revoked on <date>: <reason>" from what storage knows of a credential issued here; of another
/// issuer's credential only its status list is known, which says nothing of when or why.
fn revocation_summary(stored: Option<&StoredFacts>) -> String {
    let date = stored
        .and_then(|s| s.revoked_at.as_deref())
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| long_date(&t));
    match (date, stored.and_then(|s| s.revocation_reason.as_deref())) {
        (Some(date), Some(reason)) => format!("Revoked on {date}: {reason}"),
        (Some(date), None) => format!("Revoked on {date}."),
        (None, _) => "The issuer revoked this credential.".to_string(),
    }
}

impl VerdictView {
    pub(super) fn from_report(report: &VerifyReport) -> Self {
        let v = &report.verification;
        let failing = v
            .checks
            .iter()
            .find(|c| !c.ok && !c.detail.starts_with("not checked"));
        let stored = report.stored.as_ref();
        let (heading, summary) = match v.status {
            Status::Valid => (
                "Valid".to_string(),
                "Every check passed: the signature, the issuer's key, the dates and the revocation status."
                    .to_string(),
            ),
            Status::Revoked => ("Revoked".to_string(), revocation_summary(stored)),
            Status::Expired => (
                "Expired".to_string(),
                failing.map_or_else(String::new, |c| format!("This credential {}.", c.detail)),
            ),
            Status::NotYetValid => (
                "Not yet valid".to_string(),
                failing.map_or_else(String::new, |c| format!("This credential is {}.", c.detail)),
            ),
            Status::Invalid => (
                match failing {
                    Some(c) => format!("Invalid: {}", check_label(c.name).to_lowercase()),
                    None => "Invalid".to_string(),
                },
                failing.map_or_else(String::new, |c| c.detail.clone()),
            ),
            Status::CouldNotCheck => (
                "Could not check".to_string(),
                match failing {
                    Some(c) => format!(
                        "{} could not be checked: {}. Nothing that cannot be checked is reported as valid.",
                        check_label(c.name),
                        c.detail
                    ),
                    None => "Some checks could not run. Nothing that cannot be checked is reported as valid."
                        .to_string(),
                },
            ),
        };
        Self {
            status: status_code(v.status),
            heading,
            summary,
            checks: v
                .checks
                .iter()
                .map(|c| CheckView {
                    label: check_label(c.name),
                    ok: c.ok,
                    not_checked: !c.ok && c.detail.starts_with("not checked"),
                    detail: c.detail.clone(),
                })
                .collect(),
            superseded_by_page: stored.and_then(|s| s.superseded_by_page.clone()),
            issuer_hosted_here: report.issuer_hosted_here,
            warnings: v.warnings.clone(),
            facts: None,
        }
    }
}
