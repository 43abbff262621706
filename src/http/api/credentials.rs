//! Credentials API: the issuer DID documents and status lists verifiers fetch, the stored
//! credential JSON, verification, revocation and listings.

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::{Principal, VendorRole, API_KEY_PREFIX};
use crate::app::AppState;
use crate::badges::{self, Format};
use crate::clock::rfc3339_seconds;
use crate::credentials::resolver::{self, StoredFacts};
use crate::credentials::service::{self, CredentialError, CredentialState};
use crate::credentials::store;
use crate::credentials::summary::Summary;
use crate::credentials::verify::{Check, CheckName, Status};
use crate::http::auth::{
    actor, client_address, presented_token, resolve, user_actor, Caller, CurrentUser, TokenSource,
};
use crate::http::extract::{parse_json_value, read_body, Json, BAKED_VERIFY_LIMIT, VERIFY_LIMIT};
use crate::http::openapi::{
    BadRequest, Invalid, JsonBody, NotFound, SignedIn, TooLarge, TooMany, Unauthorized,
    UnsupportedType,
};
use crate::http::problem::ApiError;
use crate::ratelimit::Limit;
use crate::usecases::vendor_for;
use crate::validation::field_error;

/// How long verifiers may cache a DID document.
const DID_MAX_AGE: u32 = 300;

crate::http::openapi::routes!("credentials":
    did_document,
    instance_did_document,
    status_list,
    credential_json,
    verify,
    revoke,
    vendor_credentials,
    get_credential_settings,
    put_credential_settings,
    my_credentials,
);

fn public_json(content_type: &str, max_age: u32, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(body)
}

/// The vendor's issuer DID document (`did:web:<host>:issuers:<vendor>`)
///
/// Every key that ever signed is an `assertionMethod`.
#[utoipa::path(
    responses(
        (status = 200, description = "The DID document", content_type = "application/did+json", body = Object),
        NotFound
    ),
    security()
)]
#[get("/issuers/{vendor}/did.json")]
async fn did_document(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = path.into_inner();
    let links = state.links.clone();
    let document = state
        .db(move |conn| {
            let vendor = service::find_vendor_by_slug(conn, &slug)?;
            service::did_document(conn, &links, &vendor)
        })
        .await?;
    Ok(public_json(
        "application/did+json",
        DID_MAX_AGE,
        document.to_string(),
    ))
}

/// The instance-level issuer's DID document (`did:web:<host>`)
///
/// For operators who issue under their own name; published only with `instance_issuer` on, after
/// `credo keys rotate --instance`.
#[utoipa::path(
    responses(
        (status = 200, description = "The DID document", content_type = "application/did+json", body = Object),
        NotFound
    ),
    security()
)]
#[get("/.well-known/did.json")]
async fn instance_did_document(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if !state.config.instance_issuer {
        return Err(ApiError::NotFound(
            "this instance publishes no issuer of its own (instance_issuer is off)".into(),
        ));
    }
    let links = state.links.clone();
    let document = state
        .db(move |conn| service::instance_did_document(conn, &links))
        .await?;
    Ok(public_json(
        "application/did+json",
        DID_MAX_AGE,
        document.to_string(),
    ))
}

/// A signed BitstringStatusListCredential (revocation, 131,072 entries)
///
/// `Cache-Control` max-age equals its ttl.
#[utoipa::path(
    responses(
        (status = 200, description = "The status list credential", body = Object),
        NotFound
    ),
    security()
)]
#[get("/status/{vendor}/{list}")]
async fn status_list(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, list) = path.into_inner();
    let number: i32 = list
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| ApiError::NotFound("status list not found".into()))?;
    let credential = state
        .db(move |conn| {
            let vendor = service::find_vendor_by_slug(conn, &slug)?;
            store::list_document(conn, &vendor.id, number)?
                .ok_or(CredentialError::NotFound("status list"))
        })
        .await?;
    Ok(public_json(
        "application/json",
        state.config.status_list_ttl_seconds,
        credential,
    ))
}

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct DownloadQuery {
    /// Anything but empty, `0` or `false`: answer as a file download.
    download: Option<String>,
}

/// The exact signed credential JSON as issued
#[utoipa::path(
    params(DownloadQuery),
    responses(
        (status = 200, description = "The credential", body = Object),
        NotFound, Invalid
    ),
    security()
)]
#[get("/api/v1/credentials/{id}")]
async fn credential_json(
    state: web::Data<AppState>,
    path: web::Path<String>,
    query: web::Query<DownloadQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let lookup = id.clone();
    let json = state
        .db(move |conn| {
            store::credential_json(conn, &lookup)?.ok_or(CredentialError::NotFound("credential"))
        })
        .await?;
    let mut response = HttpResponse::Ok();
    response
        .content_type("application/json")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"));
    if query
        .download
        .as_deref()
        .is_some_and(|d| !matches!(d, "" | "0" | "false"))
    {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"credential-{id}.json\""),
        ));
    }
    Ok(response.body(json))
}

