//! Stripe: the webhook endpoint, the vendor's signing secret, exams' payment links, and the
//! candidate's checkout hand-off. Handlers parse, authorize and call one `billing::service`
//! function.

use actix_web::{get, post, put, web, HttpRequest, HttpResponse};

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::billing::service::{self, CheckoutInput, SecretInput};
use crate::billing::{stripe, BillingError};
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{user_actor, CurrentUser};
use crate::http::extract::{read_body, Json, JSON_LIMIT};
use crate::http::problem::ApiError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(stripe_webhook)
        .service(get_stripe)
        .service(put_stripe)
        .service(get_checkout)
        .service(put_checkout)
        .service(start_checkout);
}

/// `POST /webhooks/stripe/{vendor}`: Stripe's deliveries, signed with the vendor's secret.
/// 400 for a missing, wrong or stale signature or a body that is not an event; 200 for
/// every verified event, used or not.
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

/// Sets the signing secret of the vendor's Stripe endpoint; the answer shows only its hint.
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

/// Sets an exam's payment link and price.
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

/// A candidate starts paying: 201 with the pending order and the checkout URL to open.
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
