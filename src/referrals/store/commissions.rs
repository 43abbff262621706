//! Commissions and their transitions log.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{commission_transitions, commissions};
use crate::db::{new_id, DbConn};
use crate::referrals::{Commission, CommissionKind, CommissionStatus};

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = commissions)]
pub struct NewCommission<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub enrollment_id: &'a str,
    pub customer_id: &'a str,
    pub billing_event_id: &'a str,
    pub invoice_id: &'a str,
    #[diesel(serialize_as = String)]
    pub kind: CommissionKind,
    pub base_minor: i64,
    pub rate_bps: i32,
    pub amount_minor: i64,
    pub currency: &'a str,
    #[diesel(serialize_as = String)]
    pub status: CommissionStatus,
    pub held: bool,
    pub held_reason: Option<&'a str>,
    pub hold_until: NaiveDateTime,
    pub tier_snapshot: &'a str,
    pub payout_id: Option<&'a str>,
    pub reverses_id: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert_commission(conn: &mut DbConn, new: &NewCommission<'_>) -> QueryResult<()> {
    diesel::insert_into(commissions::table)
        .values(new.clone())
        .execute(conn)?;
    Ok(())
}

pub fn find_commission(conn: &mut DbConn, id: &str) -> QueryResult<Option<Commission>> {
    commissions::table
        .find(id)
        .select(Commission::as_select())
        .first(conn)
        .optional()
}

pub fn find_commission_by_key(conn: &mut DbConn, key: &str) -> QueryResult<Option<Commission>> {
    commissions::table
        .filter(commissions::idempotency_key.eq(key))
        .select(Commission::as_select())
        .first(conn)
        .optional()
}