/// The answer of `POST /api/v1/verify`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Verification)]
pub struct VerifyAnswer {
    pub verified: bool,
    pub status: Status,
    pub checks: Vec<Check>,
    /// What to weigh although the credential verified (an issuer that is a URL, not bound to
    /// the signing key). Absent when there is nothing.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// False when the issuer is not this instance or one of its vendors: the credential was
    /// checked against the issuer's own did:key or did:web, not against records here.
    pub issuer_hosted_here: bool,
    /// The credential's id here when it was issued by this instance (usable at `/c/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_reason: Option<String>,
    /// A newer credential replaced this one (it stays valid until it expires).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded_by: Option<String>,
    /// The fields below say whom and what the credential is about, as it states them; they are
    /// present only when its signature verified (an altered document's claims are not shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub achievement: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerAnswer>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<String>,
}

/// The issuer as the credential names it, and where it is on this site.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = VerifiedIssuer)]
pub struct IssuerAnswer {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
    /// Same as the answer's `issuer_hosted_here`.
    pub hosted_here: bool,
    /// The issuer's profile page here (`/issuers/{vendor}`), for a vendor hosted here.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

impl VerifyAnswer {
    /// The answer with what the credential states, when its signature verified.
    fn with_summary(mut self, summary: Option<Summary>, profile: Option<String>) -> Self {
        if let Some(summary) = summary {
            self.holder = summary.holder;
            self.achievement = summary.achievement;
            self.valid_from = summary.valid_from;
            self.valid_until = summary.valid_until;
            self.issuer = Some(IssuerAnswer {
                id: summary.issuer.id,
                name: summary.issuer.name,
                url: summary.issuer.url,
                hosted_here: self.issuer_hosted_here,
                profile,
            });
        }
        self
    }
}

impl From<resolver::VerifyReport> for VerifyAnswer {
    fn from(report: resolver::VerifyReport) -> Self {
        let stored = report.stored.unwrap_or(StoredFacts {
            id: String::new(),
            page: String::new(),
            revoked_at: None,
            revocation_reason: None,
            superseded_by: None,
            superseded_by_page: None,
        });
        let present = |s: String| (!s.is_empty()).then_some(s);
        Self {
            verified: report.verification.verified(),
            status: report.verification.status,
            checks: report.verification.checks,
            warnings: report.verification.warnings,
            issuer_hosted_here: report.issuer_hosted_here,
            credential_id: present(stored.id),
            page: present(stored.page),
            revoked_at: stored.revoked_at,
            revocation_reason: stored.revocation_reason,
            superseded_by: stored.superseded_by,
            holder: None,
            achievement: None,
            issuer: None,
            valid_from: None,
            valid_until: None,
        }
    }
}

/// Verify a credential
///
/// Proof, key listed in the issuer's DID document, controller, dates, revocation status. Fails
/// closed: anything that cannot be checked is `could_not_check`, never `valid`. The body is the
/// credential JSON, or a baked badge image (PNG or SVG) carrying one. Public; verifiers presenting
/// their vendor API key as a bearer token get that key's larger rate limit.
#[utoipa::path(
    request_body(description = "The credential, or a badge image with one baked in", content(
        (Object = "application/json"),
        (Object = "application/vc+ld+json"),
        ("image/png"),
        ("image/svg+xml")
    )),
    responses(
        (status = 200, description = "What was checked and found", body = VerifyAnswer),
        BadRequest, Unauthorized, TooLarge, UnsupportedType, Invalid, TooMany
    ),
    security()
)]
#[post("/api/v1/verify")]
async fn verify(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    // Verifiers calling with their vendor API key count against the key, with a larger quota.
    let checked = match presented_token(&req) {
        Some((token, TokenSource::Bearer)) if token.starts_with(API_KEY_PREFIX) => {
            match resolve(&state, token).await? {
                Principal::ApiKey(key) => state.limits.check(Limit::VerifyApiKey, &key.key_id),
                Principal::User(_) => state.limits.check(Limit::Verify, &client_address(&req)),
            }
        }
        _ => state.limits.check(Limit::Verify, &client_address(&req)),
    };
    checked.map_err(ApiError::too_many)?;
    let mut payload = payload.into_inner();
    // A baked badge image (`image/png`, `image/svg+xml`) is verified by the credential inside it.
    let image = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_media_type);
    let credential: serde_json::Value = match image {
        Some(_) => {
            let body = read_body(&mut payload, BAKED_VERIFY_LIMIT).await?;
            let json = badges::unbake(&body)?;
            parse_json_value(json.as_bytes())?
        }
        None => parse_json_value(&read_body(&mut payload, VERIFY_LIMIT).await?)?,
    };
    resolver::check_shape(&credential).map_err(ApiError::Validation)?;
    let report = state.verify_json(&credential).await?;
    if report.verification.too_complex {
        let detail = report
            .verification
            .check(CheckName::Proof)
            .map_or_else(String::new, |c| c.detail.clone());
        return Err(ApiError::Validation(field_error("proof", detail)));
    }
    let summary = report.verified_summary(&credential);
    let profile = summary
        .as_ref()
        .and_then(|s| state.verifier.local.issuer_profile(&state.links, s));
    Ok(HttpResponse::Ok().json(VerifyAnswer::from(report).with_summary(summary, profile)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RevokeInput {
    reason: String,
}

/// Revoke a credential (examiners or the vendor's API key)
///
/// Flips its status bit, re-signs the list, mails the holder. Revoking again keeps the first reason.
#[utoipa::path(
    operation_id = "revokeCredential",
    request_body = RevokeInput,
    responses((status = 200, description = "The credential's state", body = CredentialState), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/credentials/{id}/revoke")]
async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    Json(input): Json<RevokeInput>,
) -> Result<HttpResponse, ApiError> {
    let (slug, id) = path.into_inner();
    let actor = actor(&req, &principal);
    let vendor = vendor_for(&state, principal, slug, VendorRole::Examiner).await?;
    let ctx = state.issue_context();
    let now = state.clock.now();
    let answer: CredentialState = state
        .tx(move |conn| service::revoke(conn, &ctx, &vendor, &id, &input.reason, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CredentialListing)]
struct ListedCredential {
    id: String,
    user_id: String,
    holder_name: String,
    exam: String,
    exam_title: String,
    /// `valid`, `expired` or `revoked`.
    status: &'static str,
    #[schema(format = DateTime)]
    valid_from: String,
    #[schema(format = DateTime)]
    valid_until: Option<String>,
    revocation_reason: Option<String>,
    superseded_by: Option<String>,
    page: String,
}

fn listed(
    state: &AppState,
    rows: Vec<store::CredentialListing>,
    now: chrono::NaiveDateTime,
) -> Vec<ListedCredential> {
    rows.into_iter()
        .map(|row| ListedCredential {
            page: state.links.credential_page(&row.id),
            status: service::stored_status(row.revoked_at, row.valid_until, now),
            id: row.id,
            user_id: row.user_id,
            holder_name: row.holder_name,
            exam: row.exam_slug,
            exam_title: row.exam_title,
            valid_from: rfc3339_seconds(row.valid_from),
            valid_until: row.valid_until.map(rfc3339_seconds),
            revocation_reason: row.revocation_reason,
            superseded_by: row.superseded_by,
        })
        .collect()
}

/// The vendor's issued credentials, newest first (examiners or the vendor's API key)
#[utoipa::path(responses((status = 200, description = "The credentials", body = Vec<ListedCredential>), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/credentials")]
async fn vendor_credentials(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(&state, principal, path.into_inner(), VendorRole::Examiner).await?;
    let rows = state
        .db(move |conn| {
            store::vendor_listing(conn, &vendor.id, 1000).map_err(CredentialError::from)
        })
        .await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(listed(&state, rows, now)))
}

/// A vendor's credential settings.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct CredentialSettings {
    /// The cryptosuite of new credentials and status lists: `eddsa-rdfc-2022` or `eddsa-jcs-2022`.
    cryptosuite: String,
}

/// The vendor's credential settings (owners)
#[utoipa::path(responses((status = 200, description = "The settings", body = CredentialSettings), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/credential-settings")]
async fn get_credential_settings(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let suite = state
        .db(move |conn| service::cryptosuite(conn, &vendor.id))
        .await?;
    Ok(HttpResponse::Ok().json(CredentialSettings {
        cryptosuite: suite.as_str().to_owned(),
    }))
}

/// Set the cryptosuite of new credentials and status lists (owners)
///
/// Issued credentials keep their proofs.
#[utoipa::path(
    operation_id = "setCredentialSettings",
    request_body = CredentialSettings,
    responses((status = 200, description = "The settings", body = CredentialSettings), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[put("/api/v1/vendors/{vendor}/credential-settings")]
async fn put_credential_settings(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<CredentialSettings>,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let now = state.clock.now();
    let suite = state
        .tx(move |conn| service::set_cryptosuite(conn, &vendor, &input.cryptosuite, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(CredentialSettings {
        cryptosuite: suite.as_str().to_owned(),
    }))
}

/// The signed-in person's credentials
#[utoipa::path(responses((status = 200, description = "The credentials", body = Vec<ListedCredential>), SignedIn))]
#[get("/api/v1/me/credentials")]
async fn my_credentials(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let rows = state
        .db(move |conn| store::user_listing(conn, &user.id).map_err(CredentialError::from))
        .await?;
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(listed(&state, rows, now)))
}
