//! Stripe's webhook format, pure: the events Credo reads and the fields it takes from them.
//!
//! Signatures (`Stripe-Signature: t=…,v1=…`) are the scheme of `referrals::webhook`, which is
//! exactly Stripe's: HMAC-SHA256 under the endpoint's signing secret (the whole `whsec_…` string
//! as key) over `"<t>.<raw body>"`, any `v1=` matching, five minutes of tolerance.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

/// Name of the HTTP header carrying Stripe's signature.
pub const SIGNATURE_HEADER: &str = "Stripe-Signature";
/// Stripe's libraries default to five minutes.
pub const TOLERANCE_SECS: i64 = 300;
/// The metadata key (on a Customer or a Checkout Session) carrying a Credo click id.
pub const CLICK_METADATA: &str = "credo_click";

/// The envelope of every Stripe event.
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Unix seconds.
    #[serde(default)]
    pub created: i64,
    pub data: EventData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventData {
    pub object: Value,
    #[serde(default)]
    pub previous_attributes: Option<Value>,
}

/// A Checkout Session (`checkout.session.completed`, `checkout.session.async_payment_succeeded`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CheckoutSession {
    pub id: String,
    pub client_reference_id: Option<String>,
    pub payment_status: Option<String>,
    pub amount_total: Option<i64>,
    pub currency: Option<String>,
    payment_intent: Option<Value>,
    customer: Option<Value>,
    invoice: Option<Value>,
    pub customer_details: Option<CustomerDetails>,
    pub metadata: HashMap<String, String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CustomerDetails {
    pub email: Option<String>,
}

impl CheckoutSession {
    /// The PaymentIntent id (the key refunds name), or the session's own id when there is none.
    pub fn payment_reference(&self) -> String {
        id_of(self.payment_intent.as_ref()).unwrap_or_else(|| self.id.clone())
    }
    pub fn customer_id(&self) -> Option<String> {
        id_of(self.customer.as_ref())
    }
    pub fn invoice_id(&self) -> Option<String> {
        id_of(self.invoice.as_ref())
    }
    pub fn email(&self) -> Option<String> {
        self.customer_details.as_ref().and_then(|d| d.email.clone())
    }
    /// The click this checkout came from: `metadata.credo_click`, else `client_reference_id`.
    pub fn click_id(&self) -> Option<String> {
        self.metadata
            .get(CLICK_METADATA)
            .cloned()
            .or_else(|| self.client_reference_id.clone())
            .filter(|c| !c.trim().is_empty())
    }
}

/// A Charge (`charge.refunded`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Charge {
    pub id: String,
    payment_intent: Option<Value>,
    invoice: Option<Value>,
    customer: Option<Value>,
    pub amount: i64,
    /// Cumulative: everything refunded on this charge so far.
    pub amount_refunded: i64,
    /// Refunded in full.
    pub refunded: bool,
    pub currency: String,
}

impl Charge {
    pub fn payment_intent(&self) -> Option<String> {
        id_of(self.payment_intent.as_ref())
    }
    pub fn invoice_id(&self) -> Option<String> {
        id_of(self.invoice.as_ref())
    }
    pub fn customer_id(&self) -> Option<String> {
        id_of(self.customer.as_ref())
    }
}

/// A Customer (`customer.created`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Customer {
    pub id: String,
    pub email: Option<String>,
    pub metadata: HashMap<String, String>,
}

impl Customer {
    pub fn click_id(&self) -> Option<String> {
        self.metadata
            .get(CLICK_METADATA)
            .cloned()
            .filter(|c| !c.trim().is_empty())
    }
}

/// An Invoice (`invoice.paid`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Invoice {
    pub id: String,
    customer: Option<Value>,
    pub amount_paid: i64,
    pub currency: String,
    pub created: i64,
    pub status_transitions: StatusTransitions,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct StatusTransitions {
    pub paid_at: Option<i64>,
}

impl Invoice {
    pub fn customer_id(&self) -> Option<String> {
        id_of(self.customer.as_ref())
    }
    /// When it was paid (unix seconds), else when it was created.
    pub fn paid_at(&self) -> i64 {
        self.status_transitions.paid_at.unwrap_or(self.created)
    }
}

/// What an event means to Credo.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// `checkout.session.completed` or `checkout.session.async_payment_succeeded`.
    CheckoutCompleted(CheckoutSession),
    /// `charge.refunded`, with the amount refunded by this event (the cumulative amount minus
    /// `previous_attributes.amount_refunded`).
    ChargeRefunded {
        charge: Charge,
        refunded_now: i64,
    },
    CustomerCreated(Customer),
    InvoicePaid(Invoice),
    /// Any other type: acknowledged and ignored.
    Ignored,
}

