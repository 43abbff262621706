//! Customers bound to an advocate.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::customers;
use crate::db::DbConn;
use crate::referrals::Customer;

pub fn find_customer(
    conn: &mut DbConn,
    program_id: &str,
    external_id: &str,
) -> QueryResult<Option<Customer>> {
    customers::table
        .filter(customers::program_id.eq(program_id))
        .filter(customers::external_id.eq(external_id))
        .select(Customer::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomer<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub external_id: &'a str,
    pub enrollment_id: &'a str,
    pub click_id: Option<&'a str>,
    pub email: Option<&'a str>,
    pub bound_at: NaiveDateTime,
}

/// Inserts the binding unless `(program, external_id)` is bound already; `true` when this call
/// bound it. On PostgreSQL a concurrent binder waits for the first one's commit and then does
/// nothing, so the first binding wins without an aborted transaction.
pub fn insert_customer_if_absent(conn: &mut DbConn, new: &NewCustomer<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(customers::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(customers::table)
            .values(new)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn customers_by_enrollment(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, i64)> = customers::table
        .filter(customers::program_id.eq(program_id))
        .group_by(customers::enrollment_id)
        .select((customers::enrollment_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

pub fn customers_of_enrollment(conn: &mut DbConn, enrollment_id: &str) -> QueryResult<i64> {
    customers::table
        .filter(customers::enrollment_id.eq(enrollment_id))
        .count()
        .get_result(conn)
}
