//! Billing events: validating, recording and applying invoices (commissions) and refunds
//! (reversals and clawbacks), idempotent on replay.

use chrono::{Duration, Months, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::commissions::CommissionView;
use super::recompute::held_exam_slugs;
use super::{text_ok, BINDING_GRACE, FUTURE_SKEW, MAX_ID_LEN};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::money::{commission_amount, format_amount, parse_currency};
use crate::referrals::store::{self, NewCommission, NewEvent};
use crate::referrals::{
    selfref, tiers, BillingEvent, BillingEventKind, Commission, CommissionKind, CommissionStatus,
    EnrollmentStatus, Program, ReferralError,
};
use crate::validation::FieldErrors;

/// A billing event as posted (API) or signed (webhook). Unknown fields are accepted and kept in
/// the stored payload: billing systems add their own.
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct EventInput {
    pub source: Option<String>,
    pub external_event_id: Option<String>,
    pub kind: Option<String>,
    pub invoice_id: Option<String>,
    pub customer_external_id: Option<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
}

/// A validated event.
#[derive(Debug, Clone)]
struct ValidEvent {
    source: String,
    external_event_id: String,
    kind: BillingEventKind,
    invoice_id: String,
    customer_external_id: String,
    amount_minor: i64,
    currency: String,
    occurred_at: NaiveDateTime,
}

fn validate_event(
    program: &Program,
    input: &EventInput,
    now: NaiveDateTime,
) -> Result<ValidEvent, ReferralError> {
    let mut errors = FieldErrors::new();
    let mut text = |field: &str, value: &Option<String>, hint: &str| -> String {
        let value = value.as_deref().unwrap_or("");
        if !text_ok(value, MAX_ID_LEN) {
            errors.add(field, format!("{hint} (1–200 characters)"));
        }
        value.trim().to_string()
    };
    let source = text(
        "source",
        &input.source,
        "name the billing system, e.g. \"stripe\"",
    );
    let external_event_id = text(
        "external_event_id",
        &input.external_event_id,
        "send the billing system's id of this event",
    );
    let invoice_id = text("invoice_id", &input.invoice_id, "send the invoice id");
    let customer_external_id = text(
        "customer_external_id",
        &input.customer_external_id,
        "send the customer id you bound with POST …/customers",
    );
    // After an error the placeholder kind is never used: the errors are answered first.
    let kind = match input.kind.as_deref().map(BillingEventKind::parse) {
        Some(Some(kind)) => kind,
        None => {
            errors.add("kind", "this field is required: invoice_paid or refund");
            BillingEventKind::InvoicePaid
        }
        Some(None) => {
            errors.add(
                "kind",
                "use invoice_paid or refund; exam fees, voucher purchases and anything else never earn commissions",
            );
            BillingEventKind::InvoicePaid
        }
    };
    let amount_minor = match input.amount_minor {
        None => {
            errors.add(
                "amount_minor",
                "this field is required (integer minor units)",
            );
            0
        }
        Some(amount) if amount <= 0 => {
            let what = if kind == BillingEventKind::Refund {
                "the refunded amount"
            } else {
                "the amount paid"
            };
            errors.add(
                "amount_minor",
                format!("send {what} as a positive integer of minor units (e.g. cents)"),
            );
            0
        }
        Some(amount) => amount,
    };
    let currency = match input.currency.as_deref() {
        None => {
            errors.add("currency", "this field is required");
            String::new()
        }
        Some(code) => match parse_currency(code) {
            Err(e) => {
                errors.add("currency", e.to_string());
                String::new()
            }
            Ok(c) if c.code() != program.currency => {
                errors.add(
                    "currency",
                    format!(
                        "the program pays commissions in {}; send amounts in {} (got {})",
                        program.currency, program.currency, c
                    ),
                );
                String::new()
            }
            Ok(c) => c.code().to_string(),
        },
    };
    let occurred_at = match input.occurred_at.as_deref() {
        None => {
            errors.add(
                "occurred_at",
                "this field is required (e.g. 2026-11-23T10:00:00Z)",
            );
            now
        }
        Some(text) => match chrono::DateTime::parse_from_rfc3339(text.trim()) {
            Err(_) => {
                errors.add(
                    "occurred_at",
                    "use an RFC 3339 time such as 2026-11-23T10:00:00Z",
                );
                now
            }
            Ok(t) => {
                let t = crate::clock::truncate_to_micros(t.naive_utc());
                if t > now + FUTURE_SKEW {
                    errors.add("occurred_at", "this time is in the future");
                }
                t
            }
        },
    };
    errors.finish().map_err(ReferralError::Validation)?;
    Ok(ValidEvent {
        source,
        external_event_id,
        kind,
        invoice_id,
        customer_external_id,
        amount_minor,
        currency,
        occurred_at,
    })
}

/// What an event did, stored with the event and answered again on every replay.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventEffect {
    /// `commission_created`, `commission_reversed`, `clawback_created` or `no_commission`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Commissions this event created, as they were at that moment.
    pub commissions: Vec<CommissionView>,
    /// Ids of commissions this event reversed.
    pub reversed: Vec<String>,
}

