//! Manual orders (invoice, bank transfer) and the revenue of paid orders.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::DbConn;
use crate::exams::store;
use crate::exams::{ExamError, OrderProvider, OrderStatus};
use crate::validation::{normalize_email, FieldErrors};

/// `POST /api/v1/orders` (operator): a manual order (invoice, bank transfer) for a person and an exam.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ManualOrderInput {
    /// `vendor/exam`, e.g. `postgresql/postgresql-administration`.
    pub exam: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
    #[serde(default)]
    pub reference: Option<String>,
    /// Record it as paid at once (default: pending until marked paid).
    #[serde(default)]
    pub paid: bool,
}

#[derive(Debug, Clone, Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MarkPaid)]
pub struct MarkPaidInput {
    #[serde(default)]
    pub reference: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Order)]
pub struct OrderView {
    pub id: String,
    pub exam: String,
    pub user_id: String,
    pub email: String,
    pub amount_minor: i64,
    pub currency: String,
    pub provider: OrderProvider,
    pub status: OrderStatus,
    pub reference: Option<String>,
    pub attempt_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub paid_at: Option<String>,
}

fn order_view(conn: &mut DbConn, order: store::OrderRow) -> Result<OrderView, ExamError> {
    let exam = store::find_exam_by_id(conn, &order.exam_id)?.ok_or(ExamError::NotFound("exam"))?;
    let vendor = crate::accounts::store::find_vendor(conn, &exam.vendor_id)?
        .ok_or(ExamError::NotFound("exam"))?;
    let email = store::user_contact(conn, &order.user_id)?
        .map(|(_, email)| email)
        .unwrap_or_default();
    Ok(OrderView {
        id: order.id,
        exam: format!("{}/{}", vendor.slug, exam.slug),
        user_id: order.user_id,
        email,
        amount_minor: order.amount_minor,
        currency: order.currency,
        provider: order.provider,
        status: order.status,
        reference: order.reference,
        attempt_id: order.attempt_id,
        created_at: rfc3339_seconds(order.created_at),
        paid_at: order.paid_at.map(rfc3339_seconds),
    })
}

const MAX_REFERENCE: usize = 200;

