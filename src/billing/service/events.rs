//! Stripe's events onto exam orders: paid, refunded, or held for review, once per event id.

use chrono::NaiveDateTime;
use serde::Serialize;

use super::advocate::{bind, bind_from_checkout, referral_event};
use crate::accounts::Vendor;
use crate::billing::store::{self, StripeEvent};
use crate::billing::stripe::{self, CheckoutSession, Parsed};
use crate::billing::BillingError;
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::store as exam_store;
use crate::exams::{ExamError, OrderProvider, OrderStatus};
use crate::money::format_amount;
use crate::referrals::service::{CustomerInput, EventInput};
use crate::referrals::BillingEventKind;

/// What Credo did with an event (the webhook's 200 answer).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StripeEventOutcome)]
pub struct EventOutcome {
    pub event: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// `paid`, `held`, `refunded`, `partial_refund`, `not_paid`, `duplicate_payment`, `bound`,
    /// `not_bound`, `referral_event` or `ignored`.
    pub outcome: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The event was received before; nothing changed now.
    pub replayed: bool,
    /// The advocate program's answer (binding or billing event), when the event went there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub referral: Option<serde_json::Value>,
}

pub(super) fn outcome(
    event: &stripe::Event,
    outcome: &str,
    detail: impl Into<String>,
) -> EventOutcome {
    EventOutcome {
        event: event.id.clone(),
        kind: event.kind.clone(),
        outcome: outcome.into(),
        detail: detail.into(),
        order: None,
        replayed: false,
        referral: None,
    }
}

fn stored_outcome(stored: StripeEvent) -> EventOutcome {
    EventOutcome {
        event: stored.event_id,
        kind: stored.event_type,
        outcome: stored.outcome,
        detail: stored.detail,
        order: stored.order_id,
        replayed: true,
        referral: None,
    }
}

/// Applies one verified event. Exam orders change in one transaction per event, claimed by the
/// event id (a repeat, even concurrent, changes nothing); advocate-program events go through
/// `referrals::service`, idempotent by `(program, "stripe", event id)`.
pub fn handle_event(
    conn: &mut DbConn,
    vendor: &Vendor,
    event: &stripe::Event,
    parsed: &Parsed,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventOutcome, BillingError> {
    match parsed {
        Parsed::CheckoutCompleted(session) => {
            if let Some(order) = session
                .client_reference_id
                .as_deref()
                .map(|r| exam_order(conn, vendor, r))
                .transpose()?
                .flatten()
            {
                return once(conn, vendor, event, now, |c| {
                    pay_order(c, session, &order, now)
                });
            }
            bind_from_checkout(conn, vendor, event, session, now)
        }
        Parsed::ChargeRefunded {
            charge,
            refunded_now,
        } => {
            let order = match charge.payment_intent() {
                Some(pi) => exam_store::order_by_reference(conn, OrderProvider::Stripe, &pi)?
                    .filter(|o| order_of_vendor(conn, vendor, o).unwrap_or(false)),
                None => None,
            };
            if let Some(order) = order {
                return once(conn, vendor, event, now, |c| {
                    refund_order(c, charge.refunded, &order)
                });
            }
            if *refunded_now <= 0 {
                return Ok(outcome(
                    event,
                    "ignored",
                    "no amount was refunded by this event",
                ));
            }
            let Some(invoice) = charge.invoice_id() else {
                return Ok(outcome(
                    event,
                    "ignored",
                    "the charge pays no exam order and names no invoice",
                ));
            };
            referral_event(
                conn,
                vendor,
                event,
                EventInput {
                    kind: Some(BillingEventKind::Refund.into()),
                    invoice_id: Some(invoice),
                    customer_external_id: charge.customer_id(),
                    amount_minor: Some(*refunded_now),
                    currency: Some(stripe::currency_code(&charge.currency)),
                    occurred_at: Some(unix_rfc3339(event.created, now)),
                    ..EventInput::default()
                },
                payload,
                now,
            )
        }
        Parsed::CustomerCreated(customer) => {
            let Some(click) = customer.click_id() else {
                return Ok(outcome(
                    event,
                    "ignored",
                    format!("the customer has no metadata.{}", stripe::CLICK_METADATA),
                ));
            };
            bind(
                conn,
                vendor,
                event,
                CustomerInput {
                    external_id: Some(customer.id.clone()),
                    click_id: Some(click),
                    referral_code: None,
                    email: customer.email.clone(),
                },
                now,
            )
        }
        Parsed::InvoicePaid(invoice) => {
            if invoice.amount_paid <= 0 {
                return Ok(outcome(event, "ignored", "nothing was paid on the invoice"));
            }
            referral_event(
                conn,
                vendor,
                event,
                EventInput {
                    kind: Some(BillingEventKind::InvoicePaid.into()),
                    invoice_id: Some(invoice.id.clone()),
                    customer_external_id: invoice.customer_id(),
                    amount_minor: Some(invoice.amount_paid),
                    currency: Some(stripe::currency_code(&invoice.currency)),
                    occurred_at: Some(unix_rfc3339(invoice.paid_at(), now)),
                    ..EventInput::default()
                },
                payload,
                now,
            )
        }
        Parsed::Ignored => Ok(outcome(
            event,
            "ignored",
            "Credo does not use this event type",
        )),
    }
}

fn unix_rfc3339(seconds: i64, fallback: NaiveDateTime) -> String {
    let at = chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| t.naive_utc())
        .filter(|t| *t <= fallback)
        .unwrap_or(fallback);
    rfc3339_seconds(at)
}

