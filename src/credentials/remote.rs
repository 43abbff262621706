//! Fetching DID documents and status lists of issuers hosted elsewhere: HTTPS only, public
//! addresses only (no requests into the server's own network), no redirects, a 5 s timeout and a
//! 256 KiB size limit. Used only when `resolve_remote_dids` is on.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use url::{Host, Url};

use super::verify::ResolveError;
use crate::net::{is_public, PublicOnly};

pub const TIMEOUT: Duration = Duration::from_secs(5);
pub const MAX_BYTES: usize = 256 * 1024;

/// An HTTPS client for remote issuer documents.
#[derive(Clone)]
pub struct RemoteFetcher {
    client: reqwest::Client,
}

impl RemoteFetcher {
    pub fn new() -> Result<Self, String> {
        let client = reqwest::Client::builder()
            .https_only(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .dns_resolver(Arc::new(PublicOnly))
            .user_agent(concat!("Credo/", env!("CARGO_PKG_VERSION"), " verifier"))
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        Ok(Self { client })
    }

    /// GETs `url` as JSON within the limits.
    pub async fn fetch_json(&self, url: &Url) -> Result<Value, ResolveError> {
        if url.scheme() != "https" {
            return Err(ResolveError::NotAllowed(format!(
                "{url} is not an https:// URL"
            )));
        }
        match url.host() {
            Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => {
                return Err(ResolveError::NotAllowed(format!(
                    "{ip} is not a public address"
                )))
            }
            Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
                return Err(ResolveError::NotAllowed(format!(
                    "{ip} is not a public address"
                )))
            }
            None => return Err(ResolveError::Malformed(format!("{url} has no host"))),
            _ => {}
        }
        match tokio::time::timeout(TIMEOUT, self.fetch_inner(url)).await {
            Ok(result) => result,
            Err(_) => Err(ResolveError::Unavailable(format!(
                "no answer from {} within {} seconds",
                url.host_str().unwrap_or_default(),
                TIMEOUT.as_secs()
            ))),
        }
    }

    async fn fetch_inner(&self, url: &Url) -> Result<Value, ResolveError> {
        let unavailable = |e: reqwest::Error| {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                text.push_str(": ");
                text.push_str(&inner.to_string());
                source = inner.source();
            }
            ResolveError::Unavailable(text)
        };
        let mut response = self
            .client
            .get(url.clone())
            .header(
                reqwest::header::ACCEPT,
                "application/did+json, application/vc+ld+json, application/json",
            )
            .send()
            .await
            .map_err(unavailable)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
            return Err(ResolveError::NotFound);
        }
        if !status.is_success() {
            return Err(ResolveError::Unavailable(format!(
                "{url} answered {status}"
            )));
        }
        if response
            .content_length()
            .is_some_and(|len| len > MAX_BYTES as u64)
        {
            return Err(ResolveError::Malformed(format!(
                "{url} is larger than {MAX_BYTES} bytes"
            )));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unavailable)? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(ResolveError::Malformed(format!(
                    "{url} is larger than {MAX_BYTES} bytes"
                )));
            }
            body.extend_from_slice(&chunk);
        }
        serde_json::from_slice(&body)
            .map_err(|e| ResolveError::Malformed(format!("{url} is not JSON: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[actix_web::test]
    async fn refuses_plain_http_and_private_hosts() {
        crate::install_crypto_provider();
        let fetcher = RemoteFetcher::new().unwrap();
        let err = fetcher
            .fetch_json(&Url::parse("http://example.com/did.json").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::NotAllowed(_)), "{err}");
        let err = fetcher
            .fetch_json(&Url::parse("https://127.0.0.1:9/did.json").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::NotAllowed(_)), "{err}");
        let err = fetcher
            .fetch_json(&Url::parse("https://localhost:9/did.json").unwrap())
            .await
            .unwrap_err();
        assert!(matches!(err, ResolveError::Unavailable(_)), "{err}");
    }
}
