//! Outbound webhooks, following the Standard Webhooks specification (docs/webhooks.md).
//!
//! A vendor owner registers endpoints (URL, event filter; the secret `whsec_<base64>` is shown
//! once and stored sealed under the master key). A domain event calls [`emit`] inside its own
//! transaction: one `webhook_deliveries` row per subscribed endpoint, unique per endpoint, event
//! type and subject, so the event and its deliveries commit together (the outbox pattern, as for
//! mail) and an event announced twice is queued once. The webhook job claims due rows with a
//! lease (`store::claim_due`), POSTs them through `sender` with the `webhook-id` (the delivery
//! id: the same on every retry and resend), `webhook-timestamp` and `webhook-signature` headers,
//! and retries failures with exponential backoff for `webhook_retry_hours`.

pub mod sender;
pub mod store;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Duration, NaiveDateTime};
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use url::{Host, Url};

use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::config::WebhookSettings;
use crate::db::text_enum::text_enum;
use crate::db::{DbConn, DbError};
use crate::links::Links;
use crate::net::is_public;
use crate::secrets::MasterKey;
use crate::validation::{field_error, FieldError};

pub use store::{DeliveryView, EndpointRow};

/// Prefix of endpoint secrets (Standard Webhooks): `whsec_` + base64 of 32 random bytes.
pub const SECRET_PREFIX: &str = "whsec_";
/// The master-key subkey that seals endpoint secrets (the endpoint id is the associated data).
const SEAL_SUBKEY: &str = "outbound-webhook-secret-aead";
/// Endpoints one vendor may have at once.
pub const MAX_ENDPOINTS: i64 = 20;
const MAX_URL_LEN: usize = 2000;

text_enum! {
    /// `webhook_deliveries.status`.
    #[derive(utoipa::ToSchema)]
    pub enum DeliveryStatus("webhook delivery status") {
        /// Due (again) at `next_attempt_at`.
        Pending = "pending",
        Delivered = "delivered",
        /// Retried for the whole retry window without success; the owner may resend it.
        Failed = "failed",
        /// The endpoint was deleted before the delivery succeeded.
        Cancelled = "cancelled",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("the input has problems")]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for WebhookError {
    fn from(e: diesel::result::Error) -> Self {
        WebhookError::Db(DbError::Query(e))
    }
}

/// The events a vendor can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    CredentialIssued,
    CredentialRevoked,
    CredentialExpired,
    AttemptGraded,
    CommissionApproved,
    PayoutPaid,
}

impl EventType {
    pub const ALL: [EventType; 6] = [
        EventType::CredentialIssued,
        EventType::CredentialRevoked,
        EventType::CredentialExpired,
        EventType::AttemptGraded,
        EventType::CommissionApproved,
        EventType::PayoutPaid,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::CredentialIssued => "credential.issued",
            EventType::CredentialRevoked => "credential.revoked",
            EventType::CredentialExpired => "credential.expired",
            EventType::AttemptGraded => "attempt.graded",
            EventType::CommissionApproved => "commission.approved",
            EventType::PayoutPaid => "payout.paid",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        EventType::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

/// A fresh endpoint secret: `whsec_` + standard base64 of 32 random bytes.
pub fn generate_secret() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes))
}

