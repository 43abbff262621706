//! Every query of the exam tables (`exams`, `exam_versions`, `orders`, `vouchers`, `attempts`,
//! `attempt_answers`, `attempt_items`). Functions take a connection so the service composes them in one
//! transaction. The dialect-specific statements (the answer upsert and the row lock taken before saving an
//! answer) `match` on [`DbConn`] here and nowhere else.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    attempt_answers, attempt_flags, attempt_items, attempts, exam_versions, exams, orders, users,
    vendors, vouchers,
};
use crate::db::{new_id, DbConn};

pub const STATUS_OPEN: &str = "open";
pub const STATUS_GRADED: &str = "graded";
pub const ORDER_PENDING: &str = "pending";
pub const ORDER_PAID: &str = "paid";
pub const PROVIDER_VOUCHER: &str = "voucher";
pub const PROVIDER_MANUAL: &str = "manual";
/// Version states: a draft is seen only by the vendor's staff (who may preview it); the exam's one
/// published version is what candidates take; a retired version is kept for its attempts.
pub const VERSION_DRAFT: &str = "draft";
pub const VERSION_PUBLISHED: &str = "published";
pub const VERSION_RETIRED: &str = "retired";
/// Paid through the vendor's Stripe checkout (`billing`); `reference` is the PaymentIntent id.
pub const PROVIDER_STRIPE: &str = "stripe";
/// Paid, but not as priced (amount or currency differ): no entitlement until someone reviews it.
pub const ORDER_HELD: &str = "held";
/// Refunded in full: no entitlement.
pub const ORDER_REFUNDED: &str = "refunded";

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exams)]
pub struct ExamRow {
    pub id: String,
    pub vendor_id: String,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub current_version_id: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    pub validity_months: i32,
    pub allow_review: bool,
    pub renewal_exam_slug: Option<String>,
    pub retake_cooldown_days: i32,
    pub retake_max_per_year: i32,
    pub retake_wait_after_pass_days: i32,
    pub questions_per_form: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The metadata columns of `exams`, mirrored from the latest version's bank.
#[derive(Debug, Clone, AsChangeset, Insertable)]
#[diesel(table_name = exams, treat_none_as_null = true)]
pub struct ExamMetaColumns {
    pub title: String,
    pub description: String,
    pub current_version_id: Option<String>,
    pub price_minor: i64,
    pub currency: String,
    pub duration_minutes: i32,
    pub pass_percent: i32,
    pub validity_months: i32,
    pub allow_review: bool,
    pub renewal_exam_slug: Option<String>,
    pub retake_cooldown_days: i32,
    pub retake_max_per_year: i32,
    pub retake_wait_after_pass_days: i32,
    pub questions_per_form: i32,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exam_versions)]
pub struct VersionRow {
    pub id: String,
    pub exam_id: String,
    pub number: i32,
    pub label: String,
    pub content_hash: String,
    pub bank: String,
    pub source_format: String,
    pub source_name: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub state: String,
}

/// A version without its (large) bank JSON, for listings.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = exam_versions)]
pub struct VersionInfo {
    pub id: String,
    pub number: i32,
    pub label: String,
    pub content_hash: String,
    pub source_format: String,
    pub source_name: String,
    pub created_at: NaiveDateTime,
    pub state: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub exam_id: String,
    pub user_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub provider: String,
    pub status: String,
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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = attempts)]
pub struct AttemptRow {
    pub id: String,
    pub exam_id: String,
    pub version_id: String,
    pub user_id: String,
    pub order_id: Option<String>,
    pub status: String,
    pub form: String,
    pub started_at: NaiveDateTime,
    pub deadline: NaiveDateTime,
    pub submitted_at: Option<NaiveDateTime>,
    pub graded_at: Option<NaiveDateTime>,
    pub graded_by: Option<String>,
    pub score_bp: Option<i32>,
    pub passed: Option<bool>,
    pub result: Option<String>,
    pub preview: bool,
}

// ---------------------------------------------------------------------------------------------- exams

