//! Every query of the exam tables (`exams`, `exam_versions`, `orders`, `vouchers`, `attempts`,
//! `attempt_answers`, `attempt_items`). Functions take a connection so the service composes them in one
//! transaction. The dialect-specific statements (the answer upsert and the row lock taken before saving an
//! answer) `match` on [`DbConn`] here and nowhere else.

mod attempts;
mod exams;
mod orders;

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::DbConn;

pub use attempts::{
    answers_of, attempt_counts_of_vendor, attempt_history, attempts_of_user, claim_for_grading,
    find_attempt, flags_of, graded_attempts_of_exam, graded_attempts_of_version, insert_attempt,
    insert_items, item_outcomes_of_version, lock_attempt, open_attempt_of, overdue_attempt_ids,
    save_answer_if_open, set_flag, store_result, AttemptHistory, AttemptRow, GradedScore,
    ItemOutcome, NewAttempt,
};
pub use exams::{
    find_exam, find_exam_by_id, find_exam_by_slugs, find_version, find_version_by_number,
    insert_exam, insert_version, latest_version, latest_version_with_graded_attempts,
    list_published_exams, list_vendor_exams, list_versions, set_current_version, set_version_state,
    update_exam_meta, ExamMetaColumns, ExamRow, NewVersion, VersionInfo, VersionRow,
};
pub use orders::{
    consume_order, find_order, find_voucher_by_code, insert_order, insert_voucher, list_vouchers,
    mark_order_paid, order_by_reference, paid_orders_of_vendor, pending_order, redeem_voucher,
    set_price, settle_order, unused_paid_order, NewOrder, OrderRow, PaidOrder, VoucherRow,
};

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
