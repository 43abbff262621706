//! The vendor console's outbound webhooks page (owners): endpoints with their event filters,
//! the secret shown once after creating or rotating, and each endpoint's latest deliveries with
//! status, attempts and last response code, and a button to resend.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    human_time_text, render_with_status, see_other, vendor_with_role, Empty, Form, PageContext,
    PageError, PageUser,
};
use crate::accounts::{SessionUser, Vendor, VendorRole};
use crate::app::AppState;
use crate::http::auth::user_actor;
use crate::http::problem::ApiError;
use crate::validation::FieldErrors;
use crate::webhooks::{
    self, DeliveryView, EndpointView, EndpointWithSecret, EventType, WebhookError,
};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(page)
        .service(create)
        .service(rotate)
        .service(delete)
        .service(resend);
}

struct DeliveryRow {
    view: DeliveryView,
    created: String,
    next: Option<String>,
}

struct EndpointBlock {
    endpoint: EndpointView,
    created: String,
    deliveries: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "vendor/webhooks.html")]
struct WebhooksPage {
    ctx: PageContext,
    vendor: Vendor,
    endpoints: Vec<EndpointBlock>,
    events: Vec<&'static str>,
    /// The endpoint whose secret was just created or rotated, with the secret (shown once).
    new_secret: Option<EndpointWithSecret>,
    url: String,
    errors: FieldErrors,
}

async fn render(
    state: &AppState,
    req: &HttpRequest,
    user: SessionUser,
    vendor: Vendor,
    new_secret: Option<EndpointWithSecret>,
    (url, errors, status): (String, FieldErrors, StatusCode),
) -> Result<HttpResponse, PageError> {
    let target = vendor.clone();
    let listed = state
        .db(move |conn| {
            let mut blocks = Vec::new();
            for endpoint in webhooks::list_endpoints(conn, &target)? {
                let deliveries = webhooks::list_deliveries(conn, &target, &endpoint.id)?;
                blocks.push((endpoint, deliveries));
            }
            Ok::<_, WebhookError>(blocks)
        })
        .await
        .map_err(ApiError::from)?;
    let endpoints = listed
        .into_iter()
        .map(|(endpoint, deliveries)| EndpointBlock {
            created: human_time_text(&endpoint.created_at),
            endpoint,
            deliveries: deliveries
                .into_iter()
                .map(|view| DeliveryRow {
                    created: human_time_text(&view.created_at),
                    next: view.next_attempt_at.as_deref().map(human_time_text),
                    view,
                })
                .collect(),
        })
        .collect();
    Ok(render_with_status(
        status,
        &WebhooksPage {
            ctx: PageContext::new(req, Some(user)),
            vendor,
            endpoints,
            events: EventType::ALL.map(EventType::as_str).to_vec(),
            new_secret,
            url,
            errors,
        },
    ))
}

#[get("/vendor/{vendor}/webhooks")]
async fn page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let fresh = (String::new(), FieldErrors::new(), StatusCode::OK);
    render(&state, &req, user, vendor, None, fresh).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EndpointForm {
    url: String,
    /// One entry per ticked event box; none ticked = every event.
    events: Vec<String>,
}

#[post("/vendor/{vendor}/webhooks")]
async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<EndpointForm>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    let (master, settings) = (state.master_key.clone(), state.config.webhooks);
    let url = form.url.clone();
    // The page that shows the secret is the answer to this POST: it is never stored in the clear.
    match state
        .tx(move |conn| {
            webhooks::create_endpoint(
                conn,
                &master,
                &settings,
                &target,
                &form.url,
                &form.events,
                &actor,
                now,
            )
        })
        .await
    {
        Ok(created) => {
            let done = (String::new(), FieldErrors::new(), StatusCode::CREATED);
            render(&state, &req, user, vendor, Some(created), done).await
        }
        Err(WebhookError::Validation(list)) => {
            let mut errors = FieldErrors::new();
            for error in list {
                errors.add(error.field, error.message);
            }
            let failed = (url, errors, StatusCode::UNPROCESSABLE_ENTITY);
            render(&state, &req, user, vendor, None, failed).await
        }
        Err(other) => Err(ApiError::from(other).into()),
    }
}

#[post("/vendor/{vendor}/webhooks/{endpoint}/secret")]
async fn rotate(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (slug, endpoint) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor, master) = (
        vendor.clone(),
        user_actor(&req, &user),
        state.master_key.clone(),
    );
    let rotated = state
        .tx(move |conn| webhooks::rotate_secret(conn, &master, &target, &endpoint, &actor, now))
        .await
        .map_err(ApiError::from)?;
    let done = (String::new(), FieldErrors::new(), StatusCode::OK);
    render(&state, &req, user, vendor, Some(rotated), done).await
}

#[post("/vendor/{vendor}/webhooks/{endpoint}/delete")]
async fn delete(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (slug, endpoint) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    state
        .tx(move |conn| webhooks::delete_endpoint(conn, &target, &endpoint, &actor, now))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!("/vendor/{}/webhooks", vendor.slug)))
}

#[post("/vendor/{vendor}/webhook-deliveries/{delivery}/resend")]
async fn resend(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (slug, delivery) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, slug, VendorRole::Owner).await?;
    let now = state.clock.now();
    let (target, actor) = (vendor.clone(), user_actor(&req, &user));
    state
        .tx(move |conn| webhooks::resend(conn, &target, &delivery, &actor, now))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!("/vendor/{}/webhooks", vendor.slug)))
}
