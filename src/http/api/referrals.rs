//! Referral network API: programs and tiers, enrollment, customer binding, the billing-event
//! inbox (API key or signed webhook), commissions review, payouts, funnel and the
//! practitioner's own figures. Handlers parse, authorize and call one `referrals::service`
//! function; `{program}` is a program id or its vendor's slug.

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, Principal, SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::audit::Actor;
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{actor, user_actor, Caller, CurrentUser};
use crate::http::extract::{parse_json, read_body, Json, JSON_LIMIT};
use crate::http::problem::ApiError;
use crate::referrals::service::{
    self, BindOutcome, CustomerInput, EnrollInput, EventInput, ProgramInput,
};
use crate::referrals::webhook::SIGNATURE_HEADER;
use crate::referrals::{self as referrals, Program, ReferralError};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(put_program)
        .service(get_program)
        .service(rotate_webhook_secret)
        .service(list_programs)
        .service(public_program)
        .service(public_disclosure)
        .service(enroll)
        .service(bind_customer)
        .service(post_event)
        .service(webhook)
        .service(list_events)
        .service(list_commissions)
        .service(clear_hold)
        .service(reject_commission)
        .service(set_advocate_status)
        .service(create_payouts)
        .service(list_payouts)
        .service(payouts_csv)
        .service(mark_paid)
        .service(funnel)
        .service(my_referrals);
}

/// The program named in a path, if `principal` may act on its vendor as `role` (unknown
/// program → 404; another vendor's → 403).
pub async fn program_for(
    state: &AppState,
    principal: Principal,
    reference: String,
    role: VendorRole,
) -> Result<(Program, Vendor), ApiError> {
    state
        .db(move |conn| {
            let (program, vendor) = service::find_program(conn, &reference)?;
            accounts::authorize_vendor(conn, &principal, &vendor.slug, role)?;
            Ok::<_, ApiError>((program, vendor))
        })
        .await
}

/// A program anyone may see.
pub async fn public_program_for(
    state: &AppState,
    reference: String,
) -> Result<(Program, Vendor), ApiError> {
    state
        .db(move |conn| Ok::<_, ApiError>(service::find_program(conn, &reference)?))
        .await
}

// ---------------------------------------------------------------------------------------------
// Programs

#[put("/api/v1/vendors/{vendor}/program")]
async fn put_program(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<ProgramInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let master = state.master_key.clone();
    let links = state.links.clone();
    let (view, _created) = state
        .tx(move |conn| service::save_program(conn, &vendor, &input, &master, &links, &actor, now))
        .await
        .map_err(ApiError::from)?;
    // The landing URL may have changed: redirects look it up again.
    state.clicks.forget_codes();
    Ok(HttpResponse::Ok().json(view))
}

