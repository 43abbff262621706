//! Webhook storage: endpoints, and deliveries as a work queue. A sender claims due rows with a
//! lease (`locked_by`, `locked_until`), as the mail outbox does: on PostgreSQL the claim skips
//! rows another node holds (`FOR UPDATE SKIP LOCKED`), on SQLite the write transaction
//! (`BEGIN IMMEDIATE`) is exclusive. Only the lease holder may record the outcome.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;
use serde::Serialize;
use serde_json::{json, Value};

use super::{DeliveryStatus, EventType};
use crate::clock::rfc3339_seconds;
use crate::db::schema::{credentials, exams, users, webhook_deliveries, webhook_endpoints};
use crate::db::{self, new_id, transaction, DbConn};
use crate::links::Links;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointRow {
    pub id: String,
    pub vendor_id: String,
    pub url: String,
    /// Event types, space-separated.
    pub events: String,
    pub secret_sealed: String,
    pub created_at: NaiveDateTime,
    pub secret_rotated_at: NaiveDateTime,
}

impl EndpointRow {
    pub fn subscribes(&self, event: EventType) -> bool {
        self.events.split_whitespace().any(|e| e == event.as_str())
    }
}

pub fn insert_endpoint(conn: &mut DbConn, row: &EndpointRow) -> QueryResult<()> {
    diesel::insert_into(webhook_endpoints::table)
        .values(row)
        .execute(conn)
        .map(drop)
}

pub fn count_endpoints(conn: &mut DbConn, vendor_id: &str) -> QueryResult<i64> {
    webhook_endpoints::table
        .filter(webhook_endpoints::vendor_id.eq(vendor_id))
        .filter(webhook_endpoints::deleted_at.is_null())
        .count()
        .get_result(conn)
}

/// A vendor's endpoint that is not deleted.
pub fn find_endpoint(
    conn: &mut DbConn,
    vendor_id: &str,
    id: &str,
) -> QueryResult<Option<EndpointRow>> {
    webhook_endpoints::table
        .find(id)
        .filter(webhook_endpoints::vendor_id.eq(vendor_id))
        .filter(webhook_endpoints::deleted_at.is_null())
        .select(EndpointRow::as_select())
        .first(conn)
        .optional()
}

