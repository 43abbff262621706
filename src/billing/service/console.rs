//! The console's Stripe page.

use serde::Serialize;

use super::settings::{stripe_view, StripeView};
use crate::accounts::Vendor;
use crate::billing::store::{self, StripeEvent};
use crate::billing::BillingError;
use crate::db::DbConn;
use crate::exams::store as exam_store;

/// One exam on the console's Stripe page.
#[derive(Debug, Clone, Serialize)]
pub struct ExamCheckoutRow {
    pub slug: String,
    pub title: String,
    pub price: crate::exams::service::PriceView,
    pub payment_link: Option<String>,
}

/// Everything the console's Stripe page shows.
#[derive(Debug, Clone, Serialize)]
pub struct StripeConsole {
    pub settings: StripeView,
    pub exams: Vec<ExamCheckoutRow>,
    pub events: Vec<StripeEvent>,
}

pub fn console(
    conn: &mut DbConn,
    vendor: &Vendor,
    endpoint_url: String,
) -> Result<StripeConsole, BillingError> {
    let settings = stripe_view(conn, vendor, endpoint_url)?;
    let mut exams = Vec::new();
    for exam in exam_store::list_vendor_exams(conn, &vendor.id)? {
        exams.push(ExamCheckoutRow {
            payment_link: store::payment_link(conn, &exam.id)?,
            price: crate::exams::service::PriceView {
                amount_minor: exam.price_minor,
                currency: exam.currency.clone(),
            },
            slug: exam.slug,
            title: exam.title,
        });
    }
    Ok(StripeConsole {
        settings,
        exams,
        events: store::recent_events(conn, &vendor.id, 100)?,
    })
}
