//! Stripe's events onto the advocate program: customers bound from checkouts, billing events.

use chrono::NaiveDateTime;
use serde_json::json;

use super::events::{outcome, EventOutcome};
use super::SOURCE;
use crate::accounts::Vendor;
use crate::billing::stripe::{self, CheckoutSession};
use crate::billing::BillingError;
use crate::db::DbConn;
use crate::referrals::service::{self as referrals, BindOutcome, CustomerInput, EventInput};
use crate::referrals::ReferralError;

fn program(
    conn: &mut DbConn,
    vendor: &Vendor,
) -> Result<Option<crate::referrals::Program>, BillingError> {
    match referrals::program_of_vendor(conn, vendor) {
        Ok(program) => Ok(Some(program)),
        Err(ReferralError::NotFound(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub(super) fn bind_from_checkout(
    conn: &mut DbConn,
    vendor: &Vendor,
    event: &stripe::Event,
    session: &CheckoutSession,
    now: NaiveDateTime,
) -> Result<EventOutcome, BillingError> {
    let (Some(click), Some(customer)) = (session.click_id(), session.customer_id()) else {
        return Ok(outcome(
            event,
            "ignored",
            "the session names no exam order of this vendor, and no click with a customer",
        ));
    };
    let input = CustomerInput {
        external_id: Some(customer),
        click_id: Some(click),
        referral_code: None,
        email: session.email(),
    };
    match bind(conn, vendor, event, input, now) {
        // client_reference_id may be the vendor's own reference, not a click.
        Err(BillingError::Referral(ReferralError::Validation(errors))) => Ok(outcome(
            event,
            "ignored",
            format!(
                "client_reference_id is neither an exam order nor a click: {}",
                errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )),
        other => other,
    }
}

pub(super) fn bind(
    conn: &mut DbConn,
    vendor: &Vendor,
    event: &stripe::Event,
    input: CustomerInput,
    now: NaiveDateTime,
) -> Result<EventOutcome, BillingError> {
    let Some(program) = program(conn, vendor)? else {
        return Ok(outcome(
            event,
            "ignored",
            "the vendor runs no advocate program",
        ));
    };
    let answer = referrals::bind_customer_with_retry(conn, &program, &input, now)?;
    let (result, detail, view) = match answer {
        BindOutcome::Bound(view) => (
            "bound",
            "customer bound to the click's advocate",
            json!(view),
        ),
        BindOutcome::Existing(view) => (
            "bound",
            "customer was bound before; the first binding stands",
            json!(view),
        ),
        BindOutcome::NotBound {
            external_id,
            reason,
        } => (
            "not_bound",
            "nothing bound",
            json!({"bound": false, "external_id": external_id, "reason": reason}),
        ),
    };
    Ok(EventOutcome {
        referral: Some(view),
        ..outcome(event, result, detail)
    })
}

pub(super) fn referral_event(
    conn: &mut DbConn,
    vendor: &Vendor,
    event: &stripe::Event,
    input: EventInput,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventOutcome, BillingError> {
    let Some(program) = program(conn, vendor)? else {
        return Ok(outcome(
            event,
            "ignored",
            "the vendor runs no advocate program",
        ));
    };
    if input.customer_external_id.is_none() {
        return Ok(outcome(event, "ignored", "the event names no customer"));
    }
    let input = EventInput {
        source: Some(SOURCE.into()),
        external_event_id: Some(event.id.clone()),
        ..input
    };
    let answer = referrals::ingest_event(conn, &program, &input, payload, now)?;
    let replayed = answer.replayed;
    Ok(EventOutcome {
        replayed,
        referral: Some(json!(answer)),
        ..outcome(
            event,
            "referral_event",
            format!(
                "{} event of the advocate program",
                input.kind.unwrap_or_default()
            ),
        )
    })
}
