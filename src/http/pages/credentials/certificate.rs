//! The public certificate page `/c/{id}`: the credential, its verdict, sharing and the QR code.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Datelike};
use serde_json::Value;

use super::page_error;
use super::verdict::VerdictView;
use crate::app::AppState;
use crate::credentials::service::CredentialError;
use crate::credentials::store;
use crate::credentials::summary::holder_name;
use crate::http::pages::{render, MaybeUser, PageContext, PageError};

/// What the certificate page shows, read from the stored signed JSON.
struct Shown {
    holder: String,
    achievement: String,
    description: String,
    criteria: String,
    issuer_name: String,
    issuer_url: String,
    issuer_did: String,
    valid_from: Option<DateTime<chrono::FixedOffset>>,
    valid_until: Option<DateTime<chrono::FixedOffset>>,
}

fn text_at(vc: &Value, pointer: &str) -> String {
    vc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

fn shown(vc: &Value) -> Shown {
    let holder = holder_name(vc)
        .unwrap_or("(name not disclosed)")
        .to_string();
    let date = |field: &str| {
        vc.get(field)
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
    };
    Shown {
        holder,
        achievement: text_at(vc, "/credentialSubject/achievement/name"),
        description: text_at(vc, "/credentialSubject/achievement/description"),
        criteria: text_at(vc, "/credentialSubject/achievement/criteria/narrative"),
        issuer_name: text_at(vc, "/issuer/name"),
        issuer_url: text_at(vc, "/issuer/url"),
        issuer_did: text_at(vc, "/issuer/id"),
        valid_from: date("validFrom"),
        valid_until: date("validUntil"),
    }
}

pub(super) fn long_date(t: &DateTime<chrono::FixedOffset>) -> String {
    t.format("%-d %B %Y").to_string()
}

/// LinkedIn's documented Add-to-Profile link for a certification.
pub fn linkedin_url(
    name: &str,
    organization: &str,
    issued: Option<&DateTime<chrono::FixedOffset>>,
    expires: Option<&DateTime<chrono::FixedOffset>>,
    cert_id: &str,
    cert_url: &str,
) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("startTask", "CERTIFICATION_NAME");
    query.append_pair("name", name);
    query.append_pair("organizationName", organization);
    if let Some(issued) = issued {
        query.append_pair("issueYear", &issued.year().to_string());
        query.append_pair("issueMonth", &issued.month().to_string());
    }
    if let Some(expires) = expires {
        query.append_pair("expirationYear", &expires.year().to_string());
        query.append_pair("expirationMonth", &expires.month().to_string());
    }
    query.append_pair("certId", cert_id);
    query.append_pair("certUrl", cert_url);
    format!("https://www.linkedin.com/profile/add?{}", query.finish())
}

