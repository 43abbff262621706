//! Every query of the exam tables (`exams`, `exam_versions`, `orders`, `vouchers`, `attempts`,
//! `attempt_answers`, `attempt_items`). Functions take a connection so the service composes them in one
//! transaction. The dialect-specific statements (the answer upsert and the row lock taken before saving an
//! answer) `match` on [`DbConn`] here and nowhere else.

mod attempts;
mod exams;
mod orders;

use diesel::prelude::*;

use crate::db::schema::users;
use crate::db::{self, DbConn};

pub use attempts::{
    answers_of, attempt_counts_of_vendor, attempt_history, attempts_of_user, claim_for_grading,
    find_attempt, flags_of, graded_attempts_of_exam, graded_attempts_of_version, insert_attempt,
    insert_items, item_outcomes_of_version, lock_attempt, open_attempt_of, overdue_attempt_ids,
    save_answer_if_open, set_flag, store_result, AttemptHistory, AttemptRow, AttemptTally,
    GradedScore, ItemOutcome, NewAttempt,
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

/// A person's display name and e-mail address.
pub fn user_contact(conn: &mut DbConn, user_id: &str) -> QueryResult<Option<(String, String)>> {
    db::on_backend!(conn, |c| users::table
        .find(user_id)
        .select((users::display_name, users::email))
        .first(c)
        .optional())
}

pub fn user_id_by_email(conn: &mut DbConn, email: &str) -> QueryResult<Option<String>> {
    users::table
        .filter(users::email.eq(email))
        .select(users::id)
        .first(conn)
        .optional()
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;

    use crate::db::text_enum::UnknownValue;

    /// The unknown value a failed read carries.
    fn unknown_value(error: diesel::result::Error) -> UnknownValue {
        match error {
            diesel::result::Error::DeserializationError(cause) => cause
                .downcast_ref::<UnknownValue>()
                .cloned()
                .unwrap_or_else(|| panic!("not an unknown value: {cause}")),
            other => panic!("not a deserialization error: {other}"),
        }
    }

    #[test]
    fn a_stored_status_outside_the_set_fails_the_read_and_names_it() {
        let (_dir, pool) = crate::db::scratch_sqlite();
        let conn = &mut *pool.get().unwrap();
        // Rows as another version (or a hand-made fix) might have left them; no parents needed.
        conn.batch_execute(
            "PRAGMA foreign_keys = OFF;
             INSERT INTO attempts (id, exam_id, version_id, user_id, status, form, started_at, deadline)
                 VALUES ('a1', 'e', 'v', 'u', 'paused', '{}', '2026-01-01 00:00:00', '2026-01-01 01:00:00');
             INSERT INTO orders (id, exam_id, user_id, amount_minor, currency, provider, status, created_at)
                 VALUES ('o1', 'e', 'u', 100, 'EUR', 'manual', 'Paid', '2026-01-01 00:00:00');",
        )
        .unwrap();
        let error = super::find_attempt(conn, "a1").unwrap_err();
        assert_eq!(error.to_string(), "`paused` is not a known attempt status");
        assert_eq!(
            unknown_value(error),
            UnknownValue {
                kind: "attempt status",
                value: "paused".into()
            }
        );
        // Texts are exact: no case folding.
        let error = super::find_order(conn, "o1").unwrap_err();
        assert_eq!(
            unknown_value(error),
            UnknownValue {
                kind: "order status",
                value: "Paid".into()
            }
        );
    }
}
