//! The only place that touches `audit_events`: one insert and the readers. There is deliberately
//! no update or delete (the table's triggers refuse both; `tests/it/audit.rs` greps for them).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;

use super::{Action, Actor, ActorKind};
use crate::clock::rfc3339_seconds;
use crate::db::schema::audit_events;
use crate::db::{new_id, DbConn};

pub struct NewEvent<'a> {
    pub vendor_id: Option<&'a str>,
    pub actor: &'a Actor,
    pub action: Action,
    pub subject_id: &'a str,
    pub details: &'a Value,
}

pub fn insert(conn: &mut DbConn, event: &NewEvent<'_>, now: NaiveDateTime) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::id.eq(new_id()),
            audit_events::vendor_id.eq(event.vendor_id),
            audit_events::actor_kind.eq(event.actor.kind.as_str()),
            audit_events::actor_id.eq(event.actor.id.as_deref()),
            audit_events::actor_display.eq(&event.actor.display),
            audit_events::action.eq(event.action.as_str()),
            audit_events::subject_type.eq(event.action.subject_type()),
            audit_events::subject_id.eq(event.subject_id),
            audit_events::details.eq(event.details.to_string()),
            audit_events::client_address.eq(event.actor.address.as_deref()),
            audit_events::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct EventRow {
    pub id: String,
    pub vendor_id: Option<String>,
    #[diesel(deserialize_as = String)]
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_display: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    pub details: String,
    pub client_address: Option<String>,
    pub created_at: NaiveDateTime,
}

/// One row as the API, the CSV export and the CLI show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
pub struct EventView {
    pub id: String,
    #[schema(format = DateTime)]
    pub at: String,
    pub vendor_id: Option<String>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<String>,
    pub actor_display: String,
    pub action: String,
    pub subject_type: String,
    pub subject_id: String,
    /// What changed, as the action records it.
    pub details: Value,
    pub client_address: Option<String>,
}

impl From<EventRow> for EventView {
    fn from(row: EventRow) -> Self {
        EventView {
            id: row.id,
            at: rfc3339_seconds(row.created_at),
            vendor_id: row.vendor_id,
            actor_kind: row.actor_kind,
            actor_id: row.actor_id,
            actor_display: row.actor_display,
            action: row.action,
            subject_type: row.subject_type,
            subject_id: row.subject_id,
            // Written by `insert` from a `Value`; anything else is shown as the text it is.
            details: serde_json::from_str(&row.details).unwrap_or(Value::String(row.details)),
            client_address: row.client_address,
        }
    }
}

/// A page of the trail, newest first: one vendor's (`Some`) or everything (`None`, operators).
pub fn page(
    conn: &mut DbConn,
    vendor_id: Option<&str>,
    limit: i64,
    offset: i64,
) -> QueryResult<Vec<EventView>> {
    let mut query = audit_events::table
        .select(EventRow::as_select())
        .order((audit_events::created_at.desc(), audit_events::id.desc()))
        .limit(limit)
        .offset(offset)
        .into_boxed();
    if let Some(vendor_id) = vendor_id {
        query = query.filter(audit_events::vendor_id.eq(vendor_id));
    }
    Ok(query
        .load::<EventRow>(conn)?
        .into_iter()
        .map(EventView::from)
        .collect())
}

/// How many rows [`page`] can page through.
pub fn count(conn: &mut DbConn, vendor_id: Option<&str>) -> QueryResult<i64> {
    let mut query = audit_events::table.count().into_boxed();
    if let Some(vendor_id) = vendor_id {
        query = query.filter(audit_events::vendor_id.eq(vendor_id));
    }
    query.get_result(conn)
}
