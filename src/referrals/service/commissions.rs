//! Commissions: their view, the approval job, and the vendor's review (clear a hold, reject).

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::text_ok;
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::DbConn;
use crate::links::Links;
use crate::mail;
use crate::money::format_amount;
use crate::referrals::{store, Commission, CommissionStatus, Program, ReferralError};
use crate::webhooks::{self, EventType};

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CommissionView {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub enrollment: String,
    pub invoice_id: String,
    pub base_minor: i64,
    pub rate_bps: i32,
    pub amount_minor: i64,
    pub currency: String,
    pub tier: String,
    pub held: bool,
    pub held_reason: Option<String>,
    #[schema(format = DateTime)]
    pub hold_until: String,
    pub payout: Option<String>,
    pub reverses: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Commission> for CommissionView {
    fn from(c: &Commission) -> Self {
        CommissionView {
            id: c.id.clone(),
            kind: c.kind.to_string(),
            status: c.status.to_string(),
            enrollment: c.enrollment_id.clone(),
            invoice_id: c.invoice_id.clone(),
            base_minor: c.base_minor,
            rate_bps: c.rate_bps,
            amount_minor: c.amount_minor,
            currency: c.currency.clone(),
            tier: c.tier_snapshot.clone(),
            held: c.held,
            held_reason: c.held_reason.clone(),
            hold_until: rfc3339_seconds(c.hold_until),
            payout: c.payout_id.clone(),
            reverses: c.reverses_id.clone(),
            created_at: rfc3339_seconds(c.created_at),
        }
    }
}

/// One pass of the approval job: pending commissions whose hold period ended and that are not
/// held become approved, each with a transition and a `commission_approved` mail. Safe on many
/// nodes: the status change is conditional, so only one node approves (and mails) each.
pub fn approve_due(
    conn: &mut DbConn,
    links: &Links,
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, ReferralError> {
    let mut approved = 0;
    for commission in store::due_for_approval(conn, now, limit)? {
        if !store::change_status(
            conn,
            &commission.id,
            CommissionStatus::Pending,
            CommissionStatus::Approved,
            now,
        )? {
            continue;
        }
        store::insert_transition(
            conn,
            &commission.id,
            Some(CommissionStatus::Pending),
            CommissionStatus::Approved,
            "hold period ended",
            None,
            now,
        )?;
        let vendor_id = store::find_program(conn, &commission.program_id)?.map(|p| p.vendor_id);
        if let Some(vendor_id) = &vendor_id {
            webhooks::emit(
                conn,
                vendor_id,
                EventType::CommissionApproved,
                &commission.id,
                now,
                |c| {
                    let code = store::find_enrollment(c, &commission.enrollment_id)?
                        .map(|e| e.referral_code);
                    Ok(json!({
                        "commission_id": commission.id,
                        "program_id": commission.program_id,
                        "enrollment_id": commission.enrollment_id,
                        "referral_code": code,
                        "kind": commission.kind,
                        "invoice_id": commission.invoice_id,
                        "base_minor": commission.base_minor,
                        "rate_bps": commission.rate_bps,
                        "amount_minor": commission.amount_minor,
                        "currency": commission.currency,
                        "approved_at": rfc3339_seconds(now),
                    }))
                },
            )?;
        }
        audit::record(
            conn,
            &Actor::system("commission approval job"),
            Action::CommissionApproved,
            vendor_id.as_deref(),
            &commission.id,
            json!({
                "reason": "hold period ended",
                "amount_minor": commission.amount_minor,
                "currency": commission.currency,
            }),
            now,
        )?;
        if let Some(enrollment) = store::find_enrollment(conn, &commission.enrollment_id)? {
            let (name, email) = store::advocate_contact(conn, &enrollment.user_id)?;
            let vendor_name = store::find_program(conn, &commission.program_id)?
                .map(|p| crate::accounts::store::find_vendor(conn, &p.vendor_id))
                .transpose()?
                .flatten()
                .map_or_else(|| "a vendor".to_string(), |v| v.name);
            mail::enqueue(
                conn,
                &mail::templates::commission_approved(
                    &email,
                    &name,
                    &format_amount(commission.amount_minor, &commission.currency),
                    &vendor_name,
                    &links.referrals_dashboard(),
                ),
                now,
            )?;
        }
        approved += 1;
    }
    Ok(approved)
}

fn program_commission(
    conn: &mut DbConn,
    program: &Program,
    commission_id: &str,
) -> Result<Commission, ReferralError> {
    store::find_commission(conn, commission_id)?
        .filter(|c| c.program_id == program.id)
        .ok_or_else(|| ReferralError::NotFound("commission not found in this program".into()))
}

/// A program manager's decision on a commission after review.
#[derive(Debug, Clone)]
pub enum Review {
    /// Clear the review hold of a held pending commission (with an optional note); the approval
    /// job then approves it when its hold period has ended.
    ClearHold { note: Option<String> },
    /// Reject a pending commission (e.g. a confirmed self-referral): it becomes `reversed`.
    Reject { reason: String },
}

/// Applies a review decision to a commission of the program: the change, its transition and
/// its audit record; answers the commission as it is now.
pub fn review_commission(
    conn: &mut DbConn,
    program: &Program,
    commission_id: &str,
    review: &Review,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CommissionView, ReferralError> {
    if let Review::Reject { reason } = review {
        if !text_ok(reason, 500) {
            return Err(ReferralError::field(
                "reason",
                "say why the commission is rejected (1–500 characters)",
            ));
        }
    }
    let commission = program_commission(conn, program, commission_id)?;
    let (to, transition, action, mut details) = match review {
        Review::ClearHold { note } => {
            if !commission.held || commission.status != CommissionStatus::Pending {
                return Err(ReferralError::Conflict(format!(
                    "commission {} is not held for review (status {})",
                    commission.id, commission.status
                )));
            }
            if !store::set_hold(conn, &commission.id, false, None, now)? {
                return Err(ReferralError::Conflict(
                    "the commission changed meanwhile; reload".into(),
                ));
            }
            let note = note.as_deref().map(str::trim).filter(|n| !n.is_empty());
            let transition = match note {
                Some(note) => format!("review hold cleared: {note}"),
                None => "review hold cleared".to_string(),
            };
            let details = json!({"note": note});
            (
                CommissionStatus::Pending,
                transition,
                Action::CommissionHoldCleared,
                details,
            )
        }
        Review::Reject { reason } => {
            let reason = reason.trim();
            if commission.status != CommissionStatus::Pending
                || !store::change_status(
                    conn,
                    &commission.id,
                    CommissionStatus::Pending,
                    CommissionStatus::Reversed,
                    now,
                )?
            {
                return Err(ReferralError::Conflict(format!(
                    "only pending commissions can be rejected; this one is {}",
                    commission.status
                )));
            }
            let transition = format!("rejected after review: {reason}");
            let details = json!({"reason": reason});
            (
                CommissionStatus::Reversed,
                transition,
                Action::CommissionRejected,
                details,
            )
        }
    };
    store::insert_transition(
        conn,
        &commission.id,
        Some(CommissionStatus::Pending),
        to,
        &transition,
        actor.user_id(),
        now,
    )?;
    details["amount_minor"] = json!(commission.amount_minor);
    details["currency"] = json!(commission.currency);
    audit::record(
        conn,
        actor,
        action,
        Some(&program.vendor_id),
        &commission.id,
        details,
        now,
    )?;
    let fresh = program_commission(conn, program, commission_id)?;
    Ok(CommissionView::from(&fresh))
}

pub fn list_commissions(
    conn: &mut DbConn,
    program: &Program,
    held_only: bool,
) -> Result<Vec<CommissionView>, ReferralError> {
    Ok(
        store::commissions_of_program(conn, &program.id, held_only, 500)?
            .iter()
            .map(CommissionView::from)
            .collect(),
    )
}
