//! Funnel counts (read-only over users, attempts, credentials) and enrolment dates.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{attempts, credentials, enrollments, exams, users};
use crate::db::DbConn;

pub fn count_users(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// People with at least one attempt at one of the vendor's exams.
pub fn count_attempters(conn: &mut DbConn, vendor_id: &str) -> QueryResult<i64> {
    let ids: Vec<String> = attempts::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .select(attempts::user_id)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// People ever certified by the vendor (any credential, current or not).
pub fn count_certified(conn: &mut DbConn, vendor_id: &str) -> QueryResult<i64> {
    let ids: Vec<String> = credentials::table
        .filter(credentials::vendor_id.eq(vendor_id))
        .select(credentials::user_id)
        .distinct()
        .load(conn)?;
    Ok(i64::try_from(ids.len()).unwrap_or(i64::MAX))
}

/// Enrollment ids with their enrolment time (the disclosure counts people enrolled per year).
pub fn enrollment_dates(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<Vec<(String, NaiveDateTime)>> {
    enrollments::table
        .filter(enrollments::program_id.eq(program_id))
        .select((enrollments::id, enrollments::enrolled_at))
        .load(conn)
}
