//! Referral use cases. Each takes the connection of the caller's transaction and the current
//! time, except [`ingest_event`] and [`bind_customer_with_retry`], which open their own
//! transactions so a lost unique-key race can be retried (see their docs).
//!
//! One submodule per responsibility; everything public is re-exported here, so callers name
//! `referrals::service::X`.

mod commissions;
mod customers;
mod enrollment;
mod events;
mod payouts;
mod practitioner;
mod programs;
mod recompute;
mod reports;
#[cfg(test)]
mod tests;

use chrono::Duration;

pub use commissions::{approve_due, list_commissions, review_commission, CommissionView, Review};
pub use customers::{
    bind_customer, bind_customer_with_retry, BindOutcome, CustomerInput, CustomerView,
};
pub use enrollment::{
    enroll, enroll_by_reference, set_advocate_status, EnrollInput, Enrollee, EnrollmentView,
};
pub use events::{ingest_event, EventAnswer, EventEffect, EventInput};
pub use payouts::{
    balances, create_payouts, list_payouts, mark_payout_paid, mark_payout_paid_as,
    payout_with_program, payouts_csv, Balance, PayoutView,
};
pub use practitioner::{my_referrals, program_for_visitor, MyEnrollment, MyReferrals, StatusTotal};
pub use programs::{
    find_program, program_of_vendor, program_view, public_program, public_programs,
    rotate_webhook_secret, save_program, tier_names, verify_webhook, webhook_secret, ProgramInput,
    ProgramView, RotatedSecret, TierInput, TierView, WEBHOOK_OVERLAP_DEFAULT, WEBHOOK_OVERLAP_MAX,
};
pub use recompute::{on_credentials_changed, recompute_stale_tiers, NextTierView};
pub use reports::{
    disclosure, funnel, AdvocateFunnel, DisclosureView, FunnelView, PractitionerFunnel,
    YearFigures, DISCLOSURE_MIN_ADVOCATES,
};

/// Webhook timestamps more than this far from the server clock are refused (replay window).
pub const WEBHOOK_TOLERANCE_SECS: i64 = super::webhook::DEFAULT_TOLERANCE_SECS;
/// Billing systems may report the first invoice a little before they bind its customer.
pub const BINDING_GRACE: Duration = Duration::days(1);
/// `occurred_at` may be this far in the future (clock skew between systems), no more.
pub const FUTURE_SKEW: Duration = Duration::minutes(5);

const MAX_DAYS: i64 = 3650;
const MAX_MONTHS: i64 = 1200;
const MAX_ID_LEN: usize = 200;
const MAX_TERMS_TEXT: usize = 20_000;
const CODE_ATTEMPTS: usize = 8;

fn text_ok(value: &str, max: usize) -> bool {
    let trimmed = value.trim();
    !trimmed.is_empty() && trimmed.chars().count() <= max && !trimmed.chars().any(char::is_control)
}