/// The `webhook-signature` header: `v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`,
/// keyed with the base64-decoded part of the `whsec_` secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .map_err(|_| "the stored endpoint secret is not base64".to_string())?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Checks an endpoint URL: absolute, `https` (or `http` when the operator allows it), no
/// credentials, and not a loopback, private or otherwise non-public address (unless allowed).
/// Host names are checked again when delivering: the sender resolves them to public addresses only.
pub fn check_target(text: &str, settings: &WebhookSettings) -> Result<Url, String> {
    let text = text.trim();
    if text.len() > MAX_URL_LEN {
        return Err(format!("at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(text)
        .map_err(|_| "enter an absolute URL such as https://example.com/hooks/credo".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if settings.allow_http => {}
        "http" => {
            return Err(
                "use an https:// URL (this server does not send webhooks over plain http)".into(),
            )
        }
        other => {
            return Err(format!(
                "`{other}:` URLs cannot receive webhooks; use https://"
            ))
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "leave the user name and password out of the URL; check the signature instead".into(),
        );
    }
    let private = |what: String| {
        Err(format!(
            "{what} is not a public address; webhooks go to the public internet only"
        ))
    };
    match url.host() {
        None => return Err("the URL has no host".into()),
        Some(_) if settings.allow_private => {}
        Some(Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            if name == "localhost" || name.ends_with(".localhost") {
                return private(name);
            }
        }
        Some(Host::Ipv4(ip)) if !is_public(ip.into()) => return private(ip.to_string()),
        Some(Host::Ipv6(ip)) if !is_public(ip.into()) => return private(ip.to_string()),
        Some(_) => {}
    }
    Ok(url)
}

/// Parses an event filter; an empty list subscribes to every event.
fn parse_events(events: &[String]) -> Result<Vec<EventType>, Vec<FieldError>> {
    if events.is_empty() {
        return Ok(EventType::ALL.to_vec());
    }
    let mut parsed = Vec::new();
    for name in events {
        let event = EventType::parse(name.trim()).ok_or_else(|| {
            field_error(
                "events",
                format!(
                    "unknown event `{name}`; choose from {}",
                    EventType::ALL.map(EventType::as_str).join(", ")
                ),
            )
        })?;
        if !parsed.contains(&event) {
            parsed.push(event);
        }
    }
    Ok(parsed)
}

/// An endpoint as its owner sees it (never the secret).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpoint)]
pub struct EndpointView {
    pub id: String,
    pub url: String,
    /// The event types sent; empty = every event.
    pub events: Vec<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub secret_rotated_at: String,
}

impl From<&EndpointRow> for EndpointView {
    fn from(row: &EndpointRow) -> Self {
        EndpointView {
            id: row.id.clone(),
            url: row.url.clone(),
            events: row.events.split_whitespace().map(str::to_owned).collect(),
            created_at: rfc3339_seconds(row.created_at),
            secret_rotated_at: rfc3339_seconds(row.secret_rotated_at),
        }
    }
}

/// An endpoint with its secret, in the one answer that shows it (creation, rotation).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = WebhookEndpointWithSecret)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    /// `whsec_…`: the signing secret, shown this once.
    pub secret: String,
}

fn seal(master: &MasterKey, endpoint_id: &str, secret: &str) -> Result<String, WebhookError> {
    master
        .seal(
            SEAL_SUBKEY,
            endpoint_id,
            secret.as_bytes(),
            &mut rand_core::OsRng,
        )
        .map_err(|e| WebhookError::Internal(e.to_string()))
}

/// The secret of an endpoint, opened for signing.
pub fn open_secret(
    master: &MasterKey,
    endpoint_id: &str,
    sealed_secret: &str,
) -> Result<String, String> {
    let plain = master
        .open(SEAL_SUBKEY, endpoint_id, sealed_secret)
        .map_err(|e| e.to_string())?;
    String::from_utf8(plain).map_err(|_| "the sealed secret is not text".to_owned())
}

/// Registers an endpoint for `vendor`; the answer carries the secret, this once.
#[allow(clippy::too_many_arguments)]
pub fn create_endpoint(
    conn: &mut DbConn,
    master: &MasterKey,
    settings: &WebhookSettings,
    vendor: &Vendor,
    url: &str,
    events: &[String],
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<EndpointWithSecret, WebhookError> {
    let url = check_target(url, settings)
        .map_err(|message| WebhookError::Validation(field_error("url", message)))?;
    let events = parse_events(events).map_err(WebhookError::Validation)?;
    if store::count_endpoints(conn, &vendor.id)? >= MAX_ENDPOINTS {
        return Err(WebhookError::Conflict(format!(
            "a vendor can have at most {MAX_ENDPOINTS} webhook endpoints; delete one first"
        )));
    }
    let id = crate::db::new_id();
    let secret = generate_secret();
    let names: Vec<&str> = events.iter().map(|e| e.as_str()).collect();
    let row = EndpointRow {
        id: id.clone(),
        vendor_id: vendor.id.clone(),
        url: url.to_string(),
        events: names.join(" "),
        secret_sealed: seal(master, &id, &secret)?,
        created_at: now,
        secret_rotated_at: now,
    };
    store::insert_endpoint(conn, &row)?;
    audit::record(
        conn,
        actor,
        Action::WebhookEndpointCreated,
        Some(&vendor.id),
        &id,
        json!({"url": row.url, "events": names}),
        now,
    )?;
    Ok(EndpointWithSecret {
        endpoint: EndpointView::from(&row),
        secret,
    })
}

fn endpoint_of(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_id: &str,
) -> Result<EndpointRow, WebhookError> {
    store::find_endpoint(conn, &vendor.id, endpoint_id)?
        .ok_or(WebhookError::NotFound("webhook endpoint"))
}

/// Replaces an endpoint's secret; deliveries signed from now on use the new one.
pub fn rotate_secret(
    conn: &mut DbConn,
    master: &MasterKey,
    vendor: &Vendor,
    endpoint_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<EndpointWithSecret, WebhookError> {
    let mut row = endpoint_of(conn, vendor, endpoint_id)?;
    let secret = generate_secret();
    row.secret_sealed = seal(master, &row.id, &secret)?;
    row.secret_rotated_at = now;
    store::update_secret(conn, &row.id, &row.secret_sealed, now)?;
    audit::record(
        conn,
        actor,
        Action::WebhookEndpointSecretRotated,
        Some(&vendor.id),
        &row.id,
        json!({"url": row.url}),
        now,
    )?;
    Ok(EndpointWithSecret {
        endpoint: EndpointView::from(&row),
        secret,
    })
}

/// Deletes an endpoint: nothing more is queued for it and its pending deliveries are cancelled
/// (the delivery history stays readable in the audit trail's terms: ids and counts).
pub fn delete_endpoint(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), WebhookError> {
    let row = endpoint_of(conn, vendor, endpoint_id)?;
    let cancelled = store::delete_endpoint(conn, &row.id, now)?;
    audit::record(
        conn,
        actor,
        Action::WebhookEndpointDeleted,
        Some(&vendor.id),
        &row.id,
        json!({"url": row.url, "cancelled_deliveries": cancelled}),
        now,
    )?;
    Ok(())
}

pub fn list_endpoints(
    conn: &mut DbConn,
    vendor: &Vendor,
) -> Result<Vec<EndpointView>, WebhookError> {
    Ok(store::list_endpoints(conn, &vendor.id)?
        .iter()
        .map(EndpointView::from)
        .collect())
}

/// Deliveries shown per endpoint, newest first.
pub const DELIVERIES_SHOWN: i64 = 100;

pub fn list_deliveries(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_id: &str,
) -> Result<Vec<DeliveryView>, WebhookError> {
    let row = endpoint_of(conn, vendor, endpoint_id)?;
    Ok(store::list_deliveries(conn, &row.id, DELIVERIES_SHOWN)?)
}

/// Queues a delivery again now, with the same `webhook-id` and payload and a fresh retry window.
pub fn resend(
    conn: &mut DbConn,
    vendor: &Vendor,
    delivery_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<DeliveryView, WebhookError> {
    let delivery = store::find_delivery(conn, &vendor.id, delivery_id)?
        .ok_or(WebhookError::NotFound("webhook delivery"))?;
    if delivery.status == DeliveryStatus::Cancelled {
        return Err(WebhookError::Conflict(
            "the endpoint of this delivery was deleted; nothing can be resent to it".into(),
        ));
    }
    if !store::requeue(conn, &delivery.id, now)? {
        return Err(WebhookError::Conflict(
            "this delivery is being sent right now; look again in a moment".into(),
        ));
    }
    audit::record(
        conn,
        actor,
        Action::WebhookDeliveryResent,
        Some(&vendor.id),
        &delivery.id,
        json!({"event": delivery.event_type, "previous_status": delivery.status, "attempts": delivery.attempts}),
        now,
    )?;
    store::find_delivery(conn, &vendor.id, delivery_id)?
        .ok_or(WebhookError::NotFound("webhook delivery"))
}

/// Queues `event` about `subject_id` for every endpoint of the vendor that subscribes to it, in
/// the caller's transaction. `data` (the payload's `data` member) is only computed when some
/// endpoint wants the event. Returns the number of deliveries queued.
pub fn emit(
    conn: &mut DbConn,
    vendor_id: &str,
    event: EventType,
    subject_id: &str,
    now: NaiveDateTime,
    data: impl FnOnce(&mut DbConn) -> diesel::QueryResult<Value>,
) -> diesel::QueryResult<usize> {
    let endpoints: Vec<EndpointRow> = store::live_endpoints(conn, Some(vendor_id))?
        .into_iter()
        .filter(|e| e.subscribes(event))
        .collect();
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = payload(event, now, data(conn)?)?;
    let mut queued = 0;
    for endpoint in &endpoints {
        queued += store::insert_delivery(conn, &endpoint.id, event, subject_id, &payload, now)?;
    }
    Ok(queued)
}

/// The body of a delivery: `{"type", "timestamp", "data"}` (Standard Webhooks' payload shape).
fn payload(event: EventType, now: NaiveDateTime, data: Value) -> diesel::QueryResult<String> {
    serde_json::to_string(&json!({
        "type": event.as_str(),
        "timestamp": rfc3339_seconds(now),
        "data": data,
    }))
    .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

/// Queues a credential event (issued, revoked, expired) with the credential's current facts.
pub fn credential_event(
    conn: &mut DbConn,
    links: &Links,
    event: EventType,
    vendor_id: &str,
    credential_id: &str,
    now: NaiveDateTime,
) -> diesel::QueryResult<usize> {
    emit(conn, vendor_id, event, credential_id, now, |c| {
        store::credential_data(c, links, credential_id)
    })
}

/// Queues `credential.expired` for credentials that expired since the endpoint was created and
/// were not announced to it yet (not revoked or superseded); several nodes may run it at once
/// (the unique key keeps one delivery). Returns the number queued.
pub fn announce_expirations(
    conn: &mut DbConn,
    links: &Links,
    now: NaiveDateTime,
    limit: i64,
) -> diesel::QueryResult<usize> {
    let event = EventType::CredentialExpired;
    let mut queued = 0;
    for endpoint in store::live_endpoints(conn, None)?
        .into_iter()
        .filter(|e| e.subscribes(event))
    {
        for credential_id in store::unannounced_expirations(conn, &endpoint, now, limit)? {
            let data = store::credential_data(conn, links, &credential_id)?;
            let body = payload(event, now, data)?;
            queued +=
                store::insert_delivery(conn, &endpoint.id, event, &credential_id, &body, now)?;
        }
    }
    Ok(queued)
}

/// When a failed delivery is tried next, or `None` once its retry window is over.
pub fn next_attempt(
    settings: &WebhookSettings,
    retry_from: NaiveDateTime,
    attempts: i32,
    now: NaiveDateTime,
) -> Option<NaiveDateTime> {
    let base = Duration::milliseconds(i64::try_from(settings.retry_base_ms).unwrap_or(i64::MAX));
    let next = now + crate::mail::queue::backoff(base, attempts);
    (next < retry_from + Duration::hours(settings.retry_hours.into())).then_some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> WebhookSettings {
        WebhookSettings {
            retry_base_ms: 5000,
            retry_hours: 24,
            allow_http: false,
            allow_private: false,
        }
    }

    #[test]
    fn signature_matches_the_standard_webhooks_example() {
        // The example of the specification's "Signature scheme" section.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_are_prefixed_standard_base64_of_32_bytes() {
        let secret = generate_secret();
        let key = STANDARD
            .decode(secret.strip_prefix(SECRET_PREFIX).unwrap())
            .unwrap();
        assert_eq!(key.len(), 32);
        assert_ne!(secret, generate_secret());
    }

    #[test]
    fn targets_must_be_public_https_unless_allowed() {
        let strict = settings();
        assert!(check_target("https://hooks.example.com/credo", &strict).is_ok());
        for bad in [
            "http://hooks.example.com/x",
            "ftp://hooks.example.com/x",
            "https://127.0.0.1/x",
            "https://10.1.2.3/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "https://localhost:8080/x",
            "https://user:pw@hooks.example.com/x",
            "hooks.example.com",
        ] {
            assert!(check_target(bad, &strict).is_err(), "{bad}");
        }
        let open = WebhookSettings {
            allow_http: true,
            allow_private: true,
            ..strict
        };
        assert!(check_target("http://127.0.0.1:9000/hook", &open).is_ok());
    }

    #[test]
    fn retries_back_off_and_stop_after_the_window() {
        let s = settings();
        let t0 = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
        assert_eq!(next_attempt(&s, t0, 1, t0), Some(t0 + Duration::seconds(5)));
        assert_eq!(
            next_attempt(&s, t0, 3, t0),
            Some(t0 + Duration::seconds(20))
        );
        let late = t0 + Duration::hours(23) + Duration::minutes(30);
        assert_eq!(next_attempt(&s, t0, 30, late), None);
    }

    #[test]
    fn event_filters_parse_and_default_to_all() {
        assert_eq!(parse_events(&[]).unwrap().len(), 6);
        assert_eq!(
            parse_events(&["payout.paid".into(), "payout.paid".into()]).unwrap(),
            vec![EventType::PayoutPaid]
        );
        assert!(parse_events(&["payout.sent".into()]).is_err());
    }
}
