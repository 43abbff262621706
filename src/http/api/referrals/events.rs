//! Customer binding and the billing-event inbox (API key or signed webhook).

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::accounts::VendorRole;
use crate::app::AppState;
use crate::http::auth::Caller;
use crate::http::extract::{parse_json, read_body, Json, JSON_LIMIT};
use crate::http::openapi::{
    Conflict, JsonBody, NotFound, SignedIn, TooLarge, Unauthorized, UnsupportedType,
};
use crate::http::problem::ApiError;
use crate::referrals::service::{self, BindOutcome, CustomerInput, EventInput};
use crate::referrals::webhook::SIGNATURE_HEADER;
use crate::referrals::{self as referrals, Program};

use super::program_for;

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
pub(super) async fn bind_customer(
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
pub(super) async fn post_event(
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
pub(super) async fn webhook(
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
pub(super) async fn list_events(
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
                        kind: e.kind.to_string(),
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
