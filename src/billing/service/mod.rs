//! The Stripe use cases. Settings changes run in the caller's transaction (`AppState::tx`);
//! [`handle_event`] opens its own (call it through `AppState::db`), because the advocate
//! program's ingestion (`referrals::service::ingest_event`) retries in fresh transactions.
//!
//! Decisions (docs/stripe.md): a session pays the pending order named by `client_reference_id`
//! when amount and currency equal the order's (the exam's price when the checkout started),
//! otherwise the order is held for review; a full refund marks the order refunded, which withdraws
//! the entitlement if no attempt used it (an attempt already taken, and its credential, stand); a
//! partial refund changes nothing. Exam payments never reach the advocate program: refunds are
//! matched to exam orders first, and only events without an exam order are mapped to referral
//! events.

mod advocate;
mod checkout;
mod console;
mod events;
mod settings;

pub use checkout::{
    checkout_settings, sells_online, set_checkout, start_checkout, CheckoutInput, CheckoutStart,
    CheckoutView,
};
pub use console::{console, ExamCheckoutRow, StripeConsole};
pub use events::{handle_event, EventOutcome};
pub use settings::{set_secret, stripe_view, verify, SecretInput, StripeView};

/// The `source` of billing events mapped from Stripe.
pub const SOURCE: &str = "stripe";
