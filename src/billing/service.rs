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

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::store::{self, StripeEvent};
use super::stripe::{self, CheckoutSession, Parsed};
use super::BillingError;
use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::store as exam_store;
use crate::exams::ExamError;
use crate::money::format_amount;
use crate::referrals::service::{self as referrals, BindOutcome, CustomerInput, EventInput};
use crate::referrals::{sealed, ReferralError, EVENT_INVOICE_PAID, EVENT_REFUND};
use crate::secrets::MasterKey;
use crate::validation::FieldErrors;

/// The `source` of billing events mapped from Stripe.
pub const SOURCE: &str = "stripe";
const MAX_LINK: usize = 2000;

/// Associated data binding a sealed Stripe secret to its vendor.
fn seal_context(vendor_id: &str) -> String {
    format!("stripe:{vendor_id}")
}

// ------------------------------------------------------------------------------------ settings

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StripeSecretInput)]
pub struct SecretInput {
    /// The endpoint's signing secret from Stripe (`whsec_…`).
    pub webhook_secret: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StripeSettings)]
pub struct StripeView {
    pub configured: bool,
    /// `whsec_…` and the last four characters; the secret itself is never shown again.
    pub secret_hint: Option<String>,
    /// The URL to enter as the endpoint in Stripe's dashboard.
    pub endpoint_url: String,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

pub fn stripe_view(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_url: String,
) -> Result<StripeView, BillingError> {
    let settings = store::settings(conn, &vendor.id)?;
    Ok(StripeView {
        configured: settings.is_some(),
        secret_hint: settings.as_ref().map(|s| s.secret_hint.clone()),
        endpoint_url,
        updated_at: settings.map(|s| rfc3339_seconds(s.updated_at)),
    })
}

/// Stores the signing secret Stripe shows for the vendor's endpoint, sealed.
pub fn set_secret(
    conn: &mut DbConn,
    master: &MasterKey,
    vendor: &Vendor,
    input: &SecretInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), BillingError> {
    let secret = input.webhook_secret.trim();
    let well_formed = secret.starts_with(sealed::SECRET_PREFIX)
        && secret.len() >= sealed::SECRET_PREFIX.len() + 16
        && secret.len() <= 200
        && secret.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(BillingError::Validation(crate::validation::field_error(
            "webhook_secret",
            "paste the endpoint's signing secret from Stripe (Developers → Webhooks → your endpoint → Signing secret); it starts with whsec_",
        )));
    }
    let sealed_secret = sealed::seal(master, &seal_context(&vendor.id), secret)
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    let hint = format!("{}…{}", sealed::SECRET_PREFIX, &secret[secret.len() - 4..]);
    store::save_settings(conn, &vendor.id, &sealed_secret, &hint, now)?;
    audit::record(
        conn,
        actor,
        Action::StripeSettingsChanged,
        Some(&vendor.id),
        &vendor.id,
        json!({"secret_hint": hint}),
        now,
    )?;
    Ok(())
}

/// Checks `Stripe-Signature` against the vendor's secret. Every failure is a 400 for Stripe.
pub fn verify(
    conn: &mut DbConn,
    master: &MasterKey,
    vendor: &Vendor,
    header: Option<&str>,
    body: &[u8],
    now: NaiveDateTime,
) -> Result<(), BillingError> {
    let settings = store::settings(conn, &vendor.id)?.ok_or_else(|| {
        BillingError::Rejected(format!(
            "vendor {} has not set a Stripe signing secret; its owner sets it on the console's Stripe page",
            vendor.slug
        ))
    })?;
    let header = header.ok_or_else(|| {
        BillingError::Rejected(format!(
            "the {} header is missing",
            stripe::SIGNATURE_HEADER
        ))
    })?;
    let secret = sealed::open(master, &seal_context(&vendor.id), &settings.webhook_secret)
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    crate::referrals::verify_signature(
        secret.as_bytes(),
        header,
        body,
        now.and_utc().timestamp(),
        stripe::TOLERANCE_SECS,
    )
    .map(|_| ())
    .map_err(|e| BillingError::Rejected(format!("{}: {e}", stripe::SIGNATURE_HEADER)))
}

