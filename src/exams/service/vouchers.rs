//! Vouchers: codes, batches, redeeming one into a paid order, and the vendor's CSV export.

use chrono::{NaiveDate, NaiveDateTime};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::exams::store::{self, ExamRow};
use crate::exams::{ExamError, OrderProvider, OrderStatus};
use crate::spreadsheet::csv_cell;
use crate::validation::FieldErrors;

/// Voucher codes: 12 characters from an alphabet without look-alikes (no 0/O, 1/I/L), grouped 4-4-4, e.g.
/// `K7QM-2XVA-P9RT`; about 59 bits of randomness each.
pub(super) const VOUCHER_ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
const VOUCHER_LENGTH: usize = 12;

pub fn new_voucher_code(rng: &mut impl Rng) -> String {
    let mut code = String::with_capacity(VOUCHER_LENGTH + 2);
    for i in 0..VOUCHER_LENGTH {
        if i > 0 && i % 4 == 0 {
            code.push('-');
        }
        code.push(char::from(
            VOUCHER_ALPHABET[rng.gen_range(0..VOUCHER_ALPHABET.len())],
        ));
    }
    code
}

/// A typed code in canonical form: upper case, spaces and dashes ignored, regrouped 4-4-4.
pub fn normalize_voucher_code(input: &str) -> String {
    let compact: String = input
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if compact.len() != VOUCHER_LENGTH {
        return compact;
    }
    compact
        .as_bytes()
        .chunks(4)
        .map(|chunk| String::from_utf8_lossy(chunk).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// Redeems a voucher for the exam (single use, bound to its exam, not expired) and records its paid order.
pub(super) fn redeem_voucher(
    conn: &mut DbConn,
    exam: &ExamRow,
    user_id: &str,
    code: &str,
    now: NaiveDateTime,
) -> Result<String, ExamError> {
    let code = normalize_voucher_code(code);
    let rejected = |why: &str| ExamError::VoucherRejected(why.to_owned());
    let voucher = store::find_voucher_by_code(conn, &code)?
        .ok_or_else(|| rejected("no voucher has this code; check it for typos"))?;
    if voucher.exam_id != exam.id {
        return Err(rejected(
            "this voucher is for another exam; use it on the exam it was issued for",
        ));
    }
    if voucher.redeemed_at.is_some() {
        return Err(rejected("this voucher has already been used"));
    }
    if voucher.expires_at.is_some_and(|expires| expires <= now) {
        return Err(rejected("this voucher has expired"));
    }
    let order_id = store::insert_order(
        conn,
        &store::NewOrder {
            exam_id: &exam.id,
            user_id,
            amount_minor: exam.price_minor,
            currency: &exam.currency,
            provider: OrderProvider::Voucher,
            status: OrderStatus::Paid,
            reference: Some(&voucher.code),
            paid_at: Some(now),
            marked_paid_by: None,
        },
        now,
    )?;
    if store::redeem_voucher(conn, &voucher.id, user_id, &order_id, now)? != 1 {
        return Err(rejected("this voucher has already been used"));
    }
    Ok(order_id)
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = VoucherBatchInput)]
pub struct VoucherInput {
    pub count: i64,
    /// `YYYY-MM-DDTHH:MM:SSZ` (any RFC 3339 time) or `YYYY-MM-DD` (valid through that day, UTC).
    #[serde(default)]
    pub expires_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoucherBatch {
    pub batch_id: String,
    pub exam: String,
    pub codes: Vec<String>,
    #[schema(format = DateTime)]
    pub expires_at: Option<String>,
}

pub const MAX_VOUCHERS_PER_BATCH: i64 = 1000;

/// Parses an expiry: an RFC 3339 time, or a date meaning the end of that day (UTC).
pub fn parse_expiry(text: &str) -> Option<NaiveDateTime> {
    let text = text.trim();
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Some(time.naive_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(23, 59, 59))
}

/// Creates a batch of single-use vouchers for an exam.
pub fn create_vouchers(
    conn: &mut DbConn,
    exam: &ExamRow,
    input: &VoucherInput,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<VoucherBatch, ExamError> {
    let mut errors = FieldErrors::new();
    if !(1..=MAX_VOUCHERS_PER_BATCH).contains(&input.count) {
        errors.add(
            "count",
            format!("give a number of vouchers from 1 to {MAX_VOUCHERS_PER_BATCH}"),
        );
    }
    let expires_at = match input.expires_at.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(text) => match parse_expiry(text) {
            Some(at) if at > now => Some(at),
            Some(_) => {
                errors.add("expires_at", "the expiry must be in the future");
                None
            }
            None => {
                errors.add(
                    "expires_at",
                    "write the expiry as 2027-01-31 or 2027-01-31T23:59:59Z",
                );
                None
            }
        },
    };
    errors.finish().map_err(ExamError::Validation)?;
    let batch_id = db::new_id();
    let mut rng = rand::rngs::OsRng;
    let mut codes: Vec<String> = Vec::new();
    let count = usize::try_from(input.count).unwrap_or(0);
    while codes.len() < count {
        let code = new_voucher_code(&mut rng);
        if codes.contains(&code) {
            continue;
        }
        store::insert_voucher(
            conn,
            &exam.id,
            &code,
            &batch_id,
            actor.user_id(),
            expires_at,
            now,
        )
        .map_err(|e| {
            if db::is_unique_violation(&e) {
                ExamError::Conflict("a voucher code collided; create the batch again".into())
            } else {
                e.into()
            }
        })?;
        codes.push(code);
    }
    // The codes are bearer entitlements: the trail names the batch, never the codes.
    audit::record(
        conn,
        actor,
        Action::VouchersIssued,
        Some(&exam.vendor_id),
        &batch_id,
        json!({
            "exam": exam.slug,
            "count": codes.len(),
            "expires_at": expires_at.map(rfc3339_seconds),
        }),
        now,
    )?;
    Ok(VoucherBatch {
        batch_id,
        exam: exam.slug.clone(),
        codes,
        expires_at: expires_at.map(rfc3339_seconds),
    })
}

/// One batch of vouchers on the vendor page.
#[derive(Debug, Clone)]
pub struct VoucherBatchSummary {
    pub batch_id: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub count: usize,
    pub redeemed: usize,
}

pub fn voucher_batches(
    conn: &mut DbConn,
    exam: &ExamRow,
) -> Result<Vec<VoucherBatchSummary>, ExamError> {
    let mut batches: Vec<VoucherBatchSummary> = Vec::new();
    for (voucher, _) in store::list_vouchers(conn, &exam.id)? {
        match batches.iter_mut().find(|b| b.batch_id == voucher.batch_id) {
            Some(batch) => {
                batch.count += 1;
                batch.redeemed += usize::from(voucher.redeemed_at.is_some());
            }
            None => batches.push(VoucherBatchSummary {
                batch_id: voucher.batch_id.clone(),
                created_at: voucher.created_at,
                expires_at: voucher.expires_at,
                count: 1,
                redeemed: usize::from(voucher.redeemed_at.is_some()),
            }),
        }
    }
    batches.reverse();
    Ok(batches)
}

/// Every voucher of the exam as CSV: code, batch, created, expires, status, redeemed at, redeemed by.
pub fn vouchers_csv(
    conn: &mut DbConn,
    exam: &ExamRow,
    now: NaiveDateTime,
) -> Result<String, ExamError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| ExamError::Internal(format!("writing CSV: {e}"));
    writer
        .write_record([
            "code",
            "batch_id",
            "created_at",
            "expires_at",
            "status",
            "redeemed_at",
            "redeemed_by",
        ])
        .map_err(csv_error)?;
    for (voucher, email) in store::list_vouchers(conn, &exam.id)? {
        let status = if voucher.redeemed_at.is_some() {
            "redeemed"
        } else if voucher.expires_at.is_some_and(|at| at <= now) {
            "expired"
        } else {
            "available"
        };
        writer
            .write_record([
                voucher.code.as_str(),
                voucher.batch_id.as_str(),
                &rfc3339_seconds(voucher.created_at),
                &voucher.expires_at.map(rfc3339_seconds).unwrap_or_default(),
                status,
                &voucher.redeemed_at.map(rfc3339_seconds).unwrap_or_default(),
                &csv_cell(email.as_deref().unwrap_or("")),
            ])
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| ExamError::Internal(format!("writing CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| ExamError::Internal(format!("writing CSV: {e}")))
}
