//! Every query of `stripe_settings`, `exam_checkout` and `stripe_events`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{exam_checkout, stripe_events, stripe_settings};
use crate::db::DbConn;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = stripe_settings)]
pub struct StripeSettings {
    pub vendor_id: String,
    /// Sealed (`referrals::sealed`), bound to the vendor.
    pub webhook_secret: String,
    /// `whsec_…` plus the last four characters: enough to recognize it, not to use it.
    pub secret_hint: String,
    pub updated_at: NaiveDateTime,
}

pub fn settings(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Option<StripeSettings>> {
    stripe_settings::table
        .find(vendor_id)
        .select(StripeSettings::as_select())
        .first(conn)
        .optional()
}

pub fn save_settings(
    conn: &mut DbConn,
    vendor_id: &str,
    sealed_secret: &str,
    hint: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let changed = diesel::update(stripe_settings::table.find(vendor_id))
        .set((
            stripe_settings::webhook_secret.eq(sealed_secret),
            stripe_settings::secret_hint.eq(hint),
            stripe_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(stripe_settings::table)
            .values((
                stripe_settings::vendor_id.eq(vendor_id),
                stripe_settings::webhook_secret.eq(sealed_secret),
                stripe_settings::secret_hint.eq(hint),
                stripe_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn payment_link(conn: &mut DbConn, exam_id: &str) -> QueryResult<Option<String>> {
    exam_checkout::table
        .find(exam_id)
        .select(exam_checkout::payment_link)
        .first(conn)
        .optional()
}

pub fn save_payment_link(
    conn: &mut DbConn,
    exam_id: &str,
    link: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let changed = diesel::update(exam_checkout::table.find(exam_id))
        .set((
            exam_checkout::payment_link.eq(link),
            exam_checkout::updated_at.eq(now),
        ))
        .execute(conn)?;
    if changed == 0 {
        diesel::insert_into(exam_checkout::table)
            .values((
                exam_checkout::exam_id.eq(exam_id),
                exam_checkout::payment_link.eq(link),
                exam_checkout::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable, serde::Serialize)]
#[diesel(table_name = stripe_events)]
pub struct StripeEvent {
    pub vendor_id: String,
    pub event_id: String,
    pub event_type: String,
    pub order_id: Option<String>,
    pub outcome: String,
    pub detail: String,
    pub received_at: NaiveDateTime,
}

/// Claims an event id for the vendor; `false` when it was received before (or a concurrent
/// delivery holds it: PostgreSQL waits for that one's commit, SQLite's writers queue).
pub fn claim_event(
    conn: &mut DbConn,
    vendor_id: &str,
    event_id: &str,
    event_type: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let values = (
        stripe_events::vendor_id.eq(vendor_id),
        stripe_events::event_id.eq(event_id),
        stripe_events::event_type.eq(event_type),
        stripe_events::outcome.eq("received"),
        stripe_events::detail.eq(""),
        stripe_events::received_at.eq(now),
    );
    let inserted = match conn {
        DbConn::Sqlite(c) => diesel::insert_into(stripe_events::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c)?,
        DbConn::Postgres(c) => diesel::insert_into(stripe_events::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(c)?,
    };
    Ok(inserted == 1)
}

pub fn set_event_outcome(
    conn: &mut DbConn,
    vendor_id: &str,
    event_id: &str,
    order_id: Option<&str>,
    outcome: &str,
    detail: &str,
) -> QueryResult<()> {
    diesel::update(stripe_events::table.find((vendor_id, event_id)))
        .set((
            stripe_events::order_id.eq(order_id),
            stripe_events::outcome.eq(outcome),
            stripe_events::detail.eq(detail),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn find_event(
    conn: &mut DbConn,
    vendor_id: &str,
    event_id: &str,
) -> QueryResult<Option<StripeEvent>> {
    stripe_events::table
        .find((vendor_id, event_id))
        .select(StripeEvent::as_select())
        .first(conn)
        .optional()
}

pub fn recent_events(
    conn: &mut DbConn,
    vendor_id: &str,
    limit: i64,
) -> QueryResult<Vec<StripeEvent>> {
    stripe_events::table
        .filter(stripe_events::vendor_id.eq(vendor_id))
        .order((
            stripe_events::received_at.desc(),
            stripe_events::event_id.desc(),
        ))
        .limit(limit)
        .select(StripeEvent::as_select())
        .load(conn)
}
