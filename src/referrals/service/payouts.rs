//! Payouts: balances, creating and paying payouts, and the payouts CSV.

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::json;

use super::{text_ok, MAX_ID_LEN};
use crate::accounts::{self, Principal, Vendor, VendorRole};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::links::Links;
use crate::mail;
use crate::money::format_amount;
use crate::referrals::{
    store, Commission, CommissionStatus, Payout, PayoutStatus, Program, ReferralError,
};
use crate::spreadsheet::csv_cell;
use crate::webhooks::{self, EventType};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PayoutView {
    pub id: String,
    pub program: String,
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub amount_minor: i64,
    pub currency: String,
    pub status: String,
    pub reference: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
    pub commissions: usize,
}

pub(super) fn payout_view(
    conn: &mut DbConn,
    payout: &Payout,
    referral_code: &str,
    advocate: &str,
) -> Result<PayoutView, ReferralError> {
    let commissions = store::commissions_of_payout(conn, &payout.id)?.len();
    Ok(PayoutView {
        id: payout.id.clone(),
        program: payout.program_id.clone(),
        enrollment: payout.enrollment_id.clone(),
        referral_code: referral_code.to_string(),
        advocate: advocate.to_string(),
        amount_minor: payout.amount_minor,
        currency: payout.currency.clone(),
        status: payout.status.to_string(),
        reference: payout.reference.clone(),
        created_at: rfc3339_seconds(payout.created_at),
        paid_at: payout.paid_at.map(rfc3339_seconds),
        commissions,
    })
}

/// An advocate's payable balance: approved commissions not yet in a payout (sales minus
/// approved clawbacks).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Balance {
    pub enrollment: String,
    pub referral_code: String,
    pub advocate: String,
    pub balance_minor: i64,
    pub commissions: usize,
    /// Why no payout would be created now, if so.
    pub blocked: Option<String>,
}

/// Payable balances per advocate, with the reason a payout would not be created.
pub fn balances(conn: &mut DbConn, program: &Program) -> Result<Vec<Balance>, ReferralError> {
    let mut by_enrollment: BTreeMap<String, (i64, usize)> = BTreeMap::new();
    for c in store::payable_commissions(conn, &program.id)? {
        let entry = by_enrollment.entry(c.enrollment_id.clone()).or_default();
        entry.0 = entry.0.saturating_add(c.amount_minor);
        entry.1 += 1;
    }
    let advocates: HashMap<String, store::Advocate> =
        store::advocates_of_program(conn, &program.id)?
            .into_iter()
            .map(|a| (a.enrollment.id.clone(), a))
            .collect();
    Ok(by_enrollment
        .into_iter()
        .map(|(enrollment, (balance, count))| {
            let (code, name) = advocates
                .get(&enrollment)
                .map(|a| (a.enrollment.referral_code.clone(), a.name.clone()))
                .unwrap_or_default();
            let blocked = if balance < 0 {
                Some("negative balance: clawbacks exceed approved earnings".to_string())
            } else if balance == 0 {
                Some("nothing to pay".to_string())
            } else if balance < program.min_payout_minor {
                Some(format!(
                    "below the minimum payout of {}",
                    format_amount(program.min_payout_minor, &program.currency)
                ))
            } else {
                None
            };
            Balance {
                enrollment,
                referral_code: code,
                advocate: name,
                balance_minor: balance,
                commissions: count,
                blocked,
            }
        })
        .collect())
}

