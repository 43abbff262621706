//! Credential pages: the public certificate page `/c/{id}`, the paste/upload verify page, the
//! vendor's credential list with revocation, and the dashboard section of a person's certificates.

use std::collections::HashMap;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, Datelike, NaiveDateTime};
use serde::Deserialize;
use serde_json::Value;

use super::{
    render, render_with_status, see_other, urlencode, vendor_with_role, Form, MaybeUser,
    PageContext, PageError, PageUser,
};
use crate::accounts::{SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::badges;
use crate::credentials::resolver::{self, VerifyReport};
use crate::credentials::service::{self, CredentialError};
use crate::credentials::store::{self, CredentialListing};
use crate::credentials::summary::holder_name;
use crate::credentials::verify::{CheckName, Status};
use crate::http::api::credentials::{
    issuer_profile, verified_summary, BAKED_VERIFY_LIMIT, VERIFY_LIMIT,
};
use crate::http::auth::{client_address, csrf_matches, user_actor, CSRF_FIELD};
use crate::http::extract::{parse_json, read_body};
use crate::http::multipart::parse_multipart;
use crate::http::problem::ApiError;
use crate::ratelimit::Limit;
use crate::validation::FieldErrors;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(credential_page)
        .service(verify_page)
        .service(verify_submit)
        .service(vendor_credentials)
        .service(vendor_revoke)
        .service(issuer_page)
        .service(person_page)
        .service(profile_setting);
}

/// Links for the vendor console hub.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    vec![(format!("/vendor/{vendor_slug}/credentials"), "Credentials")]
}

fn page_error(e: CredentialError) -> PageError {
    ApiError::from(e).into()
}

// ---------------------------------------------------------------------------------------------
// The verdict, shared by `/c/{id}` and `/verify`

pub struct CheckView {
    pub label: &'static str,
    pub ok: bool,
    /// The check did not run (an earlier one failed): shown neutral, not as a failure.
    pub not_checked: bool,
    pub detail: String,
}

/// Whom and what a verified credential is about (the verify page), as it states them.
pub struct FactsView {
    pub holder: String,
    pub achievement: String,
    pub issuer_name: String,
    /// The issuer's profile page here, for a vendor hosted here.
    pub issuer_profile: Option<String>,
    pub issued: String,
    pub expires: Option<String>,
    /// The certificate page, when the credential was issued here.
    pub page: Option<String>,
}

impl FactsView {
    /// The facts of a credential whose signature verified; `None` otherwise.
    fn of(state: &AppState, report: &VerifyReport, vc: &Value) -> Option<Self> {
        let summary = verified_summary(report, vc)?;
        let date = |text: &Option<String>| {
            text.as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| long_date(&t))
        };
        Some(Self {
            issuer_profile: issuer_profile(state, &summary),
            holder: summary
                .holder
                .unwrap_or_else(|| "(name not disclosed)".into()),
            achievement: summary.achievement.unwrap_or_default(),
            issuer_name: summary
                .issuer
                .name
                .or(summary.issuer.id)
                .unwrap_or_default(),
            issued: date(&summary.valid_from).unwrap_or_default(),
            expires: date(&summary.valid_until),
            page: report.stored.as_ref().map(|s| s.page.clone()),
        })
    }
}

pub struct VerdictView {
    /// The status code, also the CSS class: valid, revoked, expired, not_yet_valid, invalid,
    /// could_not_check.
    pub status: &'static str,
    pub heading: String,
    pub summary: String,
    pub checks: Vec<CheckView>,
    pub revocation_reason: Option<String>,
    pub superseded_by_page: Option<String>,
    /// Said plainly on the page: a credential of another issuer was checked with that issuer's
    /// own keys (did:key, or did:web over HTTPS), not against anything stored here.
    pub issuer_hosted_here: bool,
    /// What to weigh although every check passed (an issuer URL not bound to its key).
    pub warnings: Vec<String>,
    /// Holder, achievement, issuer and dates (the verify page; the certificate page shows them
    /// itself).
    pub facts: Option<FactsView>,
}

fn check_label(name: CheckName) -> &'static str {
    match name {
        CheckName::Format => "Credential format",
        CheckName::Proof => "Signature",
        CheckName::VerificationMethod => "Signing key listed by the issuer",
        CheckName::Controller => "Key controlled by the issuer",
        CheckName::Validity => "Validity dates",
        CheckName::Status => "Revocation status",
    }
}

