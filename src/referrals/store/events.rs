//! The billing-event inbox.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{billing_events, customers};
use crate::db::DbConn;
use crate::referrals::{BillingEvent, BillingEventKind};

pub fn find_event(
    conn: &mut DbConn,
    program_id: &str,
    source: &str,
    external_event_id: &str,
) -> QueryResult<Option<BillingEvent>> {
    billing_events::table
        .filter(billing_events::program_id.eq(program_id))
        .filter(billing_events::source.eq(source))
        .filter(billing_events::external_event_id.eq(external_event_id))
        .select(BillingEvent::as_select())
        .first(conn)
        .optional()
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = billing_events)]
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub program_id: &'a str,
    pub source: &'a str,
    pub external_event_id: &'a str,
    #[diesel(serialize_as = String)]
    pub kind: BillingEventKind,
    pub invoice_id: &'a str,
    pub customer_external_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub occurred_at: NaiveDateTime,
    pub payload: &'a str,
    pub effect: &'a str,
    pub received_at: NaiveDateTime,
}

/// Stores the event unless its `(program, source, external_event_id)` is stored already; `true`
/// when this call stored it (see [`insert_customer_if_absent`](super::insert_customer_if_absent) for the PostgreSQL behaviour).
pub fn insert_event_if_absent(conn: &mut DbConn, new: &NewEvent<'_>) -> QueryResult<bool> {
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(billing_events::table)
            .values(new.clone())
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(billing_events::table)
            .values(new.clone())
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn set_event_effect(conn: &mut DbConn, event_id: &str, effect: &str) -> QueryResult<()> {
    diesel::update(billing_events::table.find(event_id))
        .set(billing_events::effect.eq(effect))
        .execute(conn)?;
    Ok(())
}

pub fn recent_events(
    conn: &mut DbConn,
    program_id: &str,
    limit: i64,
) -> QueryResult<Vec<BillingEvent>> {
    billing_events::table
        .filter(billing_events::program_id.eq(program_id))
        .order((
            billing_events::received_at.desc(),
            billing_events::id.desc(),
        ))
        .limit(limit)
        .select(BillingEvent::as_select())
        .load(conn)
}

/// Distinct paid invoices of bound customers, per enrollment (the funnel's "invoices" step).
pub fn invoices_by_enrollment(
    conn: &mut DbConn,
    program_id: &str,
) -> QueryResult<HashMap<String, i64>> {
    let rows: Vec<(String, String)> = billing_events::table
        .inner_join(
            customers::table.on(customers::program_id
                .eq(billing_events::program_id)
                .and(customers::external_id.eq(billing_events::customer_external_id))),
        )
        .filter(billing_events::program_id.eq(program_id))
        .filter(billing_events::kind.eq(BillingEventKind::InvoicePaid.as_str()))
        .select((customers::enrollment_id, billing_events::invoice_id))
        .distinct()
        .load(conn)?;
    let mut counts = HashMap::new();
    for (enrollment_id, _) in rows {
        *counts.entry(enrollment_id).or_insert(0) += 1;
    }
    Ok(counts)
}
