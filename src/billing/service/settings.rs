//! The vendor's Stripe settings: the webhook signing secret, sealed, and its check.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::billing::store;
use crate::billing::stripe;
use crate::billing::BillingError;
use crate::clock::rfc3339_seconds;
use crate::db::DbConn;
use crate::referrals::sealed;
use crate::secrets::MasterKey;

/// Associated data binding a sealed Stripe secret to its vendor.
fn seal_context(vendor_id: &str) -> String {
    format!("stripe:{vendor_id}")
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = StripeSecretInput)]
pub struct SecretInput {
    /// The endpoint's signing secret from Stripe (`whsec_…`).
    pub webhook_secret: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = StripeSettings)]
pub struct StripeView {
    pub configured: bool,
    /// `whsec_…` and the last four characters; the secret itself is never shown again.
    pub secret_hint: Option<String>,
    /// The URL to enter as the endpoint in Stripe's dashboard.
    pub endpoint_url: String,
    #[schema(format = DateTime)]
    pub updated_at: Option<String>,
}

pub fn stripe_view(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_url: String,
) -> Result<StripeView, BillingError> {
    let settings = store::settings(conn, &vendor.id)?;
    Ok(StripeView {
        configured: settings.is_some(),
        secret_hint: settings.as_ref().map(|s| s.secret_hint.clone()),
        endpoint_url,
        updated_at: settings.map(|s| rfc3339_seconds(s.updated_at)),
    })
}

/// Stores the signing secret Stripe shows for the vendor's endpoint, sealed.
pub fn set_secret(
    conn: &mut DbConn,
    master: &MasterKey,
    vendor: &Vendor,
    input: &SecretInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), BillingError> {
    let secret = input.webhook_secret.trim();
    let well_formed = secret.starts_with(sealed::SECRET_PREFIX)
        && secret.len() >= sealed::SECRET_PREFIX.len() + 16
        && secret.len() <= 200
        && secret.bytes().all(|b| b.is_ascii_graphic());
    if !well_formed {
        return Err(BillingError::Validation(crate::validation::field_error(
            "webhook_secret",
            "paste the endpoint's signing secret from Stripe (Developers → Webhooks → your endpoint → Signing secret); it starts with whsec_",
        )));
    }
    let sealed_secret = sealed::seal(master, &seal_context(&vendor.id), secret)
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    let hint = format!("{}…{}", sealed::SECRET_PREFIX, &secret[secret.len() - 4..]);
    store::save_settings(conn, &vendor.id, &sealed_secret, &hint, now)?;
    audit::record(
        conn,
        actor,
        Action::StripeSettingsChanged,
        Some(&vendor.id),
        &vendor.id,
        json!({"secret_hint": hint}),
        now,
    )?;
    Ok(())
}

/// Checks `Stripe-Signature` against the vendor's secret. Every failure is a 400 for Stripe.
pub fn verify(
    conn: &mut DbConn,
    master: &MasterKey,
    vendor: &Vendor,
    header: Option<&str>,
    body: &[u8],
    now: NaiveDateTime,
) -> Result<(), BillingError> {
    let settings = store::settings(conn, &vendor.id)?.ok_or_else(|| {
        BillingError::Rejected(format!(
            "vendor {} has not set a Stripe signing secret; its owner sets it on the console's Stripe page",
            vendor.slug
        ))
    })?;
    let header = header.ok_or_else(|| {
        BillingError::Rejected(format!(
            "the {} header is missing",
            stripe::SIGNATURE_HEADER
        ))
    })?;
    let secret = sealed::open(master, &seal_context(&vendor.id), &settings.webhook_secret)
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    crate::referrals::verify_signature(
        secret.as_bytes(),
        header,
        body,
        now.and_utc().timestamp(),
        stripe::TOLERANCE_SECS,
    )
    .map(|_| ())
    .map_err(|e| BillingError::Rejected(format!("{}: {e}", stripe::SIGNATURE_HEADER)))
}
