//! Outbound webhooks API (vendor owners): endpoints (secret shown once), rotation, deletion,
//! deliveries and resending. docs/webhooks.md describes what is sent.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::http::auth::{user_actor, CurrentUser};
use crate::http::extract::Json;
use crate::http::openapi::{Conflict, JsonBody, NotFound, SignedIn};
use crate::http::problem::ApiError;
use crate::usecases::vendor_for;
use crate::webhooks;

crate::http::openapi::routes!("webhooks":
    list_endpoints,
    create_endpoint,
    rotate_secret,
    delete_endpoint,
    list_deliveries,
    resend,
);

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = WebhookEndpointInput)]
struct EndpointInput {
    /// An https URL.
    url: String,
    /// Event types; empty or absent = every event.
    #[serde(default)]
    events: Vec<String>,
}

async fn owner_vendor(
    state: &AppState,
    user: crate::accounts::SessionUser,
    slug: String,
) -> Result<crate::accounts::Vendor, ApiError> {
    Ok(vendor_for(state, Principal::User(user), slug, VendorRole::Owner).await?)
}

/// The vendor's outbound webhook endpoints (owners; never the secrets)
#[utoipa::path(responses((status = 200, description = "The endpoints", body = Vec<webhooks::EndpointView>), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/webhooks")]
async fn list_endpoints(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let vendor = owner_vendor(&state, user, path.into_inner()).await?;
    let endpoints = state
        .db(move |conn| webhooks::list_endpoints(conn, &vendor))
        .await?;
    Ok(HttpResponse::Ok().json(endpoints))
}

/// Register an endpoint (owners)
///
/// An https URL and an event filter (empty = every event); the answer shows the `whsec_` secret
/// this once.
#[utoipa::path(
    operation_id = "createWebhookEndpoint",
    request_body = EndpointInput,
    responses((status = 201, description = "Registered", body = webhooks::EndpointWithSecret), SignedIn, NotFound, JsonBody, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/webhooks")]
async fn create_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<String>,
    Json(input): Json<EndpointInput>,
) -> Result<HttpResponse, ApiError> {
    let actor = user_actor(&req, &user);
    let vendor = owner_vendor(&state, user, path.into_inner()).await?;
    let now = state.clock.now();
    let master = state.master_key.clone();
    let settings = state.config.webhooks;
    let created = state
        .tx(move |conn| {
            webhooks::create_endpoint(
                conn,
                &master,
                &settings,
                &vendor,
                &input.url,
                &input.events,
                &actor,
                now,
            )
        })
        .await?;
    Ok(HttpResponse::Created().json(created))
}

/// Replace the endpoint's signing secret (owners); the answer shows the new secret this once
#[utoipa::path(
    operation_id = "rotateWebhookEndpointSecret",
    responses((status = 200, description = "Rotated", body = webhooks::EndpointWithSecret), SignedIn, NotFound),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/webhooks/{endpoint}/secret")]
async fn rotate_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, endpoint) = path.into_inner();
    let actor = user_actor(&req, &user);
    let vendor = owner_vendor(&state, user, slug).await?;
    let now = state.clock.now();
    let master = state.master_key.clone();
    let rotated = state
        .tx(move |conn| webhooks::rotate_secret(conn, &master, &vendor, &endpoint, &actor, now))
        .await?;
    Ok(HttpResponse::Ok().json(rotated))
}

/// Delete an endpoint (owners); its pending deliveries are cancelled
#[utoipa::path(
    operation_id = "deleteWebhookEndpoint",
    responses((status = 204, description = "Deleted"), SignedIn, NotFound),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[delete("/api/v1/vendors/{vendor}/webhooks/{endpoint}")]
async fn delete_endpoint(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, endpoint) = path.into_inner();
    let actor = user_actor(&req, &user);
    let vendor = owner_vendor(&state, user, slug).await?;
    let now = state.clock.now();
    state
        .tx(move |conn| webhooks::delete_endpoint(conn, &vendor, &endpoint, &actor, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The endpoint's latest 100 deliveries, newest first (owners)
#[utoipa::path(responses((status = 200, description = "The deliveries", body = Vec<webhooks::DeliveryView>), SignedIn, NotFound))]
#[get("/api/v1/vendors/{vendor}/webhooks/{endpoint}/deliveries")]
async fn list_deliveries(
    state: web::Data<AppState>,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, endpoint) = path.into_inner();
    let vendor = owner_vendor(&state, user, slug).await?;
    let deliveries = state
        .db(move |conn| webhooks::list_deliveries(conn, &vendor, &endpoint))
        .await?;
    Ok(HttpResponse::Ok().json(deliveries))
}

/// Send a delivery again now (owners)
///
/// Same `webhook-id` and payload, a fresh 24-hour retry window.
#[utoipa::path(
    operation_id = "resendWebhookDelivery",
    responses((status = 202, description = "Queued", body = webhooks::DeliveryView), SignedIn, NotFound, Conflict),
    extensions(("x-credo-privileged" = json!(true)))
)]
#[post("/api/v1/vendors/{vendor}/webhook-deliveries/{delivery}/resend")]
async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    CurrentUser(user): CurrentUser,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (slug, delivery) = path.into_inner();
    let actor = user_actor(&req, &user);
    let vendor = owner_vendor(&state, user, slug).await?;
    let now = state.clock.now();
    let requeued = state
        .tx(move |conn| webhooks::resend(conn, &vendor, &delivery, &actor, now))
        .await?;
    Ok(HttpResponse::Accepted().json(requeued))
}