/// A QR code of `url` as inline SVG (no XML declaration, no style attributes).
pub fn qr_svg(url: &str) -> Result<String, PageError> {
    let code = qrcode::QrCode::new(url.as_bytes())
        .map_err(|e| PageError::Internal(format!("QR code: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build();
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code linking to this page\"",
        1,
    ))
}

#[derive(Template)]
#[template(path = "credentials/credential.html")]
struct CredentialPage {
    ctx: PageContext,
    id: String,
    holder: String,
    achievement: String,
    /// The achievement's description (the exam's Markdown), as safe HTML.
    description_html: String,
    criteria: String,
    issuer_name: String,
    issuer_url: String,
    issuer_did: String,
    issued: String,
    expires: Option<String>,
    verdict: VerdictView,
    page_url: String,
    json_url: String,
    download_url: String,
    /// The credential's badge with the credential baked in (shown, and offered as downloads).
    badge_svg_url: String,
    badge_png_url: String,
    linkedin: String,
    qr: String,
    /// The issuer's profile page here (`/issuers/{vendor}`), for a vendor hosted here.
    issuer_profile: Option<String>,
    /// A `mailto:` link with the certificate's link in the body.
    share_mail: String,
    /// HTML to paste into a web page: the badge linking to this certificate.
    embed_html: String,
}

/// A `mailto:` link that shares a certificate page (no recipient: the sender picks one).
fn share_mail_link(holder: &str, achievement: &str, page_url: &str) -> String {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let subject = format!("{achievement} certificate of {holder}");
    let body = format!(
        "{holder} holds the certificate \"{achievement}\". Check it, with its current status, here:\n{page_url}\n"
    );
    format!(
        "mailto:?subject={}&body={}",
        utf8_percent_encode(&subject, NON_ALPHANUMERIC),
        utf8_percent_encode(&body, NON_ALPHANUMERIC)
    )
}

/// An HTML snippet showing the badge and linking to the certificate page; every value escaped.
fn embed_snippet(page_url: &str, badge_url: &str, achievement: &str, holder: &str) -> String {
    let e = crate::exams::escape_html;
    format!(
        "<a href=\"{}\" title=\"{} — {}\"><img src=\"{}\" width=\"120\" height=\"120\" alt=\"{} badge of {}\"></a>",
        e(page_url),
        e(achievement),
        e(holder),
        e(badge_url),
        e(achievement),
        e(holder)
    )
}

#[get("/c/{id}")]
pub(super) async fn credential_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let id = path.into_inner();
    let lookup = id.clone();
    let json = state
        .db(move |conn| store::credential_json(conn, &lookup).map_err(CredentialError::from))
        .await
        .map_err(page_error)?
        .ok_or_else(|| PageError::NotFound("There is no certificate with this address.".into()))?;
    let vc: Value = serde_json::from_str(&json)
        .map_err(|e| PageError::Internal(format!("stored credential {id}: {e}")))?;
    let report = state.verify_json(&vc).await.map_err(page_error)?;
    let shown = shown(&vc);
    let page_url = state.links.credential_page(&id);
    let linkedin = linkedin_url(
        &shown.achievement,
        &shown.issuer_name,
        shown.valid_from.as_ref(),
        shown.valid_until.as_ref(),
        &id,
        &page_url,
    );
    let json_url = format!("/api/v1/credentials/{id}");
    let issuer_profile = report
        .verified_summary(&vc)
        .and_then(|s| state.verifier.local.issuer_profile(&state.links, &s));
    let share_mail = share_mail_link(&shown.holder, &shown.achievement, &page_url);
    let embed_html = embed_snippet(
        &page_url,
        &state.links.url(&format!("/c/{id}/badge.svg")),
        &shown.achievement,
        &shown.holder,
    );
    let page = CredentialPage {
        issuer_profile,
        share_mail,
        embed_html,
        ctx: PageContext::new(&req, user),
        holder: shown.holder,
        achievement: shown.achievement,
        description_html: crate::exams::render_markdown(&shown.description),
        criteria: shown.criteria,
        issuer_name: shown.issuer_name,
        issuer_url: shown.issuer_url,
        issuer_did: shown.issuer_did,
        issued: shown.valid_from.as_ref().map(long_date).unwrap_or_default(),
        expires: shown.valid_until.as_ref().map(long_date),
        verdict: VerdictView::from_report(&report),
        qr: qr_svg(&page_url)?,
        download_url: format!("{json_url}?download=1"),
        badge_svg_url: format!("/c/{id}/badge.svg"),
        badge_png_url: format!("/c/{id}/badge.png"),
        json_url,
        linkedin,
        page_url,
        id,
    };
    Ok(render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linkedin_link_is_url_encoded_with_every_field() {
        let issued = DateTime::parse_from_rfc3339("2026-03-05T10:00:00Z").unwrap();
        let expires = DateTime::parse_from_rfc3339("2028-03-05T10:00:00Z").unwrap();
        let link = linkedin_url(
            "Git & Fundamentals",
            "Acme, Inc.",
            Some(&issued),
            Some(&expires),
            "0190-abc",
            "https://credo.example/c/0190-abc",
        );
        assert!(link.starts_with(
            "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&name=Git+%26+Fundamentals"
        ));
        for part in [
            "organizationName=Acme%2C+Inc.",
            "issueYear=2026",
            "issueMonth=3",
            "expirationYear=2028",
            "expirationMonth=3",
            "certId=0190-abc",
            "certUrl=https%3A%2F%2Fcredo.example%2Fc%2F0190-abc",
        ] {
            assert!(link.contains(part), "{part} in {link}");
        }
    }

    #[test]
    fn qr_code_is_inline_svg() {
        let svg = qr_svg("https://credo.example/c/x").unwrap();
        assert!(svg.starts_with("<svg role=\"img\""), "{}", &svg[..60]);
        assert!(!svg.contains("style="));
    }
}
