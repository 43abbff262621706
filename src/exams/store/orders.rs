//! Orders (voucher, manual, Stripe) and vouchers.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{exams, orders, users, vouchers};
use crate::db::{new_id, DbConn};
use crate::exams::{OrderProvider, OrderStatus};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub exam_id: String,
    pub user_id: String,
    pub amount_minor: i64,
    pub currency: String,
    #[diesel(deserialize_as = String)]
    pub provider: OrderProvider,
    #[diesel(deserialize_as = String)]
    pub status: OrderStatus,
    pub reference: Option<String>,
    pub attempt_id: Option<String>,
    pub created_at: NaiveDateTime,
    pub paid_at: Option<NaiveDateTime>,
    pub marked_paid_by: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = vouchers)]
pub struct VoucherRow {
    pub id: String,
    pub exam_id: String,
    pub code: String,
    pub batch_id: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub redeemed_by: Option<String>,
    pub redeemed_at: Option<NaiveDateTime>,
    pub order_id: Option<String>,
}

pub struct NewOrder<'a> {
    pub exam_id: &'a str,
    pub user_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub provider: OrderProvider,
    pub status: OrderStatus,
    pub reference: Option<&'a str>,
    pub paid_at: Option<NaiveDateTime>,
    pub marked_paid_by: Option<&'a str>,
}