/// Creates one payout per advocate whose approved balance is positive and at least the
/// program's minimum. A negative balance (approved clawbacks outweighing earnings) blocks that
/// advocate's payout until new earnings cover it.
pub fn create_payouts(
    conn: &mut DbConn,
    program: &Program,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Vec<PayoutView>, ReferralError> {
    let by = actor.user_id();
    let mut rows: BTreeMap<String, Vec<Commission>> = BTreeMap::new();
    for c in store::payable_commissions(conn, &program.id)? {
        rows.entry(c.enrollment_id.clone()).or_default().push(c);
    }
    let advocates: HashMap<String, store::Advocate> =
        store::advocates_of_program(conn, &program.id)?
            .into_iter()
            .map(|a| (a.enrollment.id.clone(), a))
            .collect();
    let mut created = Vec::new();
    for (enrollment_id, commissions) in rows {
        let balance = commissions
            .iter()
            .fold(0i64, |sum, c| sum.saturating_add(c.amount_minor));
        if balance <= 0 || balance < program.min_payout_minor {
            continue;
        }
        let id = db::new_id();
        store::insert_payout(conn, &id, program, &enrollment_id, balance, by, now)?;
        let ids: Vec<String> = commissions.iter().map(|c| c.id.clone()).collect();
        if store::attach_to_payout(conn, &ids, &id)? != ids.len() {
            return Err(ReferralError::Conflict(
                "another payout run took some of these commissions; reload and try again".into(),
            ));
        }
        for c in &commissions {
            store::insert_transition(
                conn,
                &c.id,
                Some(CommissionStatus::Approved),
                CommissionStatus::Approved,
                &format!("included in payout {id}"),
                by,
                now,
            )?;
        }
        let payout = store::find_payout(conn, &id)?
            .ok_or_else(|| ReferralError::Internal("payout vanished".into()))?;
        let (code, name) = advocates
            .get(&enrollment_id)
            .map(|a| (a.enrollment.referral_code.clone(), a.name.clone()))
            .unwrap_or_default();
        created.push(payout_view(conn, &payout, &code, &name)?);
    }
    if !created.is_empty() {
        audit::record(
            conn,
            actor,
            Action::PayoutsCreated,
            Some(&program.vendor_id),
            &program.id,
            json!({
                "payouts": created
                    .iter()
                    .map(|p| json!({"id": p.id, "amount_minor": p.amount_minor, "currency": p.currency}))
                    .collect::<Vec<_>>(),
            }),
            now,
        )?;
    }
    Ok(created)
}

/// The payout with its program, for authorization before [`mark_payout_paid`].
pub fn payout_with_program(
    conn: &mut DbConn,
    payout_id: &str,
) -> Result<(Payout, Program, Vendor), ReferralError> {
    let not_found = || ReferralError::NotFound("payout not found".into());
    let payout = store::find_payout(conn, payout_id)?.ok_or_else(not_found)?;
    let (program, vendor) =
        store::find_program_by_ref(conn, &payout.program_id)?.ok_or_else(not_found)?;
    Ok((payout, program, vendor))
}

/// [`mark_payout_paid`] on behalf of `principal`, who must be a program manager of the payout's
/// vendor (unknown payout → not found; another vendor's → forbidden).
pub fn mark_payout_paid_as(
    conn: &mut DbConn,
    principal: &Principal,
    payout_id: &str,
    reference: &str,
    actor: &Actor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<PayoutView, ReferralError> {
    let (payout, _program, vendor) = payout_with_program(conn, payout_id)?;
    accounts::authorize_vendor(conn, principal, &vendor.slug, VendorRole::ProgramManager)?;
    mark_payout_paid(conn, &payout, reference, actor, links, now)
}

/// Records that a payout was sent: the payout and its commissions become `paid` and the
/// advocate gets a `payout_sent` mail. Repeating with the same reference answers the same.
pub fn mark_payout_paid(
    conn: &mut DbConn,
    payout: &Payout,
    reference: &str,
    actor: &Actor,
    links: &Links,
    now: NaiveDateTime,
) -> Result<PayoutView, ReferralError> {
    let reference = reference.trim();
    if !text_ok(reference, MAX_ID_LEN) {
        return Err(ReferralError::field(
            "reference",
            "enter the transfer's reference (1–200 characters)",
        ));
    }
    let enrollment = store::find_enrollment(conn, &payout.enrollment_id)?
        .ok_or_else(|| ReferralError::Internal("payout without enrollment".into()))?;
    let (name, email) = store::advocate_contact(conn, &enrollment.user_id)?;
    if payout.status == PayoutStatus::Paid {
        if payout.reference.as_deref() == Some(reference) {
            return payout_view(conn, payout, &enrollment.referral_code, &name);
        }
        return Err(ReferralError::Conflict(format!(
            "payout {} was already marked paid with reference {}",
            payout.id,
            payout.reference.as_deref().unwrap_or("")
        )));
    }
    if !store::mark_payout_paid(conn, &payout.id, reference, now)? {
        return Err(ReferralError::Conflict(
            "the payout was marked paid meanwhile; reload".into(),
        ));
    }
    for c in store::commissions_of_payout(conn, &payout.id)? {
        if store::mark_commission_paid(conn, &c.id, &payout.id, now)? {
            store::insert_transition(
                conn,
                &c.id,
                Some(CommissionStatus::Approved),
                CommissionStatus::Paid,
                &format!("payout {} sent, reference {reference}", payout.id),
                actor.user_id(),
                now,
            )?;
        }
    }
    let vendor_id = store::find_program(conn, &payout.program_id)?.map(|p| p.vendor_id);
    if let Some(vendor_id) = &vendor_id {
        webhooks::emit(
            conn,
            vendor_id,
            EventType::PayoutPaid,
            &payout.id,
            now,
            |_| {
                Ok(json!({
                    "payout_id": payout.id,
                    "program_id": payout.program_id,
                    "enrollment_id": payout.enrollment_id,
                    "referral_code": enrollment.referral_code,
                    "amount_minor": payout.amount_minor,
                    "currency": payout.currency,
                    "reference": reference,
                    "paid_at": rfc3339_seconds(now),
                }))
            },
        )?;
    }
    audit::record(
        conn,
        actor,
        Action::PayoutMarkedPaid,
        vendor_id.as_deref(),
        &payout.id,
        json!({
            "reference": reference,
            "amount_minor": payout.amount_minor,
            "currency": payout.currency,
        }),
        now,
    )?;
    mail::enqueue(
        conn,
        &mail::templates::payout_sent(
            &email,
            &name,
            &format_amount(payout.amount_minor, &payout.currency),
            reference,
            &links.referrals_dashboard(),
        ),
        now,
    )?;
    let fresh = store::find_payout(conn, &payout.id)?
        .ok_or_else(|| ReferralError::Internal("payout vanished".into()))?;
    payout_view(conn, &fresh, &enrollment.referral_code, &name)
}

pub fn list_payouts(
    conn: &mut DbConn,
    program: &Program,
) -> Result<Vec<PayoutView>, ReferralError> {
    let rows = store::payouts_of_program(conn, &program.id)?;
    rows.iter()
        .map(|(payout, code, name, _)| payout_view(conn, payout, code, name))
        .collect()
}

/// All payouts of the program as CSV (for the bank transfer or the bookkeeping).
pub fn payouts_csv(conn: &mut DbConn, program: &Program) -> Result<String, ReferralError> {
    let rows = store::payouts_of_program(conn, &program.id)?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let internal = |e: csv::Error| ReferralError::Internal(e.to_string());
    writer
        .write_record([
            "payout_id",
            "created_at",
            "status",
            "paid_at",
            "reference",
            "enrollment_id",
            "referral_code",
            "advocate_name",
            "advocate_email",
            "amount_minor",
            "amount",
            "currency",
        ])
        .map_err(internal)?;
    for (payout, code, name, email) in rows {
        let amount = format_amount(payout.amount_minor, &payout.currency);
        let amount = amount.split(' ').next().unwrap_or("").to_string();
        writer
            .write_record([
                payout.id.clone(),
                rfc3339_seconds(payout.created_at),
                payout.status.to_string(),
                payout.paid_at.map(rfc3339_seconds).unwrap_or_default(),
                csv_cell(payout.reference.as_deref().unwrap_or("")),
                payout.enrollment_id.clone(),
                code,
                csv_cell(&name),
                csv_cell(&email),
                payout.amount_minor.to_string(),
                amount,
                payout.currency.clone(),
            ])
            .map_err(internal)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ReferralError::Internal(e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| ReferralError::Internal(e.to_string()))
}
