//! Referral network API: programs and tiers, enrollment, customer binding, the billing-event
//! inbox (API key or signed webhook), commissions review, payouts, funnel and the
//! practitioner's own figures. Handlers parse, authorize and call one `referrals::service`
//! function; `{program}` is a program id or its vendor's slug.

use actix_web::http::header;
use actix_web::{get, post, put, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, Principal, SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{actor, user_actor, Caller, CurrentUser};
use crate::http::extract::{parse_json, query_flag, read_body, Json, JSON_LIMIT};
use crate::http::openapi::{
    Conflict, Invalid, JsonBody, NotFound, SignedIn, TooLarge, Unauthorized, UnsupportedType,
};
use crate::http::problem::ApiError;
use crate::referrals::service::{
    self, BindOutcome, CustomerInput, EnrollInput, EventInput, ProgramInput,
};
use crate::referrals::webhook::SIGNATURE_HEADER;
use crate::referrals::{self as referrals, Program, ReferralError};

crate::http::openapi::routes!("referrals":
    put_program,
    get_program,
    rotate_webhook_secret,
    list_programs,
    public_program,
    public_disclosure,
    enroll,
    bind_customer,
    post_event,
    webhook,
    list_events,
    list_commissions,
    clear_hold,
    reject_commission,
    set_advocate_status,
    create_payouts,
    list_payouts,
    payouts_csv,
    mark_paid,
    funnel,
    my_referrals,
);

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

// ---------------------------------------------------------------------------------------------
// Programs

/// Create or update the vendor's advocate program and tiers (program managers)
///
/// Answers the program with its id and webhook secret.
#[utoipa::path(
    operation_id = "saveProgram",
    request_body = ProgramInput,
    responses((status = 200, description = "The program", body = service::ProgramView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
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

/// The vendor's program with its webhook secret (program managers)
#[utoipa::path(responses((status = 200, description = "The program", body = service::ProgramView), SignedIn, NotFound))]
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

#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
#[schema(as = WebhookRotation)]
struct RotateInput {
    /// RFC 3339; until when the replaced secret keeps verifying (default: 24 hours from now).
    #[schema(format = DateTime)]
    previous_expires_at: Option<String>,
}

/// Rotate the program's webhook secret (program managers)
///
/// Answers the new secret once; the replaced secret keeps verifying until `previous_expires_at`
/// (default 24 hours, at most 30 days; now ends it at once).
#[utoipa::path(
    operation_id = "rotateWebhookSecret",
    request_body = RotateInput,
    responses((status = 200, description = "The new secret", body = service::RotatedSecret), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
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

/// Public list of advocate programs
#[utoipa::path(responses((status = 200, description = "The programs", body = Vec<service::ProgramView>)), security())]
#[get("/api/v1/programs")]
async fn list_programs(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let links = state.links.clone();
    let views = state
        .db(move |conn| service::public_programs(conn, &links))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(views))
}

/// Public view of a program (terms, tiers, settings)
///
/// `{program}` is the program id or its vendor's slug.
#[utoipa::path(responses((status = 200, description = "The program", body = service::ProgramView), NotFound), security())]
#[get("/api/v1/programs/{program}")]
async fn public_program(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let links = state.links.clone();
    let view = state
        .db(move |conn| service::public_program(conn, &reference, &links))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

/// Public yearly earnings disclosure
///
/// Per year: people enrolled, share earning nothing (bp), median and 90th percentile net earnings.
#[utoipa::path(responses((status = 200, description = "The disclosure", body = service::DisclosureView), NotFound), security())]
#[get("/api/v1/programs/{program}/disclosure")]
async fn public_disclosure(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let links = state.links.clone();
    let now = state.clock.now();
    let view = state
        .db(move |conn| service::disclosure(conn, &reference, &links, now))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Enrollment

/// Enroll the signed-in practitioner (free, no purchase)
///
/// `accept_terms_version` must equal the program's current terms version. Enrolling again answers
/// 200 with the existing enrollment.
#[utoipa::path(
    request_body = EnrollInput,
    responses(
        (status = 201, description = "Enrolled", body = service::EnrollmentView),
        (status = 200, description = "Already enrolled", body = service::EnrollmentView),
        SignedIn, NotFound, JsonBody, Conflict
    ),
    extensions(("x-credo-not-audited" = json!("a practitioner's own enrollment (kept with the accepted terms version)")))
)]
#[post("/api/v1/programs/{program}/enrollments")]
async fn enroll(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<EnrollInput>,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let now = state.clock.now();
    let links = state.links.clone();
    let (view, created) = state
        .tx(move |conn| {
            service::enroll_by_reference(conn, &reference, (&user).into(), &input, &links, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(if created {
        HttpResponse::Created().json(view)
    } else {
        HttpResponse::Ok().json(view)
    })
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = AdvocateStatusInput)]
struct StatusInput {
    /// `active` or `suspended`.
    status: String,
}

/// Suspend or reinstate an advocate (program managers)
///
/// Suspended codes answer 404 at `/r/{code}`; new commissions are held.
#[utoipa::path(
    operation_id = "setAdvocateStatus",
    request_body = StatusInput,
    responses((status = 200, description = "The enrollment", body = service::EnrollmentView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
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

/// A customer not bound: the click is older than the attribution window.
#[derive(Serialize, utoipa::ToSchema)]
struct NotBound {
    /// Always `false`.
    bound: bool,
    external_id: String,
    reason: String,
}

/// The 200 answer of a binding: the one made before (first binding wins), or why none was made.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
enum BindAnswer {
    Existing(service::CustomerView),
    NotBound(NotBound),
}

/// Bind a vendor's customer to the advocate of a click or a referral code
///
/// The vendor's API key or a program manager. First binding wins (200 with the existing one). A
/// click older than the attribution window binds nothing: 200 `{bound: false, reason}`. Unknown
/// click or code: 422.
#[utoipa::path(
    request_body = CustomerInput,
    responses(
        (status = 201, description = "Bound", body = service::CustomerView),
        (status = 200, description = "Bound before, or not bound", body = inline(BindAnswer)),
        SignedIn, NotFound, JsonBody, Conflict
    ),
    extensions(("x-credo-not-audited" = json!("the vendor's billing feed: bindings are kept with their time, click and code, first binding wins")))
)]
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
        BindOutcome::Existing(view) => HttpResponse::Ok().json(BindAnswer::Existing(view)),
        BindOutcome::NotBound {
            external_id,
            reason,
        } => HttpResponse::Ok().json(BindAnswer::NotBound(NotBound {
            bound: false,
            external_id,
            reason,
        })),
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

/// Report a billing event (the vendor's API key or a program manager)
///
/// Stored first with a unique key on (`source`, `external_event_id`) and processed in the same
/// transaction: 201 with the effect; the same event again answers 200 with the same effect and
/// nothing new. `invoice_paid` from a bound customer within `commission_months` of binding creates
/// a pending commission (tier and rate as of `occurred_at`); `refund` before payout reverses
/// (partial: re-created for the remainder), after payout creates a negative clawback. Exam fees and
/// voucher purchases are not accepted kinds.
#[utoipa::path(
    request_body = EventInput,
    responses(
        (status = 201, description = "Recorded", body = service::EventAnswer),
        (status = 200, description = "Received before: the same effect, nothing new", body = service::EventAnswer),
        SignedIn, NotFound, JsonBody, Conflict
    ),
    extensions(("x-credo-not-audited" = json!("the vendor's billing feed: every event is kept append-only in billing_events under its (source, external_event_id), and every commission change in commission_transitions")))
)]
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

/// Signed billing webhook
///
/// Header `Credo-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>` with
/// the program's webhook secret; timestamps more than 300 s from the server clock are refused.
/// Body and answers as `POST …/events`.
#[utoipa::path(
    params(("Credo-Signature" = String, Header, description = "`t=<unix seconds>,v1=<hex HMAC-SHA256>`")),
    request_body = EventInput,
    responses(
        (status = 201, description = "Recorded", body = service::EventAnswer),
        (status = 200, description = "Received before: the same effect, nothing new", body = service::EventAnswer),
        Unauthorized, NotFound, Conflict, TooLarge, UnsupportedType, JsonBody
    ),
    security()
)]
#[post("/api/v1/programs/{program}/webhook")]
async fn webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let reference = path.into_inner();
    let (program, _) = state
        .db(move |conn| service::find_program(conn, &reference))
        .await
        .map_err(ApiError::from)?;
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

/// A received billing event as the program's managers list it.
#[derive(Serialize, utoipa::ToSchema)]
struct ListedEvent {
    id: String,
    source: String,
    external_event_id: String,
    kind: String,
    invoice_id: String,
    customer_external_id: String,
    amount_minor: i64,
    currency: String,
    #[schema(format = DateTime)]
    occurred_at: String,
    #[schema(format = DateTime)]
    received_at: String,
    /// What the event did (as in the answer to its posting); `null` if unreadable.
    effect: serde_json::Value,
}

/// Recent billing events with their effect (program managers)
#[utoipa::path(responses((status = 200, description = "The latest 200 events, newest first", body = Vec<ListedEvent>), SignedIn, NotFound))]
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
                    .into_iter()
                    .map(|e| ListedEvent {
                        effect: serde_json::from_str(&e.effect).unwrap_or_default(),
                        occurred_at: crate::clock::rfc3339_seconds(e.occurred_at),
                        received_at: crate::clock::rfc3339_seconds(e.received_at),
                        id: e.id,
                        source: e.source,
                        external_event_id: e.external_event_id,
                        kind: e.kind,
                        invoice_id: e.invoice_id,
                        customer_external_id: e.customer_external_id,
                        amount_minor: e.amount_minor,
                        currency: e.currency,
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(events))
}

// ---------------------------------------------------------------------------------------------
// Commissions

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct CommissionQuery {
    /// Only the commissions held for review.
    #[param(value_type = Option<bool>)]
    held: Option<String>,
}

/// Commissions of the program (program managers)
#[utoipa::path(
    params(CommissionQuery),
    responses((status = 200, description = "The commissions", body = Vec<service::CommissionView>), SignedIn, NotFound, Invalid)
)]
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
    let held = query_flag("held", query.held.as_deref(), false)?;
    let list = state
        .db(move |conn| service::list_commissions(conn, &program, held))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(list))
}