// ------------------------------------------------------------------------------------ checkout

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The Stripe Payment Link (or any checkout URL taking `client_reference_id`).
    pub payment_link: String,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ExamCheckout)]
pub struct CheckoutView {
    pub exam: String,
    pub payment_link: Option<String>,
    pub price: crate::exams::service::PriceView,
}

fn checkout_view(
    conn: &mut DbConn,
    exam: &exam_store::ExamRow,
) -> Result<CheckoutView, BillingError> {
    Ok(CheckoutView {
        exam: exam.slug.clone(),
        payment_link: store::payment_link(conn, &exam.id)?,
        price: crate::exams::service::PriceView {
            amount_minor: exam.price_minor,
            currency: exam.currency.clone(),
        },
    })
}

fn vendor_exam(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
) -> Result<exam_store::ExamRow, BillingError> {
    exam_store::find_exam_by_slugs(conn, &vendor.slug, exam_slug)?
        .map(|(exam, _, _)| exam)
        .ok_or_else(|| BillingError::NotFound(format!("exam {exam_slug} not found")))
}

pub fn checkout_settings(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
) -> Result<CheckoutView, BillingError> {
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    checkout_view(conn, &exam)
}

/// Sets an exam's payment link and price (the amount every Stripe payment must match).
pub fn set_checkout(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
    input: &CheckoutInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CheckoutView, BillingError> {
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    let mut errors = FieldErrors::new();
    let link = input.payment_link.trim();
    let parsed = url::Url::parse(link).ok();
    let https = parsed
        .as_ref()
        .is_some_and(|u| u.scheme() == "https" && u.host_str().is_some() && u.query().is_none());
    if !https || link.len() > MAX_LINK {
        errors.add(
            "payment_link",
            "give the https address of the Stripe Payment Link (https://buy.stripe.com/…), without a query",
        );
    }
    if input.amount_minor <= 0 {
        errors.add(
            "amount_minor",
            "give the price in minor units (e.g. cents), more than 0; a free exam needs no payment link",
        );
    }
    let currency = crate::money::parse_currency(input.currency.trim());
    if currency.is_err() {
        errors.add(
            "currency",
            "use an ISO 4217 code in upper case, such as USD or EUR",
        );
    }
    errors.finish().map_err(BillingError::Validation)?;
    let currency = currency
        .map(|c| c.code().to_string())
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    store::save_payment_link(conn, &exam.id, link, now)?;
    exam_store::set_price(conn, &exam.id, input.amount_minor, &currency, now)?;
    audit::record(
        conn,
        actor,
        Action::ExamSettingsChanged,
        Some(&vendor.id),
        &exam.id,
        json!({"exam": exam.slug, "payment_link": link, "amount_minor": input.amount_minor, "currency": currency}),
        now,
    )?;
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    checkout_view(conn, &exam)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckoutStart {
    /// Credo's order reference, sent to Stripe as `client_reference_id`.
    pub order: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Where to send the candidate.
    pub checkout_url: String,
}

/// A candidate starts paying: a pending Stripe order for the exam's price (the last pending one is
/// reused) and the vendor's payment link with `client_reference_id` and `prefilled_email`.
pub fn start_checkout(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<CheckoutStart, BillingError> {
    let (exam, _, _) = exam_store::find_exam_by_slugs(conn, vendor_slug, exam_slug)?
        .ok_or(ExamError::NotFound("exam"))?;
    if exam.price_minor == 0 {
        return Err(BillingError::Conflict(
            "this exam is free; start it without paying".into(),
        ));
    }
    let link = store::payment_link(conn, &exam.id)?.ok_or_else(|| {
        BillingError::Conflict(
            "the vendor sells this exam with vouchers only; ask them for a voucher".into(),
        )
    })?;
    if exam_store::unused_paid_order(conn, &exam.id, user_id)?.is_some() {
        return Err(BillingError::Conflict(
            "you have paid for this exam already; start the exam".into(),
        ));
    }
    let email = exam_store::user_contact(conn, user_id)?
        .map(|(_, email)| email)
        .unwrap_or_default();
    let order =
        match exam_store::pending_order(conn, &exam.id, user_id, exam_store::PROVIDER_STRIPE)?
            .filter(|o| o.amount_minor == exam.price_minor && o.currency == exam.currency)
        {
            Some(order) => order.id,
            None => exam_store::insert_order(
                conn,
                &exam_store::NewOrder {
                    exam_id: &exam.id,
                    user_id,
                    amount_minor: exam.price_minor,
                    currency: &exam.currency,
                    provider: exam_store::PROVIDER_STRIPE,
                    status: exam_store::ORDER_PENDING,
                    reference: None,
                    paid_at: None,
                    marked_paid_by: None,
                },
                now,
            )?,
        };
    let mut url = url::Url::parse(&link).map_err(|e| BillingError::Internal(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("client_reference_id", &order)
        .append_pair("prefilled_email", &email);
    Ok(CheckoutStart {
        order,
        amount_minor: exam.price_minor,
        currency: exam.currency,
        checkout_url: url.into(),
    })
}

// -------------------------------------------------------------------------------------- events

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

fn outcome(event: &stripe::Event, outcome: &str, detail: impl Into<String>) -> EventOutcome {
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
                Some(pi) => exam_store::order_by_reference(conn, exam_store::PROVIDER_STRIPE, &pi)?
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
                    kind: Some(EVENT_REFUND.into()),
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
                    kind: Some(EVENT_INVOICE_PAID.into()),
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
    if order.provider != exam_store::PROVIDER_STRIPE || !order_of_vendor(conn, vendor, &order)? {
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
    if current.status != exam_store::ORDER_PENDING {
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
            exam_store::ORDER_PAID,
            "paid",
            format!("paid {paid} ({reference}); the candidate may start the exam"),
        )
    } else {
        (
            exam_store::ORDER_HELD,
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
        exam_store::ORDER_PENDING,
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
    if current.status != exam_store::ORDER_PAID && current.status != exam_store::ORDER_HELD {
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
        &current.status,
        exam_store::ORDER_REFUNDED,
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

fn bind_from_checkout(
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

fn bind(
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

fn referral_event(
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

/// One exam on the console's Stripe page.
#[derive(Debug, Clone, Serialize)]
pub struct ExamCheckoutRow {
    pub slug: String,
    pub title: String,
    pub price: crate::exams::service::PriceView,
    pub payment_link: Option<String>,
}

/// Everything the console's Stripe page shows.
#[derive(Debug, Clone, Serialize)]
pub struct StripeConsole {
    pub settings: StripeView,
    pub exams: Vec<ExamCheckoutRow>,
    pub events: Vec<StripeEvent>,
}

pub fn console(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_url: String,
) -> Result<StripeConsole, BillingError> {
    let settings = stripe_view(conn, vendor, endpoint_url)?;
    let mut exams = Vec::new();
    for exam in exam_store::list_vendor_exams(conn, &vendor.id)? {
        exams.push(ExamCheckoutRow {
            payment_link: store::payment_link(conn, &exam.id)?,
            price: crate::exams::service::PriceView {
                amount_minor: exam.price_minor,
                currency: exam.currency.clone(),
            },
            slug: exam.slug,
            title: exam.title,
        });
    }
    Ok(StripeConsole {
        settings,
        exams,
        events: store::recent_events(conn, &vendor.id, 100)?,
    })
}

/// Whether the exam `vendor/exam` can be paid online (the exam page's pay button).
pub fn sells_online(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<bool, BillingError> {
    Ok(
        match exam_store::find_exam_by_slugs(conn, vendor_slug, exam_slug)? {
            Some((exam, _, _)) => {
                exam.price_minor > 0 && store::payment_link(conn, &exam.id)?.is_some()
            }
            None => false,
        },
    )
}