pub fn find_exam(conn: &mut DbConn, vendor_id: &str, slug: &str) -> QueryResult<Option<ExamRow>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(exams::slug.eq(slug))
        .select(ExamRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_exam_by_id(conn: &mut DbConn, id: &str) -> QueryResult<Option<ExamRow>> {
    exams::table
        .find(id)
        .select(ExamRow::as_select())
        .first(conn)
        .optional()
}

/// An exam by its public address `vendor/slug`, with the vendor's slug and name.
pub fn find_exam_by_slugs(
    conn: &mut DbConn,
    vendor_slug: &str,
    exam_slug: &str,
) -> QueryResult<Option<(ExamRow, String, String)>> {
    exams::table
        .inner_join(vendors::table)
        .filter(vendors::slug.eq(vendor_slug))
        .filter(exams::slug.eq(exam_slug))
        .select((ExamRow::as_select(), vendors::slug, vendors::name))
        .first(conn)
        .optional()
}

/// Every exam with a published version, with its vendor's slug and name, by vendor then title.
pub fn list_published_exams(conn: &mut DbConn) -> QueryResult<Vec<(ExamRow, String, String)>> {
    exams::table
        .inner_join(vendors::table)
        .filter(exams::current_version_id.is_not_null())
        .order((vendors::slug.asc(), exams::title.asc(), exams::slug.asc()))
        .select((ExamRow::as_select(), vendors::slug, vendors::name))
        .load(conn)
}

pub fn list_vendor_exams(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<ExamRow>> {
    exams::table
        .filter(exams::vendor_id.eq(vendor_id))
        .order((exams::title.asc(), exams::slug.asc()))
        .select(ExamRow::as_select())
        .load(conn)
}

pub fn insert_exam(
    conn: &mut DbConn,
    vendor_id: &str,
    slug: &str,
    meta: &ExamMetaColumns,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(exams::table)
        .values((
            exams::id.eq(&id),
            exams::vendor_id.eq(vendor_id),
            exams::slug.eq(slug),
            exams::created_at.eq(now),
            meta,
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn update_exam_meta(
    conn: &mut DbConn,
    exam_id: &str,
    meta: &ExamMetaColumns,
) -> QueryResult<()> {
    diesel::update(exams::table.find(exam_id))
        .set(meta)
        .execute(conn)
        .map(drop)
}

// -------------------------------------------------------------------------------------------- versions

pub fn latest_version(conn: &mut DbConn, exam_id: &str) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .order(exam_versions::number.desc())
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_version(conn: &mut DbConn, id: &str) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .find(id)
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

pub fn find_version_by_number(
    conn: &mut DbConn,
    exam_id: &str,
    number: i32,
) -> QueryResult<Option<VersionRow>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .filter(exam_versions::number.eq(number))
        .select(VersionRow::as_select())
        .first(conn)
        .optional()
}

/// Versions of an exam, newest first.
pub fn list_versions(conn: &mut DbConn, exam_id: &str) -> QueryResult<Vec<VersionInfo>> {
    exam_versions::table
        .filter(exam_versions::exam_id.eq(exam_id))
        .order(exam_versions::number.desc())
        .select(VersionInfo::as_select())
        .load(conn)
}

pub struct NewVersion<'a> {
    pub exam_id: &'a str,
    pub number: i32,
    pub label: &'a str,
    pub content_hash: &'a str,
    pub bank_json: &'a str,
    pub source_format: &'a str,
    pub source_name: &'a str,
    pub created_by: Option<&'a str>,
}

/// Inserts a version. Versions are never updated afterwards: they are immutable once written.
pub fn insert_version(
    conn: &mut DbConn,
    new: &NewVersion<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(exam_versions::table)
        .values((
            exam_versions::id.eq(&id),
            exam_versions::exam_id.eq(new.exam_id),
            exam_versions::number.eq(new.number),
            exam_versions::label.eq(new.label),
            exam_versions::content_hash.eq(new.content_hash),
            exam_versions::bank.eq(new.bank_json),
            exam_versions::source_format.eq(new.source_format),
            exam_versions::source_name.eq(new.source_name),
            exam_versions::created_by.eq(new.created_by),
            exam_versions::created_at.eq(now),
            exam_versions::state.eq(VERSION_DRAFT),
        ))
        .execute(conn)?;
    Ok(id)
}

/// Sets a version's state (see `VERSION_*`); the bank and everything else stay as imported.
pub fn set_version_state(conn: &mut DbConn, version_id: &str, state: &str) -> QueryResult<()> {
    diesel::update(exam_versions::table.find(version_id))
        .set(exam_versions::state.eq(state))
        .execute(conn)
        .map(drop)
}

/// Points the exam at its published version (`None`: no version is published; the exam leaves
/// the catalog).
pub fn set_current_version(
    conn: &mut DbConn,
    exam_id: &str,
    version_id: Option<&str>,
) -> QueryResult<()> {
    diesel::update(exams::table.find(exam_id))
        .set(exams::current_version_id.eq(version_id))
        .execute(conn)
        .map(drop)
}

/// The highest version number of the exam that has graded attempts.
pub fn latest_version_with_graded_attempts(
    conn: &mut DbConn,
    exam_id: &str,
) -> QueryResult<Option<i32>> {
    exam_versions::table
        .inner_join(attempts::table.on(attempts::version_id.eq(exam_versions::id)))
        .filter(exam_versions::exam_id.eq(exam_id))
        .filter(attempts::status.eq(STATUS_GRADED))
        .filter(attempts::preview.eq(false))
        .select(diesel::dsl::max(exam_versions::number))
        .first(conn)
}

// ---------------------------------------------------------------------------------------------- orders

pub struct NewOrder<'a> {
    pub exam_id: &'a str,
    pub user_id: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
    pub provider: &'a str,
    pub status: &'a str,
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
            orders::provider.eq(new.provider),
            orders::status.eq(new.status),
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
        .filter(orders::status.eq(ORDER_PENDING));
    match reference {
        Some(reference) => diesel::update(target)
            .set((
                orders::status.eq(ORDER_PAID),
                orders::paid_at.eq(now),
                orders::marked_paid_by.eq(by),
                orders::reference.eq(reference),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((
                orders::status.eq(ORDER_PAID),
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
    from: &str,
    to: &str,
    reference: &str,
    paid_at: Option<NaiveDateTime>,
) -> QueryResult<usize> {
    let target = orders::table.find(id).filter(orders::status.eq(from));
    match paid_at {
        Some(at) => diesel::update(target)
            .set((
                orders::status.eq(to),
                orders::reference.eq(reference),
                orders::paid_at.eq(at),
            ))
            .execute(conn),
        None => diesel::update(target)
            .set((orders::status.eq(to), orders::reference.eq(reference)))
            .execute(conn),
    }
}

/// The newest pending order of this person for this exam from `provider` (reused by a new checkout).
pub fn pending_order(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
    provider: &str,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::exam_id.eq(exam_id))
        .filter(orders::user_id.eq(user_id))
        .filter(orders::provider.eq(provider))
        .filter(orders::status.eq(ORDER_PENDING))
        .order(orders::created_at.desc())
        .select(OrderRow::as_select())
        .first(conn)
        .optional()
}

/// The order `provider` knows by `reference` (a Stripe PaymentIntent id).
pub fn order_by_reference(
    conn: &mut DbConn,
    provider: &str,
    reference: &str,
) -> QueryResult<Option<OrderRow>> {
    orders::table
        .filter(orders::provider.eq(provider))
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
        .filter(orders::status.eq(ORDER_PAID))
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
    pub provider: String,
}

pub fn paid_orders_of_vendor(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<PaidOrder>> {
    orders::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(orders::status.eq(ORDER_PAID))
        .order((exams::slug.asc(), orders::paid_at.asc()))
        .select((
            exams::slug,
            exams::title,
            orders::paid_at,
            orders::created_at,
            orders::amount_minor,
            orders::currency,
            orders::provider,
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

// -------------------------------------------------------------------------------------------- attempts

pub struct NewAttempt<'a> {
    pub exam_id: &'a str,
    pub version_id: &'a str,
    pub user_id: &'a str,
    pub order_id: Option<&'a str>,
    pub form_json: &'a str,
    pub deadline: NaiveDateTime,
    pub preview: bool,
}

/// Inserts an open attempt. The partial unique index `attempts_one_open` refuses a second open attempt of
/// the same person at the same exam, also under concurrent starts.
pub fn insert_attempt(
    conn: &mut DbConn,
    new: &NewAttempt<'_>,
    now: NaiveDateTime,
) -> QueryResult<String> {
    let id = new_id();
    diesel::insert_into(attempts::table)
        .values((
            attempts::id.eq(&id),
            attempts::exam_id.eq(new.exam_id),
            attempts::version_id.eq(new.version_id),
            attempts::user_id.eq(new.user_id),
            attempts::order_id.eq(new.order_id),
            attempts::status.eq(STATUS_OPEN),
            attempts::form.eq(new.form_json),
            attempts::started_at.eq(now),
            attempts::deadline.eq(new.deadline),
            attempts::preview.eq(new.preview),
        ))
        .execute(conn)?;
    Ok(id)
}

pub fn find_attempt(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttemptRow>> {
    attempts::table
        .find(id)
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()
}

/// Reads an attempt and, on PostgreSQL, locks its row until the transaction ends, so a concurrent grading
/// (which updates the row) waits for an answer being saved, and a save after grading sees it graded. On
/// SQLite the write transaction (`BEGIN IMMEDIATE`) already excludes other writers.
pub fn lock_attempt(conn: &mut DbConn, id: &str) -> QueryResult<Option<AttemptRow>> {
    match conn {
        DbConn::Postgres(pg) => attempts::table
            .find(id)
            .select(AttemptRow::as_select())
            .for_update()
            .first(pg)
            .optional(),
        DbConn::Sqlite(sqlite) => attempts::table
            .find(id)
            .select(AttemptRow::as_select())
            .first(sqlite)
            .optional(),
    }
}

pub fn open_attempt_of(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
) -> QueryResult<Option<AttemptRow>> {
    attempts::table
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::status.eq(STATUS_OPEN))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()
}

/// What the retake policy needs of one earlier attempt.
#[derive(Debug, Clone, Queryable)]
pub struct AttemptHistory {
    pub started_at: NaiveDateTime,
    pub graded_at: Option<NaiveDateTime>,
    pub passed: Option<bool>,
}

pub fn attempt_history(
    conn: &mut DbConn,
    exam_id: &str,
    user_id: &str,
) -> QueryResult<Vec<AttemptHistory>> {
    attempts::table
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::preview.eq(false))
        .order(attempts::started_at.asc())
        .select((attempts::started_at, attempts::graded_at, attempts::passed))
        .load(conn)
}

/// The grading claim: flips an open attempt to graded. 1 for the one caller that wins; 0 for everyone
/// else (another submit, the deadline job on any node), who then read the stored result.
pub fn claim_for_grading(
    conn: &mut DbConn,
    id: &str,
    graded_by: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        attempts::table
            .find(id)
            .filter(attempts::status.eq(STATUS_OPEN)),
    )
    .set((
        attempts::status.eq(STATUS_GRADED),
        attempts::submitted_at.eq(now),
        attempts::graded_at.eq(now),
        attempts::graded_by.eq(graded_by),
    ))
    .execute(conn)
}

pub fn store_result(
    conn: &mut DbConn,
    id: &str,
    score_bp: i32,
    passed: bool,
    result_json: &str,
) -> QueryResult<()> {
    diesel::update(attempts::table.find(id))
        .set((
            attempts::score_bp.eq(score_bp),
            attempts::passed.eq(passed),
            attempts::result.eq(result_json),
        ))
        .execute(conn)
        .map(drop)
}

/// Open attempts whose deadline has passed, oldest deadline first.
pub fn overdue_attempt_ids(
    conn: &mut DbConn,
    now: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<String>> {
    attempts::table
        .filter(attempts::status.eq(STATUS_OPEN))
        .filter(attempts::deadline.lt(now))
        .order(attempts::deadline.asc())
        .limit(limit)
        .select(attempts::id)
        .load(conn)
}

/// A person's attempts, newest first, with exam slug, title and vendor slug.
pub fn attempts_of_user(
    conn: &mut DbConn,
    user_id: &str,
) -> QueryResult<Vec<(AttemptRow, String, String, String)>> {
    attempts::table
        .inner_join(exams::table.inner_join(vendors::table))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::preview.eq(false))
        .order(attempts::started_at.desc())
        .select((
            AttemptRow::as_select(),
            exams::slug,
            exams::title,
            vendors::slug,
        ))
        .load(conn)
}

/// Graded attempts of an exam, newest first, with the candidate's name and e-mail address.
pub fn graded_attempts_of_exam(
    conn: &mut DbConn,
    exam_id: &str,
    limit: i64,
) -> QueryResult<Vec<(AttemptRow, String, String)>> {
    attempts::table
        .inner_join(users::table)
        .filter(attempts::exam_id.eq(exam_id))
        .filter(attempts::status.eq(STATUS_GRADED))
        .filter(attempts::preview.eq(false))
        .order(attempts::graded_at.desc())
        .limit(limit)
        .select((AttemptRow::as_select(), users::display_name, users::email))
        .load(conn)
}

/// (exam id, graded attempts, passed attempts, open attempts) for each exam of a vendor that has attempts.
pub fn attempt_counts_of_vendor(
    conn: &mut DbConn,
    vendor_id: &str,
) -> QueryResult<Vec<(String, String, Option<bool>)>> {
    attempts::table
        .inner_join(exams::table)
        .filter(exams::vendor_id.eq(vendor_id))
        .filter(attempts::preview.eq(false))
        .select((attempts::exam_id, attempts::status, attempts::passed))
        .load(conn)
}

// --------------------------------------------------------------------------------------------- answers

/// Saves (or replaces) one answer: `INSERT … ON CONFLICT (attempt_id, question_id) DO UPDATE`, written per
/// dialect because diesel's upsert is backend-specific.
/// Saves one answer in one statement, only while the attempt is this person's, open and before
/// its deadline: an upsert fed by a select of the attempt row. Whether it saved (`false`: ask
/// [`find_attempt`] why not). PostgreSQL takes a share lock on the attempt, so a save waits for
/// a grading that holds it and then sees the attempt closed, as a save inside a transaction
/// that locked the attempt would; SQLite has a single writer anyway.
pub fn save_answer_if_open(
    conn: &mut DbConn,
    user_id: &str,
    attempt_id: &str,
    question_id: &str,
    choices_json: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    use diesel::sql_types::{Text, Timestamp};
    use diesel::upsert::excluded;
    let open = attempts::table
        .filter(attempts::id.eq(attempt_id))
        .filter(attempts::user_id.eq(user_id))
        .filter(attempts::status.eq(STATUS_OPEN))
        .filter(attempts::deadline.ge(now))
        .select((
            attempts::id,
            question_id.into_sql::<Text>(),
            choices_json.into_sql::<Text>(),
            now.into_sql::<Timestamp>(),
        ));
    let columns = (
        attempt_answers::attempt_id,
        attempt_answers::question_id,
        attempt_answers::choices,
        attempt_answers::saved_at,
    );
    let update = (
        attempt_answers::choices.eq(excluded(attempt_answers::choices)),
        attempt_answers::saved_at.eq(excluded(attempt_answers::saved_at)),
    );
    let conflict = (attempt_answers::attempt_id, attempt_answers::question_id);
    let saved = match conn {
        DbConn::Postgres(pg) => diesel::insert_into(attempt_answers::table)
            .values(open.for_share())
            .into_columns(columns)
            .on_conflict(conflict)
            .do_update()
            .set(update)
            .execute(pg)?,
        DbConn::Sqlite(sqlite) => diesel::insert_into(attempt_answers::table)
            .values(open)
            .into_columns(columns)
            .on_conflict(conflict)
            .do_update()
            .set(update)
            .execute(sqlite)?,
    };
    Ok(saved == 1)
}

/// Saved answers of an attempt: (question id, choices as a JSON array).
pub fn answers_of(conn: &mut DbConn, attempt_id: &str) -> QueryResult<Vec<(String, String)>> {
    attempt_answers::table
        .filter(attempt_answers::attempt_id.eq(attempt_id))
        .select((attempt_answers::question_id, attempt_answers::choices))
        .load(conn)
}

/// Flags (or unflags) a question of an attempt for review; flagging twice keeps one row.
pub fn set_flag(
    conn: &mut DbConn,
    attempt_id: &str,
    question_id: &str,
    flagged: bool,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let row = attempt_flags::table
        .filter(attempt_flags::attempt_id.eq(attempt_id))
        .filter(attempt_flags::question_id.eq(question_id));
    if !flagged {
        return diesel::delete(row).execute(conn).map(drop);
    }
    let insert = diesel::insert_into(attempt_flags::table)
        .values((
            attempt_flags::attempt_id.eq(attempt_id),
            attempt_flags::question_id.eq(question_id),
            attempt_flags::flagged_at.eq(now),
        ))
        .on_conflict((attempt_flags::attempt_id, attempt_flags::question_id))
        .do_nothing();
    match conn {
        DbConn::Postgres(pg) => insert.execute(pg).map(drop),
        DbConn::Sqlite(sqlite) => insert.execute(sqlite).map(drop),
    }
}

/// The bank ids of the questions flagged for review in an attempt.
pub fn flags_of(conn: &mut DbConn, attempt_id: &str) -> QueryResult<Vec<String>> {
    attempt_flags::table
        .filter(attempt_flags::attempt_id.eq(attempt_id))
        .select(attempt_flags::question_id)
        .load(conn)
}

// ----------------------------------------------------------------------------------------------- items

pub struct ItemOutcome<'a> {
    pub question_id: &'a str,
    pub position: i32,
    pub domain_id: &'a str,
    pub points_milli: i32,
    pub correct: bool,
}

pub fn insert_items(
    conn: &mut DbConn,
    attempt_id: &str,
    items: &[ItemOutcome<'_>],
) -> QueryResult<()> {
    for item in items {
        diesel::insert_into(attempt_items::table)
            .values((
                attempt_items::attempt_id.eq(attempt_id),
                attempt_items::question_id.eq(item.question_id),
                attempt_items::position.eq(item.position),
                attempt_items::domain_id.eq(item.domain_id),
                attempt_items::points_milli.eq(item.points_milli),
                attempt_items::correct.eq(item.correct),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// (attempt id, score in basis points, passed) of a graded attempt.
pub type GradedScore = (String, Option<i32>, Option<bool>);

/// Graded attempts of a version, oldest first.
pub fn graded_attempts_of_version(
    conn: &mut DbConn,
    version_id: &str,
) -> QueryResult<Vec<GradedScore>> {
    attempts::table
        .filter(attempts::version_id.eq(version_id))
        .filter(attempts::status.eq(STATUS_GRADED))
        .filter(attempts::preview.eq(false))
        .order(attempts::graded_at.asc())
        .select((attempts::id, attempts::score_bp, attempts::passed))
        .load(conn)
}

/// Item outcomes of every graded attempt of a version: (attempt id, question id, correct).
pub fn item_outcomes_of_version(
    conn: &mut DbConn,
    version_id: &str,
) -> QueryResult<Vec<(String, String, bool)>> {
    attempt_items::table
        .inner_join(attempts::table)
        .filter(attempts::version_id.eq(version_id))
        .filter(attempts::status.eq(STATUS_GRADED))
        .filter(attempts::preview.eq(false))
        .select((
            attempt_items::attempt_id,
            attempt_items::question_id,
            attempt_items::correct,
        ))
        .load(conn)
}

/// A person's display name and e-mail address.
pub fn user_contact(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<(String, String)>> {
    users::table
        .find(user_id)
        .select((users::display_name, users::email))
        .first(conn)
        .optional()
}

pub fn user_id_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<String>> {
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(conn)
        .optional()
}
