//! Signed Open Badges 3.0 credentials: byte formats, eddsa-jcs-2022 proofs, did:web, Bitstring
//! Status Lists, sealed issuer keys and the one verification engine (pure: no database, no HTTP);
//! `store` (queries), `service` (use cases in the caller's transaction) and `resolver` (the
//! database-backed resolver, remote `did:web` fetching through `remote`).

pub mod badge;
pub mod did;
pub mod jcs;
pub mod keys;
pub mod multibase;
pub mod proof;
pub mod proof_cache;
pub mod rdfc;
pub mod remote;
pub mod resolver;
pub mod service;
pub mod status_list;
pub mod store;
pub mod summary;
pub mod verify;

use chrono::{DateTime, Utc};

pub use badge::{build_credential, issue_credential, BadgeInput, SignedCredential};
pub use keys::IssuerKey;
pub use service::{
    issue_for_pass, prepare_issue, revoke, CredentialError, IssueContext, IssueRequest,
    PreparedCredential,
};
pub use verify::{
    verify_credential, Check, CheckName, ResolveError, Resolver, StaticResolver, Status,
    Verification,
};

/// The one date-time format in credentials and proofs: `YYYY-MM-DDTHH:MM:SSZ`, whole seconds, UTC.
pub fn format_timestamp(at: DateTime<Utc>) -> String {
    crate::clock::rfc3339_seconds(at.naive_utc())
}