fn order_of_vendor(
    conn: &mut DbConn,
    vendor: &Vendor,
    order: &exam_store::OrderRow,
) -> Result<bool, BillingError> {
    Ok(exam_store::find_exam_by_id(conn, &order.exam_id)?
        .is_some_and(|exam| exam.vendor_id == vendor.id))
}

/// The Stripe order of this vendor's exam named by a `client_reference_id`, if it is one.
fn exam_order(
    conn: &mut DbConn,
    vendor: &Vendor,
    reference: &str,
) -> Result<Option<exam_store::OrderRow>, BillingError> {
    let Some(order) = exam_store::find_order(conn, reference.trim())? else {
        return Ok(None);
    };
    if order.provider != OrderProvider::Stripe || !order_of_vendor(conn, vendor, &order)? {
        return Ok(None);
    }
    Ok(Some(order))
}

/// Runs `apply` in a transaction that first claims the event id; a claimed id answers the
/// stored outcome instead.
fn once(
    conn: &mut DbConn,
    vendor: &Vendor,
    event: &stripe::Event,
    now: NaiveDateTime,
    apply: impl Fn(&mut DbConn) -> Result<(String, String, String), BillingError>,
) -> Result<EventOutcome, BillingError> {
    db::transaction(conn, |c| {
        if !store::claim_event(c, &vendor.id, &event.id, &event.kind, now)? {
            let stored = store::find_event(c, &vendor.id, &event.id)?
                .ok_or_else(|| BillingError::Internal("claimed event vanished".into()))?;
            return Ok(stored_outcome(stored));
        }
        let (order, result, detail) = apply(c)?;
        store::set_event_outcome(c, &vendor.id, &event.id, Some(&order), &result, &detail)?;
        Ok(EventOutcome {
            order: Some(order),
            ..outcome(event, &result, detail)
        })
    })
}

/// `checkout.session.completed` for an exam order → (order, outcome, detail).
fn pay_order(
    conn: &mut DbConn,
    session: &CheckoutSession,
    order: &exam_store::OrderRow,
    now: NaiveDateTime,
) -> Result<(String, String, String), BillingError> {
    let id = order.id.clone();
    if session.payment_status.as_deref() != Some("paid") {
        return Ok((
            id,
            "not_paid".into(),
            "the session is not paid yet (a delayed payment method); checkout.session.async_payment_succeeded completes it".into(),
        ));
    }
    let reference = session.payment_reference();
    let current = exam_store::find_order(conn, &order.id)?.ok_or(ExamError::NotFound("order"))?;
    if current.status != OrderStatus::Pending {
        return Ok((
            id,
            "duplicate_payment".into(),
            format!(
                "order is {} already; payment {reference} needs a refund in Stripe",
                current.status
            ),
        ));
    }
    let amount = session.amount_total.unwrap_or(0);
    let currency = stripe::currency_code(session.currency.as_deref().unwrap_or(""));
    // Details are read by people on the console: amounts in currency units.
    let paid = format_amount(amount, &currency);
    let (status, result, detail) = if amount == order.amount_minor && currency == order.currency {
        (
            OrderStatus::Paid,
            "paid",
            format!("paid {paid} ({reference}); the candidate may start the exam"),
        )
    } else {
        (
            OrderStatus::Held,
            "held",
            format!(
                "paid {paid} ({reference}) but the order is for {}: held for review, no entitlement",
                format_amount(order.amount_minor, &order.currency)
            ),
        )
    };
    if exam_store::settle_order(
        conn,
        &order.id,
        OrderStatus::Pending,
        status,
        &reference,
        Some(now),
    )? != 1
    {
        return Err(BillingError::Conflict(
            "the order changed while the payment was applied; Stripe will resend the event".into(),
        ));
    }
    Ok((id, result.into(), detail))
}

/// `charge.refunded` for an exam order → (order, outcome, detail).
fn refund_order(
    conn: &mut DbConn,
    full: bool,
    order: &exam_store::OrderRow,
) -> Result<(String, String, String), BillingError> {
    let id = order.id.clone();
    let current = exam_store::find_order(conn, &order.id)?.ok_or(ExamError::NotFound("order"))?;
    if !full {
        return Ok((
            id,
            "partial_refund".into(),
            format!(
                "part of the payment was refunded; the order stays {}",
                current.status
            ),
        ));
    }
    if !matches!(current.status, OrderStatus::Paid | OrderStatus::Held) {
        return Ok((
            id,
            "ignored".into(),
            format!("the order is {}; nothing to refund", current.status),
        ));
    }
    let reference = current.reference.clone().unwrap_or_default();
    if exam_store::settle_order(
        conn,
        &current.id,
        current.status,
        OrderStatus::Refunded,
        &reference,
        None,
    )? != 1
    {
        return Err(BillingError::Conflict(
            "the order changed while the refund was applied; Stripe will resend the event".into(),
        ));
    }
    let detail = match &current.attempt_id {
        None => "refunded in full; the unused entitlement is withdrawn".to_string(),
        Some(attempt) => format!(
            "refunded in full; attempt {attempt} was already taken with it and stands (revoke a credential separately if needed)"
        ),
    };
    Ok((id, "refunded".into(), detail))
}