fn status_code(status: Status) -> &'static str {
    match status {
        Status::Valid => "valid",
        Status::Expired => "expired",
        Status::Revoked => "revoked",
        Status::NotYetValid => "not_yet_valid",
        Status::Invalid => "invalid",
        Status::CouldNotCheck => "could_not_check",
    }
}

impl VerdictView {
    fn from_report(report: &VerifyReport) -> Self {
        let v = &report.verification;
        let failing = v
            .checks
            .iter()
            .find(|c| !c.ok && !c.detail.starts_with("not checked"));
        let stored = report.stored.as_ref();
        let reason = stored.and_then(|s| s.revocation_reason.clone());
        let (heading, summary) = match v.status {
            Status::Valid => (
                "Valid".to_string(),
                "Every check passed: the signature, the issuer's key, the dates and the revocation status."
                    .to_string(),
            ),
            Status::Revoked => (
                "Revoked".to_string(),
                match &reason {
                    Some(reason) => format!("The issuer revoked this credential. Reason given: {reason}"),
                    None => "The issuer revoked this credential.".to_string(),
                },
            ),
            Status::Expired => (
                "Expired".to_string(),
                failing.map_or_else(String::new, |c| format!("This credential {}.", c.detail)),
            ),
            Status::NotYetValid => (
                "Not yet valid".to_string(),
                failing.map_or_else(String::new, |c| format!("This credential is {}.", c.detail)),
            ),
            Status::Invalid => (
                match failing {
                    Some(c) => format!("Invalid: {}", check_label(c.name).to_lowercase()),
                    None => "Invalid".to_string(),
                },
                failing.map_or_else(String::new, |c| c.detail.clone()),
            ),
            Status::CouldNotCheck => (
                "Could not check".to_string(),
                match failing {
                    Some(c) => format!(
                        "{} could not be checked: {}. Nothing that cannot be checked is reported as valid.",
                        check_label(c.name),
                        c.detail
                    ),
                    None => "Some checks could not run. Nothing that cannot be checked is reported as valid."
                        .to_string(),
                },
            ),
        };
        Self {
            status: status_code(v.status),
            heading,
            summary,
            checks: v
                .checks
                .iter()
                .map(|c| CheckView {
                    label: check_label(c.name),
                    ok: c.ok,
                    not_checked: !c.ok && c.detail.starts_with("not checked"),
                    detail: c.detail.clone(),
                })
                .collect(),
            revocation_reason: reason,
            superseded_by_page: stored.and_then(|s| s.superseded_by_page.clone()),
            issuer_hosted_here: report.issuer_hosted_here,
            warnings: v.warnings.clone(),
            facts: None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `/c/{id}`

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

fn long_date(t: &DateTime<chrono::FixedOffset>) -> String {
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
async fn credential_page(
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
    let report = state.verify_json(vc.clone()).await.map_err(page_error)?;
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
    let issuer_profile = verified_summary(&report, &vc).and_then(|s| issuer_profile(&state, &s));
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

// ---------------------------------------------------------------------------------------------
// `/verify`

#[derive(Template)]
#[template(path = "credentials/verify.html")]
struct VerifyPage {
    ctx: PageContext,
    credential: String,
    errors: FieldErrors,
    verdict: Option<VerdictView>,
}

#[get("/verify")]
async fn verify_page(req: HttpRequest, MaybeUser(user): MaybeUser) -> HttpResponse {
    render(&VerifyPage {
        ctx: PageContext::new(&req, user),
        credential: String::new(),
        errors: FieldErrors::new(),
        verdict: None,
    })
}

#[post("/verify")]
async fn verify_submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let mut payload = payload.into_inner();
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let show = |credential: String, errors: FieldErrors, verdict, status| {
        render_with_status(
            status,
            &VerifyPage {
                ctx: PageContext::new(&req, user.clone()),
                credential,
                errors,
                verdict,
            },
        )
    };
    let too_large = || {
        let mut errors = FieldErrors::new();
        errors.add(
            "credential",
            format!(
                "this is larger than {} KB; a credential is a few KB",
                VERIFY_LIMIT / 1024
            ),
        );
        errors
    };
    let body = match read_body(&mut payload, BAKED_VERIFY_LIMIT + 16 * 1024).await {
        Ok(body) => body,
        Err(e) => {
            tracing::debug!(error = %e, "verify page upload refused");
            return Ok(show(
                String::new(),
                too_large(),
                None,
                StatusCode::PAYLOAD_TOO_LARGE,
            ));
        }
    };
    let fields: HashMap<String, Vec<u8>> = if content_type
        .to_ascii_lowercase()
        .starts_with("multipart/form-data")
    {
        parse_multipart(&content_type, &body)
            .ok_or_else(|| PageError::BadRequest("the upload form could not be read".into()))?
            .into_iter()
            .map(|part| (part.name, part.data))
            .collect()
    } else {
        serde_html_form::from_bytes::<HashMap<String, String>>(&body)
            .map_err(|_| PageError::BadRequest("the form could not be read".into()))?
            .into_iter()
            .map(|(k, v)| (k, v.into_bytes()))
            .collect()
    };
    let token = fields
        .get(CSRF_FIELD)
        .map(|t| String::from_utf8_lossy(t).into_owned());
    if !csrf_matches(&req, token.as_deref()) {
        return Err(PageError::Forbidden(format!(
            "This form has expired or was not sent from Credo (missing or wrong `{CSRF_FIELD}`). \
             Go back, reload the page and try again."
        )));
    }
    if let Err(wait) = state.limits.check(Limit::Verify, &client_address(&req)) {
        let mut errors = FieldErrors::new();
        errors.add("credential", ApiError::too_many(wait).to_string());
        return Ok(show(
            String::new(),
            errors,
            None,
            StatusCode::TOO_MANY_REQUESTS,
        ));
    }
    let pasted = fields
        .get("credential")
        .map(|t| String::from_utf8_lossy(t).into_owned())
        .unwrap_or_default();
    let uploaded = fields
        .get("file")
        .filter(|f| !f.iter().all(u8::is_ascii_whitespace));
    let mut errors = FieldErrors::new();
    let (source, field) = match uploaded.map(|file| badges::credential_in_image(file)) {
        // A baked badge image: verify the credential inside it.
        Some(Ok(Some(json))) => (json.into_bytes(), "file"),
        Some(Ok(None)) => (uploaded.cloned().unwrap_or_default(), "file"),
        Some(Err(e)) => {
            errors.add("file", e.to_string());
            return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
        }
        None => (pasted.clone().into_bytes(), "credential"),
    };
    if source.len() > VERIFY_LIMIT {
        return Ok(show(
            pasted,
            too_large(),
            None,
            StatusCode::PAYLOAD_TOO_LARGE,
        ));
    }
    if source.iter().all(u8::is_ascii_whitespace) {
        errors.add(
            "credential",
            "paste a credential's JSON here or choose a file below",
        );
        return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let credential: Value = match parse_json(&source) {
        Ok(value) => value,
        Err(e) => {
            errors.add(
                field,
                format!(
                    "this is not a credential's JSON ({})",
                    match e {
                        ApiError::BadRequest(m) => m,
                        other => other.to_string(),
                    }
                ),
            );
            return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
        }
    };
    if let Err(problems) = resolver::check_shape(&credential) {
        let text = problems
            .iter()
            .map(|p| format!("{} {}", p.field, p.message))
            .collect::<Vec<_>>()
            .join("; ");
        errors.add(field, format!("this is not a credential: {text}"));
        return Ok(show(pasted, errors, None, StatusCode::UNPROCESSABLE_ENTITY));
    }
    let report = state
        .verify_json(credential.clone())
        .await
        .map_err(page_error)?;
    let verdict = VerdictView {
        facts: FactsView::of(&state, &report, &credential),
        ..VerdictView::from_report(&report)
    };
    Ok(show(pasted, errors, Some(verdict), StatusCode::OK))
}

// ---------------------------------------------------------------------------------------------
// Vendor console: `/vendor/{vendor}/credentials`

pub struct CredentialRowView {
    pub id: String,
    pub holder: String,
    pub exam: String,
    pub issued: String,
    pub expires: String,
    pub status: &'static str,
    pub reason: Option<String>,
    pub superseded: bool,
    pub error: Option<String>,
    pub reason_value: String,
}

fn row_view(row: CredentialListing, now: NaiveDateTime) -> CredentialRowView {
    CredentialRowView {
        status: service::stored_status(row.revoked_at, row.valid_until, now),
        issued: super::human_date(row.valid_from),
        expires: row
            .valid_until
            .map_or_else(|| "never".to_string(), super::human_date),
        superseded: row.superseded_by.is_some(),
        reason: row.revocation_reason,
        holder: row.holder_name,
        exam: row.exam_title,
        id: row.id,
        error: None,
        reason_value: String::new(),
    }
}

#[derive(Template)]
#[template(path = "credentials/vendor.html")]
struct VendorPage {
    ctx: PageContext,
    vendor: Vendor,
    rows: Vec<CredentialRowView>,
}

async fn vendor_rows(
    state: &AppState,
    vendor_id: String,
) -> Result<Vec<CredentialRowView>, PageError> {
    let now = state.clock.now();
    let rows = state
        .db(move |conn| store::vendor_listing(conn, &vendor_id, 500).map_err(CredentialError::from))
        .await
        .map_err(page_error)?;
    Ok(rows.into_iter().map(|row| row_view(row, now)).collect())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokedQuery {
    revoked: String,
}

#[get("/vendor/{vendor}/credentials")]
async fn vendor_credentials(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    query: web::Query<RevokedQuery>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Examiner).await?;
    let rows = vendor_rows(&state, vendor.id.clone()).await?;
    let mut ctx = PageContext::new(&req, Some(user));
    if let Some(row) = rows.iter().find(|r| r.id == query.revoked) {
        ctx.notices.push(format!(
            "{}'s {} credential is revoked; the holder was told by mail.",
            row.holder, row.exam
        ));
    }
    Ok(render(&VendorPage { ctx, vendor, rows }))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RevokeForm {
    reason: String,
}

#[post("/vendor/{vendor}/credentials/{id}/revoke")]
async fn vendor_revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<RevokeForm>,
) -> Result<HttpResponse, PageError> {
    let (slug, id) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Examiner).await?;
    let ctx = state.issue_context();
    let now = state.clock.now();
    let actor = user_actor(&req, &user);
    let (target, reason, revoked_vendor) = (id.clone(), form.reason.clone(), vendor.clone());
    let outcome = state
        .tx(move |conn| service::revoke(conn, &ctx, &revoked_vendor, &target, &reason, &actor, now))
        .await;
    state.verifier.status_lists_changed();
    match outcome {
        Ok(_) => Ok(see_other(&format!(
            "/vendor/{}/credentials?revoked={}",
            vendor.slug,
            urlencode(&id)
        ))),
        Err(CredentialError::Validation(problems)) => {
            let mut rows = vendor_rows(&state, vendor.id.clone()).await?;
            let message = problems
                .into_iter()
                .map(|p| p.message)
                .collect::<Vec<_>>()
                .join("; ");
            if let Some(row) = rows.iter_mut().find(|r| r.id == id) {
                row.error = Some(message);
                row.reason_value = form.reason.clone();
            }
            Ok(render_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &VendorPage {
                    ctx: PageContext::new(&req, Some(user)),
                    vendor,
                    rows,
                },
            ))
        }
        Err(e) => Err(page_error(e)),
    }
}

// ---------------------------------------------------------------------------------------------
// `/issuers/{vendor}`: the issuer's profile

#[derive(Template)]
#[template(path = "credentials/issuer.html")]
struct IssuerPage {
    ctx: PageContext,
    vendor: Vendor,
    did: String,
    did_document: String,
    exams: Vec<IssuerExam>,
}

struct IssuerExam {
    href: String,
    title: String,
    price: String,
    validity_months: i32,
}

#[get("/issuers/{vendor}")]
async fn issuer_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let slug = path.into_inner();
    let lookup = slug.clone();
    let vendor = state
        .db(move |conn| service::find_vendor_by_slug(conn, &lookup))
        .await
        .map_err(|_| PageError::NotFound("There is no issuer with this address.".into()))?;
    let exams = state
        .db(crate::exams::service::catalog)
        .await
        .map_err(|e| PageError::from(ApiError::from(e)))?
        .into_iter()
        .filter(|e| e.vendor == slug)
        .map(|e| IssuerExam {
            href: format!("/exams/{}/{}", e.vendor, e.slug),
            price: e.price.display(),
            title: e.title,
            validity_months: e.validity_months,
        })
        .collect();
    let did = service::issuer_did(&state.links, &slug).map_err(page_error)?;
    Ok(render(&IssuerPage {
        ctx: PageContext::new(&req, user),
        did_document: state.links.issuer_did_document(&slug),
        did,
        vendor,
        exams,
    }))
}

// ---------------------------------------------------------------------------------------------
// `/people/{handle}`: an earner's opt-in public profile

#[derive(Template)]
#[template(path = "credentials/person.html")]
struct PersonPage {
    ctx: PageContext,
    name: String,
    credentials: Vec<DashboardCredential>,
}

#[get("/people/{handle}")]
async fn person_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    MaybeUser(user): MaybeUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let handle = path.into_inner();
    let now = state.clock.now();
    let found = state
        .db(move |conn| {
            let Some((user_id, name)) =
                crate::accounts::store::find_by_profile_handle(conn, &handle)?
            else {
                return Ok(None);
            };
            let rows = store::user_listing(conn, &user_id)?;
            Ok::<_, CredentialError>(Some((name, rows)))
        })
        .await
        .map_err(page_error)?;
    let (name, rows) = found.ok_or_else(|| {
        PageError::NotFound(
            "There is no public profile with this address (its owner may have turned it off)."
                .into(),
        )
    })?;
    // Current certificates only: valid, not superseded.
    let credentials = dashboard_credentials(rows, now)
        .into_iter()
        .filter(|c| c.status == "valid" && !c.superseded)
        .collect();
    Ok(render(&PersonPage {
        ctx: PageContext::new(&req, user),
        name,
        credentials,
    }))
}

#[derive(Deserialize)]
struct ProfileForm {
    #[serde(default)]
    public: String,
}

/// `POST /dashboard/profile`: the person turns their public profile on or off.
#[post("/dashboard/profile")]
async fn profile_setting(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    Form(form): Form<ProfileForm>,
) -> Result<HttpResponse, PageError> {
    let public = form.public == "on";
    let (user_id, name) = (user.id.clone(), user.display_name.clone());
    state
        .tx(move |conn| crate::accounts::service::set_public_profile(conn, &user_id, &name, public))
        .await
        .map_err(|e| PageError::from(ApiError::from(e)))?;
    Ok(see_other("/dashboard#certificates"))
}

// ---------------------------------------------------------------------------------------------
// Dashboard

pub struct DashboardCredential {
    pub id: String,
    pub exam: String,
    pub issued: String,
    pub expires: String,
    pub status: &'static str,
    pub superseded: bool,
}

#[derive(Template)]
#[template(path = "credentials/dashboard_section.html")]
struct DashboardSection {
    credentials: Vec<DashboardCredential>,
    /// The public profile's address when the person turned it on.
    profile: Option<String>,
    csrf: String,
}

fn dashboard_credentials(
    rows: Vec<CredentialListing>,
    now: NaiveDateTime,
) -> Vec<DashboardCredential> {
    rows.into_iter()
        .map(|row| {
            let view = row_view(row, now);
            DashboardCredential {
                id: view.id,
                exam: view.exam,
                issued: view.issued,
                expires: view.expires,
                status: view.status,
                superseded: view.superseded,
            }
        })
        .collect()
}

/// The person's certificates and their public profile setting, for the dashboard.
pub async fn dashboard_section(
    state: &AppState,
    user: &SessionUser,
    csrf: &str,
) -> Result<String, PageError> {
    let user_id = user.id.clone();
    let now = state.clock.now();
    let (rows, handle) = state
        .db(move |conn| {
            Ok::<_, CredentialError>((
                store::user_listing(conn, &user_id)?,
                crate::accounts::store::profile_handle(conn, &user_id)?,
            ))
        })
        .await
        .map_err(page_error)?;
    DashboardSection {
        credentials: dashboard_credentials(rows, now),
        profile: handle.map(|h| state.links.url(&format!("/people/{h}"))),
        csrf: csrf.to_owned(),
    }
    .render()
    .map_err(|e| PageError::Internal(format!("template: {e}")))
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
