//! Sends one delivery: `POST` of the stored JSON payload with the Standard Webhooks headers. The
//! client follows no redirects, gives up after 10 s, and (unless `webhook_allow_private`)
//! resolves host names to public addresses only, so a name that points into the server's own
//! network is refused when sending, not only when the endpoint is saved.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::store::ClaimedDelivery;
use crate::config::WebhookSettings;
use crate::net::PublicOnly;

pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A 2xx answer, with its status.
    Delivered(u16),
    /// Another answer (its status) or none (connection refused, timeout, refused target).
    Failed { status: Option<u16>, error: String },
}

pub struct Sender {
    client: reqwest::Client,
    settings: WebhookSettings,
}

impl Sender {
    pub fn new(settings: &WebhookSettings) -> Result<Self, String> {
        let mut builder = reqwest::Client::builder()
            .https_only(!settings.allow_http)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("Credo-Webhooks/", env!("CARGO_PKG_VERSION")));
        if !settings.allow_private {
            builder = builder.dns_resolver(Arc::new(PublicOnly));
        }
        let client = builder
            .build()
            .map_err(|e| format!("cannot build the webhook HTTP client: {e}"))?;
        Ok(Self {
            client,
            settings: *settings,
        })
    }

    /// POSTs `delivery` signed with `secret` (the opened `whsec_…`).
    pub async fn deliver(&self, delivery: &ClaimedDelivery, secret: &str) -> Outcome {
        let failed = |status: Option<u16>, error: String| Outcome::Failed { status, error };
        // The target is checked again: the settings may have been tightened since it was saved.
        let url = match super::check_target(&delivery.url, &self.settings) {
            Ok(url) => url,
            Err(reason) => return failed(None, format!("target refused: {reason}")),
        };
        // The receiver compares this with its own clock (5-minute tolerance), so it is the
        // wall-clock time of the attempt, not the application clock.
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let signature =
            match super::sign(secret, &delivery.id, timestamp, delivery.payload.as_bytes()) {
                Ok(signature) => signature,
                Err(error) => return failed(None, error),
            };
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &delivery.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(delivery.payload.clone())
            .send()
            .await;
        match sent {
            Ok(response) if response.status().is_success() => {
                Outcome::Delivered(response.status().as_u16())
            }
            Ok(response) => {
                let status = response.status();
                failed(
                    Some(status.as_u16()),
                    format!("the endpoint answered {status}"),
                )
            }
            Err(e) => {
                // The URL may carry the receiver's own token; the owner knows it, logs need not.
                let e = e.without_url();
                let mut text = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(inner) = source {
                    text.push_str(": ");
                    text.push_str(&inner.to_string());
                    source = inner.source();
                }
                failed(None, text)
            }
        }
    }
}
