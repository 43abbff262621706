//! Stripe: the webhook endpoint, the vendor's signing secret, exams' payment links, and the
//! candidate's checkout hand-off. Handlers parse, authorize and call one `billing::service`
//! function.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::billing::service::{self, CheckoutInput, SecretInput};
use crate::billing::{stripe, BillingError};
use crate::http::auth::{user_actor, CurrentUser};
use crate::http::extract::{read_body, Json, JSON_LIMIT};
use crate::http::openapi::{BadRequest, Conflict, Invalid, JsonBody, NotFound, SignedIn, TooLarge};
use crate::http::problem::ApiError;
use crate::usecases::vendor_for;

crate::http::openapi::routes!("billing":
    stripe_webhook,
    get_stripe,
    put_stripe,
    get_checkout,
    put_checkout,
    start_checkout,
);

/// Stripe webhook endpoint of a vendor (docs/stripe.md)
///
/// Header `Stripe-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(signing secret, "<t>.<raw body>")>`
/// (any v1 may match; 300 s tolerance). `checkout.session.completed` /
/// `checkout.session.async_payment_succeeded` pay the exam order named by `client_reference_id`
/// (held for review when amount or currency differ); `charge.refunded` refunds an exam order, else
/// becomes a refund event of the advocate program; `customer.created` (`metadata.credo_click`) binds
/// a customer; `invoice.paid` becomes an `invoice_paid` event. Idempotent by event id; other types
/// are acknowledged and ignored. 400 for a missing, wrong or stale signature or a body that is not
/// an event; 200 for every verified event, used or not.
#[utoipa::path(
    operation_id = "stripeWebhook",
    params(("Stripe-Signature" = String, Header, description = "Stripe's signature of the body")),
    request_body(description = "A Stripe event", content = Object),
    responses(
        (status = 200, description = "What was done with the event", body = service::EventOutcome),
        BadRequest, NotFound, Conflict, TooLarge, Invalid
    ),
    security()
)]
#[post("/webhooks/stripe/{vendor}")]
async fn stripe_webhook(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let slug = path.into_inner();
    let body = read_body(&mut payload.into_inner(), JSON_LIMIT).await?;
    let header = req
        .headers()
        .get(stripe::SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let master = state.master_key.clone();
    let now = state.clock.now();
    let checked = body.clone();
    let vendor = state
        .db(move |conn| {
            let vendor = crate::accounts::store::find_vendor_by_slug(conn, &slug)?
                .ok_or_else(|| BillingError::NotFound(format!("no vendor {slug}")))?;
            service::verify(conn, &master, &vendor, header.as_deref(), &checked, now)?;
            Ok::<_, BillingError>(vendor)
        })
        .await?;
    let (event, parsed) = stripe::parse_event(&body).map_err(ApiError::BadRequest)?;
    if matches!(
        parsed,
        stripe::Parsed::CustomerCreated(_) | stripe::Parsed::CheckoutCompleted(_)
    ) {
        // Clicks redirected by this node may still be in the group-commit buffer.
        crate::jobs::referrals::flush(&state)
            .await
            .map_err(ApiError::Internal)?;
    }
    let payload = String::from_utf8_lossy(&body).into_owned();
    let outcome = state
        .db(move |conn| service::handle_event(conn, &vendor, &event, &parsed, &payload, now))
        .await?;
    Ok(HttpResponse::Ok().json(outcome))
}

fn endpoint_url(state: &AppState, vendor: &str) -> String {
    state.links.url(&format!("/webhooks/stripe/{vendor}"))
}

/// The vendor's Stripe settings (owners)
///
/// Whether a signing secret is set (only its hint is shown) and the endpoint URL to enter in Stripe.
#[utoipa::path(
    operation_id = "getStripeSettings",
    responses((status = 200, description = "The settings", body = service::StripeView), SignedIn, NotFound)
)]
#[get("/api/v1/vendors/{vendor}/stripe")]
async fn get_stripe(
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
    let url = endpoint_url(&state, &vendor.slug);
    let view = state
        .db(move |conn| service::stripe_view(conn, &vendor, url))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Set the signing secret of the vendor's Stripe endpoint (owners)
///
/// Stored sealed, never shown again: the answer shows only its hint.
#[utoipa::path(
    operation_id = "setStripeSecret",
    request_body = SecretInput,
    responses((status = 200, description = "The settings", body = service::StripeView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[put("/api/v1/vendors/{vendor}/stripe")]
async fn put_stripe(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<SecretInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(&req, &user);
    let vendor = vendor_for(
        &state,
        Principal::User(user),
        path.into_inner(),
        VendorRole::Owner,
    )
    .await?;
    let master = state.master_key.clone();
    let url = endpoint_url(&state, &vendor.slug);
    let now = state.clock.now();
    let view = state
        .tx(move |conn| {
            service::set_secret(conn, &master, &vendor, &input, &actor, now)?;
            service::stripe_view(conn, &vendor, url)
        })
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// An exam's payment link and price (owners)
#[utoipa::path(operation_id = "getExamCheckout", responses((status = 200, description = "The checkout settings", body = service::CheckoutView), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/exams/{exam}/checkout")]
async fn get_checkout(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam) = path.into_inner();
    let vendor = vendor_for(&state, Principal::User(user), vendor, VendorRole::Owner).await?;
    let view = state
        .db(move |conn| service::checkout_settings(conn, &vendor, &exam))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// Set an exam's Stripe payment link and price (owners); every payment must match the price
#[utoipa::path(
    operation_id = "setExamCheckout",
    request_body = CheckoutInput,
    responses((status = 200, description = "The checkout settings", body = service::CheckoutView), SignedIn, NotFound, JsonBody),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[put("/api/v1/vendors/{vendor}/exams/{exam}/checkout")]
async fn put_checkout(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
    Json(input): Json<CheckoutInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(&req, &user);
    let (vendor, exam) = path.into_inner();
    let vendor = vendor_for(&state, Principal::User(user), vendor, VendorRole::Owner).await?;
    let now = state.clock.now();
    let view = state
        .tx(move |conn| service::set_checkout(conn, &vendor, &exam, &input, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(view))
}

/// A candidate starts paying for an exam
///
/// A pending order (the last pending one is reused) and the vendor's checkout URL carrying it as
/// `client_reference_id`.
#[utoipa::path(
    operation_id = "startCheckout",
    responses((status = 201, description = "The order and where to pay", body = service::CheckoutStart), SignedIn, NotFound, Conflict),
    extensions(("x-credo-not-audited" = json!("a candidate's own pending order (kept in orders)")))
)]
#[post("/api/v1/exams/{vendor}/{exam}/checkout")]
async fn start_checkout(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (vendor, exam) = path.into_inner();
    let now = state.clock.now();
    let started = state
        .tx(move |conn| service::start_checkout(conn, &vendor, &exam, &user.id, now))
        .await?;
    Ok(HttpResponse::Created().json(started))
}