#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
struct NoteInput {
    note: Option<String>,
}

/// Clear a review hold (self-referral or suspended advocate) after review
///
/// A person's decision: a session is required, API keys are refused.
#[utoipa::path(
    operation_id = "clearCommissionHold",
    request_body(content = Option<NoteInput>, description = "An optional note (a body that is not one is ignored)"),
    responses((status = 200, description = "The commission", body = service::CommissionView), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/commissions/{id}/clear-hold")]
async fn clear_hold(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    body: Option<Json<NoteInput>>,
) -> Result<HttpResponse, ApiError> {
    let note = body.and_then(|Json(b)| b.note);
    let decision = service::Review::ClearHold { note };
    review(&state, &req, user, path.into_inner(), decision).await
}

/// A program manager's review decision on a commission of the program (a person's decision: a
/// session is required, API keys are refused).
async fn review(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    (reference, commission_id): (String, String),
    decision: service::Review,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(req, &user);
    let (program, _) = program_for(
        state,
        Principal::User(user),
        reference,
        VendorRole::ProgramManager,
    )
    .await?;
    let now = state.clock.now();
    let view = state
        .tx(move |conn| {
            service::review_commission(conn, &program, &commission_id, &decision, &actor, now)
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct ReasonInput {
    reason: String,
}

/// Reject a pending commission after review (it becomes reversed)
#[utoipa::path(
    operation_id = "rejectCommission",
    request_body = ReasonInput,
    responses((status = 200, description = "The commission", body = service::CommissionView), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/programs/{program}/commissions/{id}/reject")]
async fn reject_commission(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<ReasonInput>,
) -> Result<HttpResponse, ApiError> {
    let decision = service::Review::Reject {
        reason: input.reason,
    };
    review(&state, &req, user, path.into_inner(), decision).await
}

// ---------------------------------------------------------------------------------------------
// Payouts

/// Create payouts from approved balances at or above the program's minimum
///
/// A negative balance blocks that advocate's payout. 201 with the new payouts, 200 with an empty
/// list when there is nothing to pay.
#[utoipa::path(
    operation_id = "createPayouts",
    responses(
        (status = 201, description = "Created", body = Vec<service::PayoutView>),
        (status = 200, description = "Nothing to pay", body = Vec<service::PayoutView>),
        SignedIn, NotFound, Conflict
    ),
    extensions(("x-credo-privileged" = json!(true)))
)]
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

#[derive(Serialize, utoipa::ToSchema)]
struct PayoutsAnswer {
    payouts: Vec<service::PayoutView>,
    balances: Vec<service::Balance>,
}

/// Payouts and current balances with the reason a payout would be blocked
#[utoipa::path(responses((status = 200, description = "Payouts and balances", body = PayoutsAnswer), SignedIn, NotFound))]
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

/// All payouts as CSV
#[utoipa::path(responses((status = 200, description = "The payouts", content_type = "text/csv", body = String), SignedIn, NotFound))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct PaidInput {
    /// The transfer's reference.
    reference: String,
}

/// Mark a payout paid with the transfer reference
///
/// Its commissions become paid and the advocate is mailed. The same reference again answers the
/// same.
#[utoipa::path(
    operation_id = "markPayoutPaid",
    request_body = PaidInput,
    responses((status = 200, description = "The payout", body = service::PayoutView), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/payouts/{id}/paid")]
async fn mark_paid(
    state: web::Data<AppState>,
    req: HttpRequest,
    Caller(principal): Caller,
    path: web::Path<String>,
    Json(input): Json<PaidInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = actor(&req, &principal);
    let payout_id = path.into_inner();
    let now = state.clock.now();
    let links = state.links.clone();
    let view = state
        .tx(move |conn| {
            service::mark_payout_paid_as(
                conn,
                &principal,
                &payout_id,
                &input.reference,
                &actor,
                &links,
                now,
            )
        })
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(view))
}

// ---------------------------------------------------------------------------------------------
// Funnel and the practitioner's figures

/// The program's funnel (program managers)
///
/// Clicks without bots → customers → invoices → commissions, per program and per advocate;
/// practitioners registered → attempted → certified → enrolled → earning.
#[utoipa::path(responses((status = 200, description = "The funnel", body = service::FunnelView), SignedIn, NotFound))]
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

/// The signed-in practitioner's enrollments
///
/// Link with disclosure, tier and next tier requirements, clicks, customers, invoices, commissions
/// by status, balance, payouts.
#[utoipa::path(responses((status = 200, description = "The enrollments", body = service::MyReferrals), SignedIn))]
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
