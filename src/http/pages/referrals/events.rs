//! Vendor console: the billing events received.

use actix_web::{get, web, HttpRequest, HttpResponse};
use askama::Template;

use super::vendor_program_required;
use crate::accounts::Vendor;
use crate::app::AppState;
use crate::db::DbError;
use crate::http::pages::{render, PageContext, PageError, PageUser};
use crate::http::problem::ApiError;
use crate::money::format_amount;
use crate::referrals;

struct EventLine {
    received: String,
    source: String,
    external_event_id: String,
    kind: String,
    invoice: String,
    customer: String,
    amount: String,
    outcome: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "referrals/vendor_events.html")]
struct EventsPage {
    ctx: PageContext,
    vendor: Vendor,
    section: &'static str,
    events: Vec<EventLine>,
    webhook_url: String,
}

#[get("/vendor/{vendor}/program/events")]
pub(super) async fn vendor_events(
    state: web::Data<AppState>,
    req: HttpRequest,
    PageUser(user): PageUser,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let (vendor, program) = vendor_program_required(&state, &user, path.into_inner()).await?;
    let webhook_url = state
        .links
        .url(&format!("/api/v1/programs/{}/webhook", program.id));
    let events = state
        .db(move |conn| {
            referrals::store::recent_events(conn, &program.id, 200).map_err(DbError::from)
        })
        .await
        .map_err(ApiError::from)?;
    let events = events
        .iter()
        .map(|e| {
            let effect: serde_json::Value =
                serde_json::from_str(&e.effect).unwrap_or(serde_json::Value::Null);
            EventLine {
                received: super::super::human_time(e.received_at),
                source: e.source.clone(),
                external_event_id: e.external_event_id.clone(),
                kind: e.kind.to_string(),
                invoice: e.invoice_id.clone(),
                customer: e.customer_external_id.clone(),
                amount: format_amount(e.amount_minor, &e.currency),
                outcome: effect["outcome"].as_str().unwrap_or("").replace('_', " "),
                reason: effect["reason"].as_str().unwrap_or("").to_string(),
            }
        })
        .collect();
    Ok(render(&EventsPage {
        ctx: PageContext::new(&req, Some(user)),
        vendor,
        section: "events",
        events,
        webhook_url,
    }))
}
