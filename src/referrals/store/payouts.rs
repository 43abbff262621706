//! Payouts.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{enrollments, payouts, users};
use crate::db::DbConn;
use crate::referrals::{Payout, PayoutStatus, Program};

pub fn insert_payout(
    conn: &mut DbConn,
    id: &str,
    program: &Program,
    enrollment_id: &str,
    amount_minor: i64,
    created_by: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(payouts::table)
        .values((
            payouts::id.eq(id),
            payouts::program_id.eq(&program.id),
            payouts::enrollment_id.eq(enrollment_id),
            payouts::amount_minor.eq(amount_minor),
            payouts::currency.eq(&program.currency),
            payouts::status.eq(PayoutStatus::Pending.as_str()),
            payouts::created_by.eq(created_by),
            payouts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_payout(conn: &mut DbConn, id: &str) -> QueryResult<Option<Payout>> {
    payouts::table
        .find(id)
        .select(Payout::as_select())
        .first(conn)
        .optional()
}

/// pending → paid with the reference, once.
pub fn mark_payout_paid(
    conn: &mut DbConn,
    id: &str,
    reference: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let n = diesel::update(
        payouts::table
            .filter(payouts::id.eq(id))
            .filter(payouts::status.eq(PayoutStatus::Pending.as_str())),
    )
    .set((
        payouts::status.eq(PayoutStatus::Paid.as_str()),
        payouts::reference.eq(reference),
        payouts::paid_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Payouts of a program with the advocate, newest first.
pub fn payouts_of_program(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<Vec<(Payout, String, String, String)>> {
    payouts::table
        .inner_join(enrollments::table.inner_join(users::table))
        .filter(payouts::program_id.eq(program_id))
        .order((payouts::created_at.desc(), payouts::id.desc()))
        .select((
            Payout::as_select(),
            enrollments::referral_code,
            users::display_name,
            users::email,
        ))
        .load(conn)
}

pub fn payouts_of_enrollment(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<Vec<Payout>> {
    payouts::table
        .filter(payouts::enrollment_id.eq(enrollment_id))
        .order((payouts::created_at.desc(), payouts::id.desc()))
        .select(Payout::as_select())
        .load(conn)
}