/// Reads an event. `Err` names what is wrong with a body that is not a Stripe event.
pub fn parse_event(body: &[u8]) -> Result<(Event, Parsed), String> {
    let event: Event = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a Stripe event (id, type, data.object): {e}"))?;
    let object = |what: &str| format!("data.object is not a {what}");
    let parsed = match event.kind.as_str() {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            Parsed::CheckoutCompleted(
                serde_json::from_value(event.data.object.clone())
                    .map_err(|e| format!("{}: {e}", object("Checkout Session")))?,
            )
        }
        "charge.refunded" => {
            let charge: Charge = serde_json::from_value(event.data.object.clone())
                .map_err(|e| format!("{}: {e}", object("Charge")))?;
            let before = event
                .data
                .previous_attributes
                .as_ref()
                .and_then(|p| p.get("amount_refunded"))
                .and_then(Value::as_i64)
                .unwrap_or(0);
            let refunded_now = charge.amount_refunded.saturating_sub(before);
            Parsed::ChargeRefunded {
                charge,
                refunded_now,
            }
        }
        "customer.created" => Parsed::CustomerCreated(
            serde_json::from_value(event.data.object.clone())
                .map_err(|e| format!("{}: {e}", object("Customer")))?,
        ),
        "invoice.paid" => Parsed::InvoicePaid(
            serde_json::from_value(event.data.object.clone())
                .map_err(|e| format!("{}: {e}", object("Invoice")))?,
        ),
        _ => Parsed::Ignored,
    };
    Ok((event, parsed))
}

/// Stripe writes currencies in lower case; Credo stores ISO 4217 upper case.
pub fn currency_code(stripe_currency: &str) -> String {
    stripe_currency.trim().to_ascii_uppercase()
}

/// An expandable field: an id string, or the expanded object's `id`.
fn id_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Object(object) => object.get("id")?.as_str().map(str::to_string),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(kind: &str, object: Value, previous: Option<Value>) -> Vec<u8> {
        let mut data = json!({ "object": object });
        if let Some(p) = previous {
            data["previous_attributes"] = p;
        }
        serde_json::to_vec(&json!({"id": "evt_1", "object": "event", "type": kind, "created": 1_700_000_000, "data": data})).unwrap()
    }

    #[test]
    fn checkout_session_fields_and_expanded_ids() {
        let (event, parsed) = parse_event(&body(
            "checkout.session.completed",
            json!({"id": "cs_1", "client_reference_id": "ord", "payment_status": "paid",
                   "amount_total": 15000, "currency": "usd", "payment_intent": {"id": "pi_1"},
                   "customer": "cus_1", "metadata": {"credo_click": "clk"}}),
            None,
        ))
        .unwrap();
        assert_eq!(event.id, "evt_1");
        let Parsed::CheckoutCompleted(s) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(s.payment_reference(), "pi_1");
        assert_eq!(s.customer_id().as_deref(), Some("cus_1"));
        assert_eq!(s.click_id().as_deref(), Some("clk"));
        assert_eq!(s.amount_total, Some(15000));
        let Parsed::CheckoutCompleted(bare) = parse_event(&body(
            "checkout.session.completed",
            json!({"id": "cs_2", "client_reference_id": "ord"}),
            None,
        ))
        .unwrap()
        .1
        else {
            panic!()
        };
        assert_eq!(bare.payment_reference(), "cs_2");
        assert_eq!(bare.click_id().as_deref(), Some("ord"));
    }

    #[test]
    fn refund_amount_is_this_event_s_share() {
        let parsed = parse_event(&body(
            "charge.refunded",
            json!({"id": "ch_1", "payment_intent": "pi_1", "amount": 10000, "amount_refunded": 7000, "refunded": false, "currency": "usd"}),
            Some(json!({"amount_refunded": 3000})),
        ))
        .unwrap()
        .1;
        let Parsed::ChargeRefunded {
            charge,
            refunded_now,
        } = parsed
        else {
            panic!()
        };
        assert_eq!(refunded_now, 4000);
        assert_eq!(charge.payment_intent().as_deref(), Some("pi_1"));
    }

    #[test]
    fn unknown_types_are_ignored_and_garbage_refused() {
        assert!(matches!(
            parse_event(&body("payout.paid", json!({"id": "po"}), None))
                .unwrap()
                .1,
            Parsed::Ignored
        ));
        assert!(parse_event(b"{}").is_err());
        assert!(parse_event(b"not json").is_err());
        assert!(parse_event(&body("invoice.paid", json!("text"), None)).is_err());
        assert_eq!(currency_code("usd"), "USD");
    }
}
