//! Outbound webhooks API (vendor owners): endpoints (secret shown once), rotation, deletion,
//! deliveries and resending. docs/webhooks.md describes what is sent.

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::accounts::{Principal, VendorRole};
use crate::app::AppState;
use crate::http::api::accounts::vendor_for;
use crate::http::auth::{user_actor, CurrentUser};
use crate::http::extract::Json;
use crate::http::problem::ApiError;
use crate::webhooks;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_endpoints)
        .service(create_endpoint)
        .service(rotate_secret)
        .service(delete_endpoint)
        .service(list_deliveries)
        .service(resend);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndpointInput {
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
    vendor_for(state, Principal::User(user), slug, VendorRole::Owner).await
}

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