pub fn list_endpoints(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<EndpointRow>> {
    live_endpoints(conn, Some(vendor_id))
}

/// Endpoints not deleted: one vendor's, or every vendor's with `None`; oldest first.
pub fn live_endpoints(conn: &mut DbConn, vendor_id: Option<&str>) -> QueryResult<Vec<EndpointRow>> {
    db::on_backend!(conn, |c| {
        let live = webhook_endpoints::table
            .filter(webhook_endpoints::deleted_at.is_null())
            .order((
                webhook_endpoints::created_at.asc(),
                webhook_endpoints::id.asc(),
            ))
            .select(EndpointRow::as_select());
        match vendor_id {
            Some(vendor_id) => live
                .filter(webhook_endpoints::vendor_id.eq(vendor_id))
                .load(c),
            None => live.load(c),
        }
    })
}

pub fn update_secret(
    conn: &mut DbConn,
    id: &str,
    secret_sealed: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(webhook_endpoints::table.find(id))
        .set((
            webhook_endpoints::secret_sealed.eq(secret_sealed),
            webhook_endpoints::secret_rotated_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

/// Marks the endpoint deleted and cancels its pending deliveries; returns how many.
pub fn delete_endpoint(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(webhook_endpoints::table.find(id))
        .set(webhook_endpoints::deleted_at.eq(now))
        .execute(conn)?;
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::endpoint_id.eq(id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Cancelled.as_str()),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
}

/// Queues one delivery; 0 when this endpoint already has this event for this subject.
pub fn insert_delivery(
    conn: &mut DbConn,
    endpoint_id: &str,
    event: EventType,
    subject_id: &str,
    payload: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let values = (
        webhook_deliveries::id.eq(new_id()),
        webhook_deliveries::endpoint_id.eq(endpoint_id),
        webhook_deliveries::event_type.eq(event.as_str()),
        webhook_deliveries::subject_id.eq(subject_id),
        webhook_deliveries::payload.eq(payload),
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::attempts.eq(0),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::retry_from.eq(now),
        webhook_deliveries::created_at.eq(now),
    );
    match conn {
        DbConn::Postgres(pg) => diesel::insert_into(webhook_deliveries::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(pg),
        DbConn::Sqlite(sqlite) => diesel::insert_into(webhook_deliveries::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(sqlite),
    }
}

/// A delivery as the console and the API list it (the payload too: it holds no secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookDelivery)]
pub struct DeliveryView {
    /// The `webhook-id` header of every attempt.
    pub id: String,
    pub endpoint_id: String,
    pub event_type: String,
    pub subject_id: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    /// The HTTP status of the last answer; none when the last attempt got no answer.
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub next_attempt_at: Option<String>,
    #[schema(format = DateTime)]
    pub delivered_at: Option<String>,
}

/// The columns of `delivery_columns!`, in that order.
#[derive(Queryable)]
struct DeliveryRow {
    id: String,
    endpoint_id: String,
    event_type: String,
    subject_id: String,
    #[diesel(deserialize_as = String)]
    status: DeliveryStatus,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<String>,
    created_at: NaiveDateTime,
    next_attempt_at: NaiveDateTime,
    delivered_at: Option<NaiveDateTime>,
}

fn delivery_view(row: DeliveryRow) -> DeliveryView {
    DeliveryView {
        next_attempt_at: (row.status == DeliveryStatus::Pending)
            .then(|| rfc3339_seconds(row.next_attempt_at)),
        id: row.id,
        endpoint_id: row.endpoint_id,
        event_type: row.event_type,
        subject_id: row.subject_id,
        status: row.status,
        attempts: row.attempts,
        last_status: row.last_status,
        last_error: row.last_error,
        created_at: rfc3339_seconds(row.created_at),
        delivered_at: row.delivered_at.map(rfc3339_seconds),
    }
}

macro_rules! delivery_columns {
    () => {
        (
            webhook_deliveries::id,
            webhook_deliveries::endpoint_id,
            webhook_deliveries::event_type,
            webhook_deliveries::subject_id,
            webhook_deliveries::status,
            webhook_deliveries::attempts,
            webhook_deliveries::last_status,
            webhook_deliveries::last_error,
            webhook_deliveries::created_at,
            webhook_deliveries::next_attempt_at,
            webhook_deliveries::delivered_at,
        )
    };
}

pub fn list_deliveries(
    conn: &mut DbConn,
    endpoint_id: &str,
    limit: i64,
) -> QueryResult<Vec<DeliveryView>> {
    let rows: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(endpoint_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(delivery_columns!())
        .load(conn)?;
    Ok(rows.into_iter().map(delivery_view).collect())
}

/// One of the vendor's deliveries.
pub fn find_delivery(
    conn: &mut DbConn,
    vendor_id: &str,
    id: &str,
) -> QueryResult<Option<DeliveryView>> {
    let row: Option<DeliveryRow> = webhook_deliveries::table
        .inner_join(webhook_endpoints::table)
        .filter(webhook_deliveries::id.eq(id))
        .filter(webhook_endpoints::vendor_id.eq(vendor_id))
        .select(delivery_columns!())
        .first(conn)
        .optional()?;
    Ok(row.map(delivery_view))
}

/// Makes a delivery due now with a fresh retry window; false while a sender holds its lease.
pub fn requeue(conn: &mut DbConn, id: &str, now: NaiveDateTime) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::status.ne(DeliveryStatus::Cancelled.as_str()))
            .filter(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.lt(now)),
            ),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::retry_from.eq(now),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// A claimed delivery with what sending it needs.
#[derive(Debug, Clone, Queryable)]
pub struct ClaimedDelivery {
    pub id: String,
    pub endpoint_id: String,
    pub payload: String,
    pub attempts: i32,
    pub retry_from: NaiveDateTime,
    pub url: String,
    pub secret_sealed: String,
}

/// Claims up to `limit` due deliveries for `worker` until `now + lease`.
pub fn claim_due(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<ClaimedDelivery>> {
    transaction(conn, |conn| {
        let due = webhook_deliveries::table
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
            .filter(webhook_deliveries::next_attempt_at.le(now))
            .filter(
                webhook_deliveries::locked_until
                    .is_null()
                    .or(webhook_deliveries::locked_until.lt(now)),
            )
            .order(webhook_deliveries::next_attempt_at.asc())
            .limit(limit)
            .select(webhook_deliveries::id);
        let ids: Vec<String> = match conn {
            DbConn::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConn::Sqlite(sqlite) => due.load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
            .set((
                webhook_deliveries::locked_by.eq(worker),
                webhook_deliveries::locked_until.eq(now + lease),
            ))
            .execute(conn)?;
        webhook_deliveries::table
            .inner_join(webhook_endpoints::table)
            .filter(webhook_deliveries::id.eq_any(&ids))
            .order(webhook_deliveries::next_attempt_at.asc())
            .select((
                webhook_deliveries::id,
                webhook_deliveries::endpoint_id,
                webhook_deliveries::payload,
                webhook_deliveries::attempts,
                webhook_deliveries::retry_from,
                webhook_endpoints::url,
                webhook_endpoints::secret_sealed,
            ))
            .load(conn)
    })
}

/// Records a successful attempt; false if the lease was lost (another worker took the row over).
pub fn mark_delivered(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    http_status: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        webhook_deliveries::table
            .find(id)
            .filter(webhook_deliveries::locked_by.eq(worker))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Delivered.as_str()),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_status.eq(Some(http_status)),
        webhook_deliveries::last_error.eq(None::<String>),
        webhook_deliveries::delivered_at.eq(now),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Records a failed attempt: due again at `next`, or failed for good with `None`.
pub fn mark_attempt_failed(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    http_status: Option<i32>,
    error: &str,
    next: Option<NaiveDateTime>,
) -> QueryResult<bool> {
    let (status, next_attempt) = match next {
        Some(at) => (DeliveryStatus::Pending, Some(at)),
        None => (DeliveryStatus::Failed, None),
    };
    let target = webhook_deliveries::table
        .find(id)
        .filter(webhook_deliveries::locked_by.eq(worker))
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()));
    let common = (
        webhook_deliveries::status.eq(status.as_str()),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_status.eq(http_status),
        webhook_deliveries::last_error.eq(error.chars().take(500).collect::<String>()),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::locked_until.eq(None::<NaiveDateTime>),
    );
    let updated = match next_attempt {
        Some(at) => diesel::update(target)
            .set((common, webhook_deliveries::next_attempt_at.eq(at)))
            .execute(conn)?,
        None => diesel::update(target).set(common).execute(conn)?,
    };
    Ok(updated == 1)
}

/// Deliveries not yet delivered (for `/metrics`).
pub fn pending_count(conn: &mut DbConn) -> QueryResult<i64> {
    webhook_deliveries::table
        .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str()))
        .count()
        .get_result(conn)
}

/// Ids of the endpoint vendor's credentials that expired after the endpoint was created and
/// before `now`, still current (not revoked, not superseded), and not yet queued for it.
pub fn unannounced_expirations(
    conn: &mut DbConn,
    endpoint: &EndpointRow,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    let announced = webhook_deliveries::table
        .filter(webhook_deliveries::endpoint_id.eq(&endpoint.id))
        .filter(webhook_deliveries::event_type.eq(EventType::CredentialExpired.as_str()))
        .filter(webhook_deliveries::subject_id.eq(credentials::id));
    credentials::table
        .filter(credentials::vendor_id.eq(&endpoint.vendor_id))
        .filter(credentials::valid_until.le(now))
        .filter(credentials::valid_until.gt(endpoint.created_at))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::superseded_by.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(announced)))
        .order(credentials::valid_until.asc())
        .limit(limit)
        .select(credentials::id)
        .load(conn)
}

/// The `data` of credential events: the credential's facts as stored now.
pub fn credential_data(
    conn: &mut DbConn,
    links: &Links,
    credential_id: &str,
) -> QueryResult<Value> {
    #[allow(clippy::type_complexity)]
    let (id, exam, holder_id, email, name, valid_from, valid_until, revoked_at, reason): (
        String,
        String,
        String,
        String,
        String,
        NaiveDateTime,
        Option<NaiveDateTime>,
        Option<NaiveDateTime>,
        Option<String>,
    ) = credentials::table
        .inner_join(exams::table.on(exams::id.eq(credentials::exam_id)))
        .inner_join(users::table.on(users::id.eq(credentials::user_id)))
        .filter(credentials::id.eq(credential_id))
        .select((
            credentials::id,
            exams::slug,
            users::id,
            users::email,
            users::display_name,
            credentials::valid_from,
            credentials::valid_until,
            credentials::revoked_at,
            credentials::revocation_reason,
        ))
        .first(conn)?;
    Ok(json!({
        "credential_id": id,
        "exam": exam,
        "holder": {"id": holder_id, "email": email, "name": name},
        "valid_from": rfc3339_seconds(valid_from),
        "valid_until": valid_until.map(rfc3339_seconds),
        "revoked_at": revoked_at.map(rfc3339_seconds),
        "revocation_reason": reason,
        "url": links.credential_page(&id),
        "json_url": links.url(&format!("/api/v1/credentials/{id}")),
    }))
}
