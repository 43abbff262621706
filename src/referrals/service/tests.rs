use chrono::NaiveDateTime;

use super::practitioner::status_totals;
use crate::referrals::{Commission, CommissionKind, CommissionStatus};

#[test]
fn status_totals_split_held_from_pending() {
    let t = NaiveDateTime::default();
    let c = |status: CommissionStatus, held: bool, amount: i64| Commission {
        id: String::new(),
        program_id: String::new(),
        enrollment_id: String::new(),
        customer_id: String::new(),
        billing_event_id: String::new(),
        invoice_id: String::new(),
        kind: CommissionKind::Sale,
        base_minor: 0,
        rate_bps: 0,
        amount_minor: amount,
        currency: "EUR".into(),
        status,
        held,
        held_reason: None,
        hold_until: t,
        tier_snapshot: String::new(),
        payout_id: None,
        reverses_id: None,
        idempotency_key: String::new(),
        created_at: t,
        updated_at: t,
    };
    let totals = status_totals(&[
        c(CommissionStatus::Pending, false, 10),
        c(CommissionStatus::Pending, true, 20),
        c(CommissionStatus::Approved, false, 5),
        c(CommissionStatus::Approved, false, -8),
    ]);
    assert_eq!(totals["pending"].amount_minor, 10);
    assert_eq!(totals["held"].count, 1);
    assert_eq!(totals["approved"].amount_minor, -3);
    assert_eq!(totals["paid"].count, 0);
}