/// Appends to the transitions log (never updated or deleted).
pub fn insert_transition(
    conn: &mut DbConn,
    commission_id: &str,
    from: Option<CommissionStatus>,
    to: CommissionStatus,
    reason: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(commission_transitions::table)
        .values((
            commission_transitions::id.eq(new_id()),
            commission_transitions::commission_id.eq(commission_id),
            commission_transitions::from_status.eq(from.map(CommissionStatus::as_str)),
            commission_transitions::to_status.eq(to.as_str()),
            commission_transitions::reason.eq(reason),
            commission_transitions::actor.eq(actor),
            commission_transitions::at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable)]
pub struct Transition {
    pub from_status: Option<String>,
    pub to_status: String,
    pub reason: String,
    pub actor: Option<String>,
    pub at: NaiveDateTime,
}

pub fn transitions_of(conn: &mut DbConn, commission_id: &str) -> QueryResult<Vec<Transition>> {
    commission_transitions::table
        .filter(commission_transitions::commission_id.eq(commission_id))
        .order((
            commission_transitions::at.asc(),
            commission_transitions::id.asc(),
        ))
        .select((
            commission_transitions::from_status,
            commission_transitions::to_status,
            commission_transitions::reason,
            commission_transitions::actor,
            commission_transitions::at,
        ))
        .load(conn)
}

/// Moves a commission from one status to another if it still has the expected one (and, for
/// pending → approved, is not held). `true` when this call made the change; paid rows never
/// match because no caller passes `paid` as the expected status.
pub fn change_status(
    conn: &mut DbConn,
    commission_id: &str,
    from: CommissionStatus,
    to: CommissionStatus,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    debug_assert_ne!(
        from,
        CommissionStatus::Paid,
        "paid commissions are never edited"
    );
    let target = commissions::table
        .filter(commissions::id.eq(commission_id))
        .filter(commissions::status.eq(from.as_str()));
    let set = (
        commissions::status.eq(to.as_str()),
        commissions::updated_at.eq(now),
    );
    let n = if to == CommissionStatus::Approved {
        diesel::update(target.filter(commissions::held.eq(false)))
            .set(set)
            .execute(conn)?
    } else {
        diesel::update(target.filter(commissions::payout_id.is_null()))
            .set(set)
            .execute(conn)?
    };
    Ok(n == 1)
}

/// Marks an approved commission of a payout paid (the only way into `paid`).
pub fn mark_commission_paid(
    conn: &mut DbConn,
    commission_id: &str,
    payout_id: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        commissions::table
            .filter(commissions::id.eq(commission_id))
            .filter(commissions::payout_id.eq(payout_id))
            .filter(commissions::status.eq(CommissionStatus::Approved.as_str())),
    )
    .set((
        commissions::status.eq(CommissionStatus::Paid.as_str()),
        commissions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

pub fn set_hold(
    conn: &mut DbConn,
    commission_id: &str,
    held: bool,
    reason: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        commissions::table
            .filter(commissions::id.eq(commission_id))
            .filter(commissions::status.eq(CommissionStatus::Pending.as_str()))
            .filter(commissions::held.eq(!held)),
    )
    .set((
        commissions::held.eq(held),
        commissions::held_reason.eq(reason),
        commissions::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sale rows of one invoice, oldest first.
pub fn sales_of_invoice(
    conn: &mut DbConn,
    program_id: &str,
    invoice_id: &str,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .filter(commissions::invoice_id.eq(invoice_id))
        .filter(commissions::kind.eq(CommissionKind::Sale.as_str()))
        .order((commissions::created_at.asc(), commissions::id.asc()))
        .select(Commission::as_select())
        .load(conn)
}

/// Sum of the (negative) bases already clawed back from a sale.
pub fn clawed_back_base(conn: &mut DbConn, sale_id: &str) -> QueryResult<i64> {
    let bases: Vec<i64> = commissions::table
        .filter(commissions::reverses_id.eq(sale_id))
        .filter(commissions::kind.eq(CommissionKind::Clawback.as_str()))
        .select(commissions::base_minor)
        .load(conn)?;
    Ok(bases.into_iter().fold(0i64, i64::saturating_add))
}

/// Pending, not held commissions whose hold period ended.
pub fn due_for_approval(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::status.eq(CommissionStatus::Pending.as_str()))
        .filter(commissions::held.eq(false))
        .filter(commissions::hold_until.le(now))
        .order(commissions::hold_until.asc())
        .limit(limit)
        .select(Commission::as_select())
        .load(conn)
}

pub fn commissions_of_program(
    conn: &mut DbConn,
    program_id: &str,
    held_only: bool,
    limit: i64,
) -> QueryResult<Vec<Commission>> {
    let mut query = commissions::table
        .filter(commissions::program_id.eq(program_id))
        .into_boxed();
    if held_only {
        query = query
            .filter(commissions::held.eq(true))
            .filter(commissions::status.eq(CommissionStatus::Pending.as_str()));
    }
    query
        .order((commissions::created_at.desc(), commissions::id.desc()))
        .limit(limit)
        .select(Commission::as_select())
        .load(conn)
}

pub fn commissions_of_enrollment(
    conn: &mut DbConn,
    enrollment_id: &str,
) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::enrollment_id.eq(enrollment_id))
        .order((commissions::created_at.desc(), commissions::id.desc()))
        .select(Commission::as_select())
        .load(conn)
}

/// What the funnel and the disclosure need of a commission.
#[derive(Debug, Clone, Queryable)]
pub struct CommissionFact {
    pub enrollment_id: String,
    #[diesel(deserialize_as = String)]
    pub kind: CommissionKind,
    #[diesel(deserialize_as = String)]
    pub status: CommissionStatus,
    pub amount_minor: i64,
    pub created_at: NaiveDateTime,
}

/// Every commission of the program, reduced to [`CommissionFact`].
pub fn commission_facts(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<CommissionFact>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .select((
            commissions::enrollment_id,
            commissions::kind,
            commissions::status,
            commissions::amount_minor,
            commissions::created_at,
        ))
        .load(conn)
}

/// Approved commissions not yet in a payout (the payable balance), per enrollment.
pub fn payable_commissions(conn: &mut DbConn, program_id: &str) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::program_id.eq(program_id))
        .filter(commissions::status.eq(CommissionStatus::Approved.as_str()))
        .filter(commissions::payout_id.is_null())
        .order((commissions::enrollment_id.asc(), commissions::id.asc()))
        .select(Commission::as_select())
        .load(conn)
}

/// Attaches commissions to a payout unless another payout took them first.
pub fn attach_to_payout(conn: &mut DbConn, ids: &[String], payout_id: &str) -> QueryResult<usize> {
    diesel::update(
        commissions::table
            .filter(commissions::id.eq_any(ids))
            .filter(commissions::payout_id.is_null())
            .filter(commissions::status.eq(CommissionStatus::Approved.as_str())),
    )
    .set(commissions::payout_id.eq(payout_id))
    .execute(conn)
}

pub fn commissions_of_payout(conn: &mut DbConn, payout_id: &str) -> QueryResult<Vec<Commission>> {
    commissions::table
        .filter(commissions::payout_id.eq(payout_id))
        .select(Commission::as_select())
        .load(conn)
}