impl EventEffect {
    fn nothing(reason: impl Into<String>) -> Self {
        EventEffect {
            outcome: "no_commission".into(),
            reason: Some(reason.into()),
            commissions: Vec::new(),
            reversed: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventAnswer {
    pub id: String,
    pub source: String,
    pub external_event_id: String,
    pub kind: String,
    pub invoice_id: String,
    pub customer_external_id: String,
    pub amount_minor: i64,
    pub currency: String,
    #[schema(format = DateTime)]
    pub occurred_at: String,
    #[schema(format = DateTime)]
    pub received_at: String,
    /// `true` when this event had been received before: nothing new happened.
    pub replayed: bool,
    pub effect: serde_json::Value,
}

fn event_answer(event: &BillingEvent, replayed: bool) -> EventAnswer {
    EventAnswer {
        id: event.id.clone(),
        source: event.source.clone(),
        external_event_id: event.external_event_id.clone(),
        kind: event.kind.to_string(),
        invoice_id: event.invoice_id.clone(),
        customer_external_id: event.customer_external_id.clone(),
        amount_minor: event.amount_minor,
        currency: event.currency.clone(),
        occurred_at: rfc3339_seconds(event.occurred_at),
        received_at: rfc3339_seconds(event.received_at),
        replayed,
        effect: serde_json::from_str(&event.effect).unwrap_or(serde_json::Value::Null),
    }
}

/// Stores a billing event and applies it, exactly once per `(program, source,
/// external_event_id)`. Opens its own transactions (call it through `AppState::db`, not `tx`):
/// the event is inserted first and processed in the same transaction; a repeat returns the
/// stored effect and changes nothing. On PostgreSQL a concurrent duplicate waits on the unique
/// key and then reads the winner's effect; if the database instead reports a lost race as a
/// unique violation (e.g. on the per-invoice commission key), the transaction is rolled back and
/// the whole use case re-run in a new one, where it finds the stored effect.
pub fn ingest_event(
    conn: &mut DbConn,
    program: &Program,
    input: &EventInput,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventAnswer, ReferralError> {
    let event = validate_event(program, input, now)?;
    let mut last = None;
    for _ in 0..3 {
        match db::transaction(conn, |c| record_event(c, program, &event, payload, now)) {
            Err(e) if e.is_unique_violation() => last = Some(e),
            other => return other,
        }
    }
    tracing::warn!(program = %program.id, error = ?last, "billing event kept losing races");
    Err(ReferralError::Conflict(
        "the event is being processed concurrently; send it again".into(),
    ))
}

fn same_event(stored: &BillingEvent, event: &ValidEvent) -> bool {
    stored.kind == event.kind
        && stored.invoice_id == event.invoice_id
        && stored.customer_external_id == event.customer_external_id
        && stored.amount_minor == event.amount_minor
        && stored.currency == event.currency
}

fn replay(stored: &BillingEvent, event: &ValidEvent) -> Result<EventAnswer, ReferralError> {
    if !same_event(stored, event) {
        return Err(ReferralError::Conflict(format!(
            "event {} from {} was received before with other content (kind, invoice, customer, amount or currency); use a new external_event_id for a new event",
            event.external_event_id, event.source
        )));
    }
    Ok(event_answer(stored, true))
}

fn record_event(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    payload: &str,
    now: NaiveDateTime,
) -> Result<EventAnswer, ReferralError> {
    if let Some(stored) =
        store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
    {
        return replay(&stored, event);
    }
    let id = db::new_id();
    let inserted = store::insert_event_if_absent(
        conn,
        &NewEvent {
            id: &id,
            program_id: &program.id,
            source: &event.source,
            external_event_id: &event.external_event_id,
            kind: event.kind,
            invoice_id: &event.invoice_id,
            customer_external_id: &event.customer_external_id,
            amount_minor: event.amount_minor,
            currency: &event.currency,
            occurred_at: event.occurred_at,
            payload,
            effect: "{}",
            received_at: now,
        },
    )?;
    if !inserted {
        // A concurrent sender stored it first (PostgreSQL waited for its commit).
        let stored = store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
            .ok_or_else(|| ReferralError::Internal("stored event vanished".into()))?;
        return replay(&stored, event);
    }
    let effect = if event.kind == BillingEventKind::InvoicePaid {
        apply_invoice(conn, program, event, &id, now)?
    } else {
        apply_refund(conn, program, event, &id, now)?
    };
    let effect_json =
        serde_json::to_string(&effect).map_err(|e| ReferralError::Internal(e.to_string()))?;
    store::set_event_effect(conn, &id, &effect_json)?;
    let stored = store::find_event(conn, &program.id, &event.source, &event.external_event_id)?
        .ok_or_else(|| ReferralError::Internal("stored event vanished".into()))?;
    Ok(event_answer(&stored, false))
}

fn apply_invoice(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    event_id: &str,
    now: NaiveDateTime,
) -> Result<EventEffect, ReferralError> {
    let Some(customer) = store::find_customer(conn, &program.id, &event.customer_external_id)?
    else {
        return Ok(EventEffect::nothing(
            "the customer is not bound to an advocate of this program",
        ));
    };
    let Some(enrollment) = store::find_enrollment(conn, &customer.enrollment_id)? else {
        return Ok(EventEffect::nothing(
            "the customer's advocate left the program",
        ));
    };
    let months = u32::try_from(program.commission_months).unwrap_or(0);
    let window_end = customer
        .bound_at
        .checked_add_months(Months::new(months))
        .unwrap_or(NaiveDateTime::MAX);
    if event.occurred_at < customer.bound_at - BINDING_GRACE {
        return Ok(EventEffect::nothing(
            "the invoice was paid before the customer was referred",
        ));
    }
    if event.occurred_at >= window_end {
        return Ok(EventEffect::nothing(format!(
            "the invoice is more than the program's {} commission months after the customer was bound",
            program.commission_months
        )));
    }
    let key = format!("sale:{}:{}", program.id, event.invoice_id);
    if let Some(existing) = store::find_commission_by_key(conn, &key)? {
        return Ok(EventEffect::nothing(format!(
            "invoice {} already earned commission {} (from another event)",
            event.invoice_id, existing.id
        )));
    }
    // Tier and rate as of the moment the invoice was paid, from credentials current then.
    let rules = store::program_tiers(conn, &program.id)?;
    let held_exams = held_exam_slugs(
        conn,
        &enrollment.user_id,
        &program.vendor_id,
        event.occurred_at,
    )?;
    let Some(tier) = tiers::select_tier(&rules, &held_exams) else {
        return Err(ReferralError::Internal("program has no base tier".into()));
    };
    let amount = commission_amount(event.amount_minor, tier.rate_bps)?;
    let (_, advocate_email) = store::advocate_contact(conn, &enrollment.user_id)?;
    let hold_reason = if enrollment.status != EnrollmentStatus::Active {
        Some("the advocate's enrollment is suspended".to_string())
    } else {
        selfref::self_referral_reason(&advocate_email, customer.email.as_deref())
    };
    let commission_id = db::new_id();
    let rate_bps = i32::try_from(tier.rate_bps).unwrap_or(0);
    let reason = match &hold_reason {
        Some(why) => format!("invoice {} paid; held for review: {why}", event.invoice_id),
        None => format!("invoice {} paid", event.invoice_id),
    };
    let commission = create_commission(
        conn,
        &NewCommission {
            id: &commission_id,
            program_id: &program.id,
            enrollment_id: &enrollment.id,
            customer_id: &customer.id,
            billing_event_id: event_id,
            invoice_id: &event.invoice_id,
            kind: CommissionKind::Sale,
            base_minor: event.amount_minor,
            rate_bps,
            amount_minor: amount,
            currency: &program.currency,
            status: CommissionStatus::Pending,
            held: hold_reason.is_some(),
            held_reason: hold_reason.as_deref(),
            hold_until: event.occurred_at + Duration::days(i64::from(program.hold_days)),
            tier_snapshot: &tier.code,
            payout_id: None,
            reverses_id: None,
            idempotency_key: &key,
            created_at: now,
            updated_at: now,
        },
        &reason,
    )?;
    Ok(EventEffect {
        outcome: "commission_created".into(),
        reason: None,
        commissions: vec![CommissionView::from(&commission)],
        reversed: Vec::new(),
    })
}

fn apply_refund(
    conn: &mut DbConn,
    program: &Program,
    event: &ValidEvent,
    event_id: &str,
    now: NaiveDateTime,
) -> Result<EventEffect, ReferralError> {
    if store::find_customer(conn, &program.id, &event.customer_external_id)?.is_none() {
        return Ok(EventEffect::nothing(
            "the customer is not bound to an advocate of this program",
        ));
    }
    let sales = store::sales_of_invoice(conn, &program.id, &event.invoice_id)?;
    let Some(live) = sales
        .iter()
        .find(|c| c.status != CommissionStatus::Reversed)
        .cloned()
    else {
        return Ok(EventEffect::nothing(if sales.is_empty() {
            "the invoice earned no commission"
        } else {
            "the invoice's commission was already reversed in full"
        }));
    };
    let clawed = store::clawed_back_base(conn, &live.id)?;
    let remaining = live.base_minor.saturating_add(clawed);
    if remaining <= 0 {
        return Ok(EventEffect::nothing(
            "the invoice's commission was already clawed back in full",
        ));
    }
    let refund = event.amount_minor.min(remaining);
    let rate = u32::try_from(live.rate_bps).unwrap_or(0);
    let before_payout = (live.status == CommissionStatus::Pending
        || live.status == CommissionStatus::Approved)
        && live.payout_id.is_none();
    if before_payout {
        if !store::change_status(conn, &live.id, live.status, CommissionStatus::Reversed, now)? {
            return Err(ReferralError::Conflict(
                "the commission changed while the refund was applied; send the event again".into(),
            ));
        }
        store::insert_transition(
            conn,
            &live.id,
            Some(live.status),
            CommissionStatus::Reversed,
            &format!(
                "refund of {} on invoice {} before payout",
                format_amount(refund, &program.currency),
                event.invoice_id
            ),
            None,
            now,
        )?;
        let mut created = Vec::new();
        let remainder = live.base_minor - refund;
        if remainder > 0 {
            let id = db::new_id();
            let key = format!("remainder:{event_id}");
            let remainder = create_commission(
                conn,
                &NewCommission {
                    id: &id,
                    program_id: &program.id,
                    enrollment_id: &live.enrollment_id,
                    customer_id: &live.customer_id,
                    billing_event_id: event_id,
                    invoice_id: &live.invoice_id,
                    kind: CommissionKind::Sale,
                    base_minor: remainder,
                    rate_bps: live.rate_bps,
                    amount_minor: commission_amount(remainder, rate)?,
                    currency: &live.currency,
                    status: CommissionStatus::Pending,
                    held: live.held,
                    held_reason: live.held_reason.as_deref(),
                    hold_until: live.hold_until,
                    tier_snapshot: &live.tier_snapshot,
                    payout_id: None,
                    reverses_id: Some(&live.id),
                    idempotency_key: &key,
                    created_at: now,
                    updated_at: now,
                },
                &format!(
                    "remainder of invoice {} after a partial refund (replaces {})",
                    live.invoice_id, live.id
                ),
            )?;
            created.push(CommissionView::from(&remainder));
        }
        return Ok(EventEffect {
            outcome: "commission_reversed".into(),
            reason: None,
            commissions: created,
            reversed: vec![live.id],
        });
    }
    // Paid (or promised in a payout): paid rows are never edited; a negative row claws back.
    let id = db::new_id();
    let key = format!("clawback:{event_id}");
    let clawback = create_commission(
        conn,
        &NewCommission {
            id: &id,
            program_id: &program.id,
            enrollment_id: &live.enrollment_id,
            customer_id: &live.customer_id,
            billing_event_id: event_id,
            invoice_id: &live.invoice_id,
            kind: CommissionKind::Clawback,
            base_minor: -refund,
            rate_bps: live.rate_bps,
            amount_minor: commission_amount(-refund, rate)?,
            currency: &live.currency,
            // A debt is due at once: holding it would only delay netting it against earnings.
            status: CommissionStatus::Approved,
            held: false,
            held_reason: None,
            hold_until: now,
            tier_snapshot: &live.tier_snapshot,
            payout_id: None,
            reverses_id: Some(&live.id),
            idempotency_key: &key,
            created_at: now,
            updated_at: now,
        },
        &format!(
            "refund of {} on invoice {} after payout of commission {}",
            format_amount(refund, &program.currency),
            live.invoice_id,
            live.id
        ),
    )?;
    Ok(EventEffect {
        outcome: "clawback_created".into(),
        reason: None,
        commissions: vec![CommissionView::from(&clawback)],
        reversed: Vec::new(),
    })
}

/// The one way a commission comes into being (sale, remainder after a partial refund,
/// clawback): the row, its first transition saying why, and the row as stored.
fn create_commission(
    conn: &mut DbConn,
    new: &NewCommission<'_>,
    reason: &str,
) -> Result<Commission, ReferralError> {
    store::insert_commission(conn, new)?;
    store::insert_transition(conn, new.id, None, new.status, reason, None, new.created_at)?;
    store::find_commission(conn, new.id)?
        .ok_or_else(|| ReferralError::Internal("commission vanished".into()))
}
