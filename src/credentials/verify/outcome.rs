//! What a verification answers: the checks in their fixed order, each passed, failed, unconfirmed or not run,
//! and the overall status by precedence.

use serde::Serialize;

/// The outcome of a verification. Fails closed: anything that cannot be checked is
/// `could_not_check`, never `valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VerificationStatus)]
pub enum Status {
    Valid,
    Expired,
    Revoked,
    NotYetValid,
    Invalid,
    CouldNotCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Format,
    Proof,
    VerificationMethod,
    Controller,
    Validity,
    Status,
}

pub(super) const CHECK_ORDER: [CheckName; 6] = [
    CheckName::Format,
    CheckName::Proof,
    CheckName::VerificationMethod,
    CheckName::Controller,
    CheckName::Validity,
    CheckName::Status,
];

/// One check of a verification and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: CheckName,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: Status,
    pub checks: Vec<Check>,
    /// What a reader should weigh although every check passed (an unconfirmed issuer binding).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub credential_id: Option<String>,
    /// A proof could not be checked because canonicalizing the credential would take more work
    /// than the bounds allow (a poison graph): the API refuses such input as a client error.
    #[serde(skip)]
    pub too_complex: bool,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.status == Status::Valid
    }

    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// A failed check's effect on the overall status; ordered by precedence (highest last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Failure {
    NotYetValid,
    Expired,
    Revoked,
    CouldNotCheck,
    Invalid,
}

impl Failure {
    pub(super) fn status(self) -> Status {
        match self {
            Failure::NotYetValid => Status::NotYetValid,
            Failure::Expired => Status::Expired,
            Failure::Revoked => Status::Revoked,
            Failure::CouldNotCheck => Status::CouldNotCheck,
            Failure::Invalid => Status::Invalid,
        }
    }
}

#[derive(Debug)]
pub(super) enum Verdict {
    Pass,
    /// Passed, but with nothing to confirm it against: reported as a warning.
    Unconfirmed,
    Fail(Failure),
    NotRun,
}

pub(super) type Outcome = (Verdict, String);

pub(super) fn pass(detail: impl Into<String>) -> Outcome {
    (Verdict::Pass, detail.into())
}

pub(super) fn fail(failure: Failure, detail: impl Into<String>) -> Outcome {
    (Verdict::Fail(failure), detail.into())
}

pub(super) fn not_run(reason: &str) -> Outcome {
    (Verdict::NotRun, format!("not checked: {reason}"))
}
