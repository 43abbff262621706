//! Stripe pages: the candidate's hand-off to the vendor's checkout, and the console's Stripe page
//! (signing secret, payment links and prices, the latest exam-payment events).

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;

use super::{
    render, render_with_status, see_other, vendor_with_role, Empty, Form, PageContext, PageError,
    PageUser,
};
use crate::accounts::{Vendor, VendorRole};
use crate::app::AppState;
use crate::billing::service::{self, CheckoutInput, SecretInput, StripeConsole};
use crate::billing::store::StripeEvent;
use crate::billing::BillingError;
use crate::http::auth::user_actor;
use crate::http::problem::ApiError;
use crate::money::{parse_amount, parse_currency, Currency};
use crate::validation::FieldErrors;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(checkout)
        .service(stripe_page)
        .service(set_secret)
        .service(set_exam_checkout);
}

/// The console link for owners.
pub fn vendor_console_links(vendor_slug: &str) -> Vec<(String, &'static str)> {
    vec![(format!("/vendor/{vendor_slug}/stripe"), "Stripe payments")]
}

/// `POST /exams/{vendor}/{exam}/checkout`: a pending order, then off to the vendor's checkout.
#[post("/exams/{vendor}/{exam}/checkout")]
async fn checkout(
    state: web::Data<AppState>,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(_): Form<Empty>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam) = path.into_inner();
    let now = state.clock.now();
    let started = state
        .tx(move |conn| service::start_checkout(conn, &vendor, &exam, &user.id, now))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&started.checkout_url))
}

#[derive(Template)]
#[template(path = "vendor/stripe.html")]
struct StripePage {
    ctx: PageContext,
    vendor: Vendor,
    console: StripeConsole,
    /// The console's events with their receipt times for people.
    events: Vec<(String, StripeEvent)>,
    errors: FieldErrors,
    /// The exam whose checkout form has `errors`.
    failed_exam: String,
}

async fn stripe_view(
    state: &AppState,
    ctx: PageContext,
    vendor: Vendor,
    errors: FieldErrors,
    failed_exam: String,
) -> Result<StripePage, PageError> {
    let url = state
        .links
        .url(&format!("/webhooks/stripe/{}", vendor.slug));
    let target = vendor.clone();
    let console = state
        .db(move |conn| service::console(conn, &target, url))
        .await
        .map_err(ApiError::from)?;
    let events = console
        .events
        .iter()
        .map(|e| (super::human_time(e.received_at), e.clone()))
        .collect();
    Ok(StripePage {
        ctx,
        vendor,
        console,
        events,
        errors,
        failed_exam,
    })
}

#[get("/vendor/{vendor}/stripe")]
async fn stripe_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let ctx = PageContext::new(&req, Some(user));
    Ok(render(
        &stripe_view(&state, ctx, vendor, FieldErrors::new(), String::new()).await?,
    ))
}

/// Field errors of a failed form, or the error as a page.
fn form_errors(e: BillingError) -> Result<FieldErrors, PageError> {
    match e {
        BillingError::Validation(list) => {
            let mut errors = FieldErrors::new();
            for error in list {
                errors.add(error.field, error.message);
            }
            Ok(errors)
        }
        other => Err(ApiError::from(other).into()),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SecretForm {
    webhook_secret: String,
}

#[post("/vendor/{vendor}/stripe")]
async fn set_secret(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
    Form(form): Form<SecretForm>,
) -> Result<HttpResponse, PageError> {
    let vendor = vendor_with_role(&state, &user, path.into_inner(), VendorRole::Owner).await?;
    let (target, actor, master) = (
        vendor.clone(),
        user_actor(&req, &user),
        state.master_key.clone(),
    );
    let now = state.clock.now();
    let input = SecretInput {
        webhook_secret: form.webhook_secret,
    };
    let saved = state
        .tx(move |conn| service::set_secret(conn, &master, &target, &input, &actor, now))
        .await;
    match saved {
        Ok(()) => Ok(see_other(&format!("/vendor/{}/stripe", vendor.slug))),
        Err(e) => {
            let errors = form_errors(e)?;
            let ctx = PageContext::new(&req, Some(user));
            let page = stripe_view(&state, ctx, vendor, errors, String::new()).await?;
            Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckoutForm {
    payment_link: String,
    /// In currency units, e.g. `150.00`.
    price: String,
    currency: String,
}

/// The price typed in the currency typed, in minor units; or the field errors to show.
fn checkout_price(form: &CheckoutForm) -> Result<(i64, Currency), FieldErrors> {
    let mut errors = FieldErrors::new();
    let currency = parse_currency(form.currency.trim().to_ascii_uppercase().as_str());
    let amount = currency
        .clone()
        .and_then(|currency| parse_amount(&form.price, currency));
    match (amount, currency) {
        (Ok(amount), Ok(currency)) if amount > 0 => return Ok((amount, currency)),
        (Ok(_), Ok(_)) => errors.add(
            "price",
            "give a price above 0; a free exam needs no payment link",
        ),
        (Err(e), Ok(_)) => errors.add("price", e.to_string()),
        (_, Err(e)) => errors.add("currency", e.to_string()),
    }
    Err(errors)
}

#[post("/vendor/{vendor}/stripe/exams/{exam}")]
async fn set_exam_checkout(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<(String, String)>,
    Form(form): Form<CheckoutForm>,
) -> Result<HttpResponse, PageError> {
    let (vendor, exam) = path.into_inner();
    let vendor = vendor_with_role(&state, &user, vendor, VendorRole::Owner).await?;
    let (amount_minor, currency) = match checkout_price(&form) {
        Ok(price) => price,
        Err(errors) => {
            let ctx = PageContext::new(&req, Some(user));
            let page = stripe_view(&state, ctx, vendor, errors, exam).await?;
            return Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page));
        }
    };
    let (target, actor, slug) = (vendor.clone(), user_actor(&req, &user), exam.clone());
    let now = state.clock.now();
    let input = CheckoutInput {
        payment_link: form.payment_link,
        amount_minor,
        currency: currency.code().to_string(),
    };
    let saved = state
        .tx(move |conn| service::set_checkout(conn, &target, &slug, &input, &actor, now))
        .await;
    match saved {
        Ok(_) => Ok(see_other(&format!("/vendor/{}/stripe", vendor.slug))),
        Err(e) => {
            let errors = form_errors(e)?;
            let ctx = PageContext::new(&req, Some(user));
            let page = stripe_view(&state, ctx, vendor, errors, exam).await?;
            Ok(render_with_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}
