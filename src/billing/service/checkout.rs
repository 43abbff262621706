//! Paid exams: each exam's payment link and price, and a candidate's start of a checkout.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::accounts::Vendor;
use crate::audit::{self, Action, Actor};
use crate::billing::store;
use crate::billing::BillingError;
use crate::db::DbConn;
use crate::exams::store as exam_store;
use crate::exams::{ExamError, OrderProvider, OrderStatus};
use crate::validation::FieldErrors;

const MAX_LINK: usize = 2000;

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutInput {
    /// The Stripe Payment Link (or any checkout URL taking `client_reference_id`).
    pub payment_link: String,
    pub amount_minor: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = ExamCheckout)]
pub struct CheckoutView {
    pub exam: String,
    pub payment_link: Option<String>,
    pub price: crate::exams::service::PriceView,
}

fn checkout_view(
    conn: &mut DbConn,
    exam: &exam_store::ExamRow,
) -> Result<CheckoutView, BillingError> {
    Ok(CheckoutView {
        exam: exam.slug.clone(),
        payment_link: store::payment_link(conn, &exam.id)?,
        price: crate::exams::service::PriceView {
            amount_minor: exam.price_minor,
            currency: exam.currency.clone(),
        },
    })
}

fn vendor_exam(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
) -> Result<exam_store::ExamRow, BillingError> {
    exam_store::find_exam_by_slugs(conn, &vendor.slug, exam_slug)?
        .map(|(exam, _, _)| exam)
        .ok_or_else(|| BillingError::NotFound(format!("exam {exam_slug} not found")))
}

pub fn checkout_settings(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
) -> Result<CheckoutView, BillingError> {
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    checkout_view(conn, &exam)
}

/// Sets an exam's payment link and price (the amount every Stripe payment must match).
pub fn set_checkout(
    conn: &mut DbConn,
    vendor: &Vendor,
    exam_slug: &str,
    input: &CheckoutInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CheckoutView, BillingError> {
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    let mut errors = FieldErrors::new();
    let link = input.payment_link.trim();
    let parsed = url::Url::parse(link).ok();
    let https = parsed
        .as_ref()
        .is_some_and(|u| u.scheme() == "https" && u.host_str().is_some() && u.query().is_none());
    if !https || link.len() > MAX_LINK {
        errors.add(
            "payment_link",
            "give the https address of the Stripe Payment Link (https://buy.stripe.com/…), without a query",
        );
    }
    if input.amount_minor <= 0 {
        errors.add(
            "amount_minor",
            "give the price in minor units (e.g. cents), more than 0; a free exam needs no payment link",
        );
    }
    let currency = crate::money::parse_currency(input.currency.trim());
    if currency.is_err() {
        errors.add(
            "currency",
            "use an ISO 4217 code in upper case, such as USD or EUR",
        );
    }
    errors.finish().map_err(BillingError::Validation)?;
    let currency = currency
        .map(|c| c.code().to_string())
        .map_err(|e| BillingError::Internal(e.to_string()))?;
    store::save_payment_link(conn, &exam.id, link, now)?;
    exam_store::set_price(conn, &exam.id, input.amount_minor, &currency, now)?;
    audit::record(
        conn,
        actor,
        Action::ExamSettingsChanged,
        Some(&vendor.id),
        &exam.id,
        json!({"exam": exam.slug, "payment_link": link, "amount_minor": input.amount_minor, "currency": currency}),
        now,
    )?;
    let exam = vendor_exam(conn, vendor, exam_slug)?;
    checkout_view(conn, &exam)
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CheckoutStart {
    /// Credo's order reference, sent to Stripe as `client_reference_id`.
    pub order: String,
    pub amount_minor: i64,
    pub currency: String,
    /// Where to send the candidate.
    pub checkout_url: String,
}

/// A candidate starts paying: a pending Stripe order for the exam's price (the last pending one is
/// reused) and the vendor's payment link with `client_reference_id` and `prefilled_email`.
pub fn start_checkout(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
    user_id: &str,
    now: NaiveDateTime,
) -> Result<CheckoutStart, BillingError> {
    let (exam, _, _) = exam_store::find_exam_by_slugs(conn, vendor_slug, exam_slug)?
        .ok_or(ExamError::NotFound("exam"))?;
    if exam.price_minor == 0 {
        return Err(BillingError::Conflict(
            "this exam is free; start it without paying".into(),
        ));
    }
    let link = store::payment_link(conn, &exam.id)?.ok_or_else(|| {
        BillingError::Conflict(
            "the vendor sells this exam with vouchers only; ask them for a voucher".into(),
        )
    })?;
    if exam_store::unused_paid_order(conn, &exam.id, user_id)?.is_some() {
        return Err(BillingError::Conflict(
            "you have paid for this exam already; start the exam".into(),
        ));
    }
    let email = exam_store::user_contact(conn, user_id)?
        .map(|(_, email)| email)
        .unwrap_or_default();
    let order = match exam_store::pending_order(conn, &exam.id, user_id, OrderProvider::Stripe)?
        .filter(|o| o.amount_minor == exam.price_minor && o.currency == exam.currency)
    {
        Some(order) => order.id,
        None => exam_store::insert_order(
            conn,
            &exam_store::NewOrder {
                exam_id: &exam.id,
                user_id,
                amount_minor: exam.price_minor,
                currency: &exam.currency,
                provider: OrderProvider::Stripe,
                status: OrderStatus::Pending,
                reference: None,
                paid_at: None,
                marked_paid_by: None,
            },
            now,
        )?,
    };
    let mut url = url::Url::parse(&link).map_err(|e| BillingError::Internal(e.to_string()))?;
    url.query_pairs_mut()
        .append_pair("client_reference_id", &order)
        .append_pair("prefilled_email", &email);
    Ok(CheckoutStart {
        order,
        amount_minor: exam.price_minor,
        currency: exam.currency,
        checkout_url: url.into(),
    })
}

/// Whether the exam `vendor/exam` can be paid online (the exam page's pay button).
pub fn sells_online(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> Result<bool, BillingError> {
    Ok(
        match exam_store::find_exam_by_slugs(conn, vendor_slug, exam_slug)? {
            Some((exam, _, _)) => {
                exam.price_minor > 0 && store::payment_link(conn, &exam.id)?.is_some()
            }
            None => false,
        },
    )
}