#[get("/api/v1/vendors/{vendor}/program")]
async fn get_program(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let master = state.master_key.clone();
    let links = state.links.clone();
    let view = state
        .db(move |conn| {
            let program = service::program_of_vendor(conn, &vendor)?;
            service::program_view(conn, &program, &vendor, Some(&master), &links)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct RotateInput {
    /// RFC 3339; until when the replaced secret keeps verifying (default: 24 hours from now).
    previous_expires_at: Option<String>,
}

/// Rotates the program's webhook secret; the answer shows the new secret, this once.
#[post("/api/v1/vendors/{vendor}/program/webhook-secret")]
async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<RotateInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let vendor = vendor_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let until = match input.previous_expires_at.as_deref() {
        None => None,
        Some(text) => Some(
            chrono::DateTime::parse_from_rfc3339(text.trim())
                .map(|t| t.naive_utc())
                .map_err(|_| {
                    ReferralError::field(
                        "previous_expires_at",
                        "use an RFC 3339 time such as 2026-12-08T12:00:00Z",
                    )
                })?,
        ),
    };
    let now = state.clock.now();
    let master = state.master_key.clone();
    let rotated = state
        .tx(move |conn| {
            let program = service::program_of_vendor(conn, &vendor)?;
            service::rotate_webhook_secret(conn, &program, &master, until, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(rotated))
}

#[get("/api/v1/programs")]
async fn list_programs(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let links = state.links.clone();
    let views = state
        .db(move |conn| {
            referrals::store::list_programs(conn)?
                .iter()
                .map(|(program, vendor)| service::program_view(conn, program, vendor, None, &links))
                .collect::<Result<Vec<_>, ReferralError>>()
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(views))
}

#[get("/api/v1/programs/{program}")]
async fn public_program(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, vendor) = public_program_for(&state, path.into_inner()).await?;
    let links = state.links.clone();
    let view = state
        .db(move |conn| service::program_view(conn, &program, &vendor, None, &links))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[get("/api/v1/programs/{program}/disclosure")]
async fn public_disclosure(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, vendor) = public_program_for(&state, path.into_inner()).await?;
    let links = state.links.clone();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::disclosure(conn, &program, &vendor, &links, now))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Enrollment

/// Enrolls the signed-in person; shared with the program page's form.
pub async fn enroll_user(
    state: &AppState,
    user: &SessionUser,
    reference: String,
    input: EnrollInput,
) -> Result<(service::EnrollmentView, bool), ApiError> {
    let (program, vendor) = public_program_for(state, reference).await?;
    let now = state.clock.now();
    let links = state.links.clone();
    let (user_id, name) = (user.id.clone(), user.display_name.clone());
    Ok(state
        .tx(move |conn| {
            let person = service::Enrollee {
                user_id: &user_id,
                display_name: &name,
            };
            service::enroll(conn, &program, &vendor, person, &input, &links, now)
        })
        .await?)
}

#[post("/api/v1/programs/{program}/enrollments")]
async fn enroll(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<EnrollInput>,
) -> Result<HttpResponse, ApiError> {
    let (view, created) = enroll_user(&state, &user, path.into_inner(), input).await?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StatusInput {
    status: String,
}

#[post("/api/v1/programs/{program}/advocates/{enrollment}/status")]
async fn set_advocate_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<(String, String)>,
    Json(input): Json<StatusInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let (reference, enrollment_id) = path.into_inner();
    let (program, _) =
        program_for(&state, principal, reference, VendorRole::ProgramManager).await?;
    let now = state.clock.now();
    let enrollment = state
        .tx(move |conn| {
            service::set_advocate_status(conn, &program, &enrollment_id, &input.status, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    state.clicks.forget_codes();
    Ok(HttpResponse::Ok().json(enrollment))
}

// ---------------------------------------------------------------------------------------------
// Customers and billing events

#[derive(Serialize)]
struct NotBound {
    bound: bool,
    external_id: String,
    reason: String,
}

#[post("/api/v1/programs/{program}/customers")]
async fn bind_customer(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<CustomerInput>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    // Clicks redirected by this node may still be in the group-commit buffer.
    if input.click_id.is_some() {
        crate::jobs::referrals::flush(&state)
            .await
            .map_err(ApiError::Internal)?;
    }
    let now = state.clock.now();
    let outcome = state
        .db(move |conn| service::bind_customer_with_retry(conn, &program, &input, now))
        .await
        .map_err(ApiError::from)?;
    Ok(match outcome {
        BindOutcome::Bound(view) => HttpResponse::Created().json(view),
        BindOutcome::Existing(view) => HttpResponse::Ok().json(view),
        BindOutcome::NotBound {
            external_id,
            reason,
        } => HttpResponse::Ok().json(NotBound {
            bound: false,
            external_id,
            reason,
        }),
    })
}

async fn ingest(
    state: &AppState,
    program: Program,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let input: EventInput = parse_json(&body)?;
    let payload = String::from_utf8_lossy(&body).into_owned();
    let now = state.clock.now();
    let answer = state
        .db(move |conn| service::ingest_event(conn, &program, &input, &payload, now))
        .await
        .map_err(ApiError::from)?;
    Ok(if answer.replayed {
        HttpResponse::Ok().json(answer)
    } else {
        HttpResponse::Created().json(answer)
    })
}

fn require_json(req: &HttpRequest) -> Result<(), ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(
            "send the event as JSON with `Content-Type: application/json`".into(),
        ))
    }
}

#[post("/api/v1/programs/{program}/events")]
async fn post_event(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    require_json(&req)?;
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let body = read_body(&mut payload.into_inner(), JSON_LIMIT).await?;
    ingest(&state, program, body).await
}

/// The signed webhook: `Credo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
/// with the program's webhook secret; 5-minute replay window.
#[post("/api/v1/programs/{program}/webhook")]
async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = public_program_for(&state, path.into_inner()).await?;
    let body = read_body(&mut payload.into_inner(), JSON_LIMIT).await?;
    let Some(signature) = req
        .headers()
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(ApiError::BadSignature(format!(
            "the {SIGNATURE_HEADER} header is missing; sign `<t>.<raw body>` with HMAC-SHA256 and the program's webhook secret"
        )));
    };
    service::verify_webhook(
        &state.master_key,
        &program,
        signature,
        &body,
        state.clock.now(),
    )?;
    require_json(&req)?;
    ingest(&state, program, body).await
}

#[get("/api/v1/programs/{program}/events")]
async fn list_events(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let events = state
        .db(move |conn| {
            Ok::<_, ApiError>(
                referrals::store::recent_events(conn, &program.id, 200)?
                    .iter()
                    .map(|e| {
                        serde_json::json!({
                            "id": e.id,
                            "source": e.source,
                            "external_event_id": e.external_event_id,
                            "kind": e.kind,
                            "invoice_id": e.invoice_id,
                            "customer_external_id": e.customer_external_id,
                            "amount_minor": e.amount_minor,
                            "currency": e.currency,
                            "occurred_at": crate::clock::rfc3339_seconds(e.occurred_at),
                            "received_at": crate::clock::rfc3339_seconds(e.received_at),
                            "effect": serde_json::from_str::<serde_json::Value>(&e.effect)
                                .unwrap_or(serde_json::Value::Null),
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(events))
}

// ---------------------------------------------------------------------------------------------
// Commissions

#[derive(Deserialize, Default)]
#[serde(default)]
struct CommissionQuery {
    held: bool,
}

#[get("/api/v1/programs/{program}/commissions")]
async fn list_commissions(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
    query: web::Query<CommissionQuery>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let held = query.held;
    let list = state
        .db(move |conn| service::list_commissions(conn, &program, held))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
struct NoteInput {
    note: Option<String>,
}

/// Clearing a review hold is a person's decision: sessions only, no API keys.
#[post("/api/v1/programs/{program}/commissions/{id}/clear-hold")]
async fn clear_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    body: Option<Json<NoteInput>>,
) -> Result<HttpResponse, ApiError> {
    let (reference, commission_id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let (program, _) = program_for(
        &state,
        Principal::User(user),
        reference,
        VendorRole::ProgramManager,
    )
    .await?;
    let note = body.and_then(|Json(b)| b.note);
    let now = state.clock.now();
    let view = state
        .tx(move |conn| {
            service::clear_hold(conn, &program, &commission_id, &actor, note.as_deref(), now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    reason: String,
}

#[post("/api/v1/programs/{program}/commissions/{id}/reject")]
async fn reject_commission(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    let (reference, commission_id) = path.into_inner();
    let actor = user_actor(&req, &user);
    let (program, _) = program_for(
        &state,
        Principal::User(user),
        reference,
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let view = state
        .tx(move |conn| {
            service::reject_commission(conn, &program, &commission_id, &actor, &input.reason, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Payouts

#[post("/api/v1/programs/{program}/payouts")]
async fn create_payouts(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let created = state
        .tx(move |conn| service::create_payouts(conn, &program, &actor, now))
        .await
        .map_err(ApiError::from)?;
    Ok(if created.is_empty() {
        HttpResponse::Ok().json(created)
    } else {
        HttpResponse::Created().json(created)
    })
}

#[derive(Serialize)]
struct PayoutsAnswer {
    payouts: Vec<service::PayoutView>,
    balances: Vec<service::Balance>,
}

#[get("/api/v1/programs/{program}/payouts")]
async fn list_payouts(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let answer = state
        .db(move |conn| {
            Ok::<_, ReferralError>(PayoutsAnswer {
                payouts: service::list_payouts(conn, &program)?,
                balances: service::balances(conn, &program)?,
            })
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(answer))
}

#[get("/api/v1/programs/{program}/payouts.csv")]
async fn payouts_csv(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, vendor) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let csv = state
        .db(move |conn| service::payouts_csv(conn, &program))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-payouts.csv\"", vendor.slug),
        ))
        .body(csv))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaidInput {
    pub reference: String,
}

/// Marks a payout paid after authorizing the caller on its program; shared with the pages.
pub async fn mark_payout_paid(
    state: &AppState,
    principal: Principal,
    actor: Actor,
    payout_id: String,
    reference: String,
) -> Result<service::PayoutView, ApiError> {
    let (payout, _program, vendor) = state
        .db(move |conn| service::payout_with_program(conn, &payout_id))
        .await
        .map_err(ApiError::from)?;
    vendor_for(state, principal, vendor.slug, VendorRole::ProgramManager).await?;
    let now = state.clock.now();
    let links = state.links.clone();
    Ok(state
        .tx(move |conn| service::mark_payout_paid(conn, &payout, &reference, &actor, &links, now))
        .await?)
}

#[post("/api/v1/payouts/{id}/paid")]
async fn mark_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<PaidInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let view =
        mark_payout_paid(&state, principal, actor, path.into_inner(), input.reference).await?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Funnel and the practitioner's figures

#[get("/api/v1/programs/{program}/funnel")]
async fn funnel(
    state: web::Data<AppState>,
    Caller(principal): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let (program, _) = program_for(
        &state,
        principal,
        path.into_inner(),
        VendorRole::ProgramManager,
    )
    .await?;
    let view = state
        .db(move |conn| service::funnel(conn, &program))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[get("/api/v1/me/referrals")]
async fn my_referrals(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<HttpResponse, ApiError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let view = state
        .db(move |conn| service::my_referrals(conn, &user.id, &links, now))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}