pub fn create_manual_order(
    conn: &mut DbConn,
    input: &ManualOrderInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<OrderView, ExamError> {
    let mut errors = FieldErrors::new();
    let exam = match input.exam.trim().split_once('/') {
        Some((vendor, slug)) => match store::find_exam_by_slugs(conn, vendor, slug)? {
            Some((exam, _, _)) => Some(exam),
            None => {
                errors.add(
                    "exam",
                    "no exam has this address; write it as vendor/exam-slug",
                );
                None
            }
        },
        None => {
            errors.add("exam", "write the exam as vendor/exam-slug");
            None
        }
    };
    let user_id = match normalize_email(&input.email) {
        Ok(email) => match store::user_id_by_email(conn, &email)? {
            Some(id) => Some(id),
            None => {
                errors.add(
                    "email",
                    "no account uses this address; the person registers first",
                );
                None
            }
        },
        Err(message) => {
            errors.add("email", message);
            None
        }
    };
    if input.amount_minor < 0 {
        errors.add(
            "amount_minor",
            "give the amount paid in minor units (0 or more)",
        );
    }
    if crate::money::parse_currency(&input.currency).is_err() {
        errors.add(
            "currency",
            "use an ISO 4217 code in upper case, such as USD or EUR",
        );
    }
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reference.is_some_and(|r| r.chars().count() > MAX_REFERENCE) {
        errors.add("reference", format!("at most {MAX_REFERENCE} characters"));
    }
    errors.finish().map_err(ExamError::Validation)?;
    let (Some(exam), Some(user_id)) = (exam, user_id) else {
        return Err(ExamError::Internal(
            "validated order input is incomplete".into(),
        ));
    };
    let id = store::insert_order(
        conn,
        &store::NewOrder {
            exam_id: &exam.id,
            user_id: &user_id,
            amount_minor: input.amount_minor,
            currency: &input.currency,
            provider: OrderProvider::Manual,
            status: if input.paid {
                OrderStatus::Paid
            } else {
                OrderStatus::Pending
            },
            reference,
            paid_at: input.paid.then_some(now),
            marked_paid_by: if input.paid { actor.user_id() } else { None },
        },
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::OrderCreated,
        Some(&exam.vendor_id),
        &id,
        json!({
            "exam": exam.slug,
            "user_id": user_id,
            "amount_minor": input.amount_minor,
            "currency": input.currency,
            "paid": input.paid,
            "reference": reference,
        }),
        now,
    )?;
    let order = store::find_order(conn, &id)?.ok_or(ExamError::NotFound("order"))?;
    order_view(conn, order)
}

/// Marks a manual order paid (idempotent: an order already paid is returned as it is).
pub fn mark_order_paid(
    conn: &mut DbConn,
    order_id: &str,
    input: &MarkPaidInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<OrderView, ExamError> {
    let order = store::find_order(conn, order_id)?.ok_or(ExamError::NotFound("order"))?;
    if order.provider != OrderProvider::Manual {
        return Err(ExamError::Conflict(
            "only manual orders are marked paid; voucher orders are paid when redeemed".into(),
        ));
    }
    let reference = input
        .reference
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty());
    if reference.is_some_and(|r| r.chars().count() > MAX_REFERENCE) {
        return Err(ExamError::Validation(crate::validation::field_error(
            "reference",
            format!("at most {MAX_REFERENCE} characters"),
        )));
    }
    if order.status == OrderStatus::Pending {
        store::mark_order_paid(conn, order_id, actor.user_id(), reference, now)?;
        let vendor_id = store::find_exam_by_id(conn, &order.exam_id)?.map(|e| e.vendor_id);
        audit::record(
            conn,
            actor,
            Action::OrderMarkedPaid,
            vendor_id.as_deref(),
            order_id,
            json!({"reference": reference}),
            now,
        )?;
    }
    let order = store::find_order(conn, order_id)?.ok_or(ExamError::NotFound("order"))?;
    order_view(conn, order)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CurrencyTotal {
    pub currency: String,
    pub amount_minor: i64,
    pub orders: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct MonthRevenue {
    /// `YYYY-MM` (UTC) of the payment.
    pub month: String,
    pub totals: Vec<CurrencyTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ExamRevenue {
    pub exam: String,
    pub title: String,
    pub months: Vec<MonthRevenue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = Revenue)]
pub struct RevenueReport {
    pub vendor: String,
    pub exams: Vec<ExamRevenue>,
}

/// Month → currency → (amount, orders).
type MonthTotals = BTreeMap<String, BTreeMap<String, (i64, u32)>>;

/// Paid orders per exam per month, summed per currency (never converted).
pub fn revenue(
    conn: &mut DbConn,
    vendor: &crate::accounts::Vendor,
) -> Result<RevenueReport, ExamError> {
    let mut grouped: BTreeMap<(String, String), MonthTotals> = BTreeMap::new();
    for order in store::paid_orders_of_vendor(conn, &vendor.id)? {
        let at = order.paid_at.unwrap_or(order.created_at);
        let entry = grouped
            .entry((order.exam_slug, order.exam_title))
            .or_default()
            .entry(at.format("%Y-%m").to_string())
            .or_default()
            .entry(order.currency)
            .or_default();
        entry.0 = entry.0.saturating_add(order.amount_minor);
        entry.1 += 1;
    }
    Ok(RevenueReport {
        vendor: vendor.slug.clone(),
        exams: grouped
            .into_iter()
            .map(|((exam, title), months)| ExamRevenue {
                exam,
                title,
                months: months
                    .into_iter()
                    .map(|(month, totals)| MonthRevenue {
                        month,
                        totals: totals
                            .into_iter()
                            .map(|(currency, (amount_minor, orders))| CurrencyTotal {
                                currency,
                                amount_minor,
                                orders,
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect(),
    })
}