pub fn insert_order(
    conn: &mut DbConn,
    new: &NewOrder<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&id),
            orders::exam_id.eq(new.exam_id),
            orders::user_id.eq(new.user_id),
            orders::amount_minor.eq(new.amount_minor),
            orders::currency.eq(new.currency),
            orders::provider.eq(new.provider.as_str()),
            orders::status.eq(new.status.as_str()),
            orders::reference.eq(new.reference),
            orders::created_at.eq(now),
            orders::paid_at.eq(new.paid_at),
            orders::marked_paid_by.eq(new.marked_paid_by),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn find_order(conn: &mut DbConn, id: &str) -> QueryResult<Option<OrderRow>> {
    orders::table
        .find(id)
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a pending order paid; 0 when it was not pending any more.
pub fn mark_order_paid(
    conn: &mut DbConn,
    id: &str,
    by: Option<&str>,
    reference: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let target = orders::table
        .find(id)
        .filter(orders::status.eq(OrderStatus::Pending.as_str()));
    match reference {
        Some(reference) => diesel::update(target)
            .set((
                orders::status.eq(OrderStatus::Paid.as_str()),
                orders::paid_at.eq(now),
                orders::marked_paid_by.eq(by),
                orders::reference.eq(reference),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                orders::status.eq(OrderStatus::Paid.as_str()),
                orders::paid_at.eq(now),
                orders::marked_paid_by.eq(by),
            ))
            .execute(conn),
    }
}

/// Moves an order from `from` to `to` (setting `reference`, and `paid_at` when given); 0 when it
/// was not in `from` any more.
pub fn settle_order(
    conn: &mut DbConn,
    id: &str,
    from: OrderStatus,
    to: OrderStatus,
    reference: &str,
    paid_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let target = orders::table
        .find(id)
        .filter(orders::status.eq(from.as_str()));
    match paid_at {
        Some(at) => diesel::update(target)
            .set((
                orders::status.eq(to.as_str()),
                orders::reference.eq(reference),
                orders::paid_at.eq(at),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                orders::status.eq(to.as_str()),
                orders::reference.eq(reference),
            ))
            .execute(conn),
    }
}

/// The newest pending order of this person for this exam from `provider` (reused by a new checkout).
pub fn pending_order(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
    provider: OrderProvider,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::exam_id.eq(exam_id))
        .filter(orders::user_id.eq(user_id))
        .filter(orders::provider.eq(provider.as_str()))
        .filter(orders::status.eq(OrderStatus::Pending.as_str()))
        .order(orders::created_at.desc())
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// The order `provider` knows by `reference` (a Stripe PaymentIntent id).
pub fn order_by_reference(
    conn: &mut DbConn,
    provider: OrderProvider,
    reference: &str,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::provider.eq(provider.as_str()))
        .filter(orders::reference.eq(reference))
        .order(orders::created_at.asc())
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// Sets the exam's price (the amount a checkout must collect).
pub fn set_price(
    conn: &mut DbConn,
    exam_id: &str,
    amount_minor: i64,
    currency: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(exams::table.find(exam_id))
        .set((
            exams::price_minor.eq(amount_minor),
            exams::currency.eq(currency),
            exams::updated_at.eq(now),
        ))
        .execute(conn)
}

/// The oldest paid order of this person for this exam that no attempt used yet: an entitlement.
pub fn unused_paid_order(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::exam_id.eq(exam_id))
        .filter(orders::user_id.eq(user_id))
        .filter(orders::status.eq(OrderStatus::Paid.as_str()))
        .filter(orders::attempt_id.is_null())
        .order(orders::created_at.asc())
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// Binds an unused order to the attempt it pays for; 0 when another attempt took it first.
pub fn consume_order(conn: &mut DbConn, order_id: &str, attempt_id: &str) -> QueryResult<usize> {
    diesel::update(
        orders::table
            .find(order_id)
            .filter(orders::attempt_id.is_null()),
    )
    .set(orders::attempt_id.eq(attempt_id))
    .execute(conn)
}

/// One paid order of a vendor's exam, for revenue reports.
#[derive(Debug, Clone, Queryable)]
pub struct PaidOrder {
    pub exam_slug: String,
    pub exam_title: String,
    pub paid_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub amount_minor: i64,
    pub currency: String,
}

pub fn paid_orders_of_vendor(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<PaidOrder>> {
    orders::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(orders::status.eq(OrderStatus::Paid.as_str()))
        .order((exams::slug.asc(), orders::paid_at.asc()))
        .select((
            exams::slug,
            exams::title,
            orders::paid_at,
            orders::created_at,
            orders::amount_minor,
            orders::currency,
        ))
        .load(conn)
}

// -------------------------------------------------------------------------------------------- vouchers

pub fn insert_voucher(
    conn: &mut DbConn,
    exam_id: &str,
    code: &str,
    batch_id: &str,
    created_by: Option<&str>,
    expires_at: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(vouchers::table)
        .values((
            vouchers::id.eq(new_id()),
            vouchers::exam_id.eq(exam_id),
            vouchers::code.eq(code),
            vouchers::batch_id.eq(batch_id),
            vouchers::created_by.eq(created_by),
            vouchers::created_at.eq(now),
            vouchers::expires_at.eq(expires_at),
        ))
        .execute(conn)
        .map(drop)
}

pub fn find_voucher_by_code(conn: &mut DbConn, code: &str) -> QueryResult<Option<VoucherRow>> {
    vouchers::table
        .filter(vouchers::code.eq(code))
        .select(VoucherRow::as_select())
        .first(conn)
        .optional()
}

/// Redeems a voucher once: 0 when someone redeemed it first.
pub fn redeem_voucher(
    conn: &mut DbConn,
    voucher_id: &str,
    user_id: &str,
    order_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        vouchers::table
            .find(voucher_id)
            .filter(vouchers::redeemed_at.is_null()),
    )
    .set((
        vouchers::redeemed_by.eq(user_id),
        vouchers::redeemed_at.eq(now),
        vouchers::order_id.eq(order_id),
    ))
    .execute(conn)
}

/// An exam's vouchers, oldest batch first, with the redeemer's e-mail address.
pub fn list_vouchers(
    conn: &mut DbConn,
    exam_id: &str,
) -> QueryResult<Vec<(VoucherRow, Option<String>)>> {
    vouchers::table
        .left_join(users::table.on(vouchers::redeemed_by.eq(users::id.nullable())))
        .filter(vouchers::exam_id.eq(exam_id))
        .order((vouchers::created_at.asc(), vouchers::code.asc()))
        .select((VoucherRow::as_select(), users::email.nullable()))
        .load(conn)
}
