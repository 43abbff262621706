//! Customers: binding a billing system's customer to the advocate who referred them.

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{text_ok, MAX_ID_LEN};
use crate::clock::rfc3339_seconds;
use crate::db::{self, DbConn};
use crate::referrals::store::{self, NewCustomer};
use crate::referrals::{codes, Customer, EnrollmentStatus, Program, ReferralError};
use crate::validation::{normalize_email, FieldErrors};

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CustomerInput {
    pub external_id: Option<String>,
    pub click_id: Option<String>,
    pub referral_code: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CustomerView {
    pub bound: bool,
    pub id: String,
    pub external_id: String,
    pub enrollment: String,
    pub referral_code: String,
    pub click_id: Option<String>,
    #[schema(format = DateTime)]
    pub bound_at: String,
}

#[derive(Debug, Clone)]
pub enum BindOutcome {
    /// This call bound the customer (201).
    Bound(CustomerView),
    /// The customer was bound before; the first binding stands (200).
    Existing(CustomerView),
    /// Nothing was bound, for a reason that is not the caller's mistake (200, `bound: false`):
    /// the click is older than the attribution window, or the advocate is suspended.
    NotBound { external_id: String, reason: String },
}

fn customer_view(conn: &mut DbConn, customer: &Customer) -> Result<CustomerView, ReferralError> {
    let code = store::find_enrollment(conn, &customer.enrollment_id)?
        .map(|e| e.referral_code)
        .unwrap_or_default();
    Ok(CustomerView {
        bound: true,
        id: customer.id.clone(),
        external_id: customer.external_id.clone(),
        enrollment: customer.enrollment_id.clone(),
        referral_code: code,
        click_id: customer.click_id.clone(),
        bound_at: rfc3339_seconds(customer.bound_at),
    })
}

/// Binds a vendor's customer to the advocate of a click or a referral code. The first binding
/// wins; later calls return it. A click older than the program's attribution window binds
/// nothing (`NotBound`). Unknown clicks or codes are input errors.
pub fn bind_customer(
    conn: &mut DbConn,
    program: &Program,
    input: &CustomerInput,
    now: NaiveDateTime,
) -> Result<BindOutcome, ReferralError> {
    let mut errors = FieldErrors::new();
    let external_id = input.external_id.clone().unwrap_or_default();
    if !text_ok(&external_id, MAX_ID_LEN) {
        errors.add(
            "external_id",
            "send your system's customer id (1–200 characters)",
        );
    }
    let click_id = input
        .click_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    let code_text = input
        .referral_code
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if click_id.is_none() && code_text.is_none() {
        errors.add(
            "click_id",
            "send click_id (the credo_click parameter of the landing URL) or referral_code",
        );
    }
    let email = match input
        .email
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        None => None,
        Some(text) => match normalize_email(text) {
            Ok(email) => Some(email),
            Err(message) => {
                errors.add("email", message);
                None
            }
        },
    };
    errors.finish().map_err(ReferralError::Validation)?;
    let external_id = external_id.trim().to_string();

    if let Some(existing) = store::find_customer(conn, &program.id, &external_id)? {
        return Ok(BindOutcome::Existing(customer_view(conn, &existing)?));
    }

    let click = match click_id {
        None => None,
        Some(id) => Some(
            store::find_click(conn, id)?
                .filter(|c| c.program_id == program.id)
                .ok_or_else(|| {
                    ReferralError::field("click_id", "no click with this id in this program")
                })?,
        ),
    };
    let code_enrollment = match code_text {
        None => None,
        Some(text) => Some(
            codes::normalize_code(text)
                .map(|code| store::find_enrollment_by_code(conn, &code))
                .transpose()?
                .flatten()
                .filter(|e| e.program_id == program.id)
                .ok_or_else(|| {
                    ReferralError::field(
                        "referral_code",
                        "no advocate of this program has this code",
                    )
                })?,
        ),
    };
    let enrollment_id = match (&click, &code_enrollment) {
        (Some(click), Some(enrollment)) if click.enrollment_id != enrollment.id => {
            return Err(ReferralError::field(
                "referral_code",
                "the code belongs to another advocate than the click; send one of them",
            ))
        }
        (Some(click), _) => click.enrollment_id.clone(),
        (None, Some(enrollment)) => enrollment.id.clone(),
        (None, None) => return Err(ReferralError::Internal("validated input missing".into())),
    };
    let enrollment = store::find_enrollment(conn, &enrollment_id)?
        .ok_or_else(|| ReferralError::Internal("click without enrollment".into()))?;
    if enrollment.status != EnrollmentStatus::Active {
        return Ok(BindOutcome::NotBound {
            external_id,
            reason: "the advocate's enrollment is suspended".into(),
        });
    }
    if let Some(click) = &click {
        let window = Duration::days(i64::from(program.attribution_window_days));
        if now - click.at > window {
            return Ok(BindOutcome::NotBound {
                external_id,
                reason: format!(
                    "the click is older than the program's {}-day attribution window",
                    program.attribution_window_days
                ),
            });
        }
    }
    let id = db::new_id();
    let inserted = store::insert_customer_if_absent(
        conn,
        &NewCustomer {
            id: &id,
            program_id: &program.id,
            external_id: &external_id,
            enrollment_id: &enrollment.id,
            click_id: click.as_ref().map(|c| c.id.as_str()),
            email: email.as_deref(),
            bound_at: now,
        },
    )?;
    let customer = store::find_customer(conn, &program.id, &external_id)?
        .ok_or_else(|| ReferralError::Internal("customer vanished".into()))?;
    let view = customer_view(conn, &customer)?;
    Ok(if inserted {
        BindOutcome::Bound(view)
    } else {
        BindOutcome::Existing(view)
    })
}

/// [`bind_customer`] in its own transaction, retried once when a concurrent binder won a
/// unique-key race the database reported as an error.
pub fn bind_customer_with_retry(
    conn: &mut DbConn,
    program: &Program,
    input: &CustomerInput,
    now: NaiveDateTime,
) -> Result<BindOutcome, ReferralError> {
    match db::transaction(conn, |c| bind_customer(c, program, input, now)) {
        Err(e) if e.is_unique_violation() => {
            db::transaction(conn, |c| bind_customer(c, program, input, now))
        }
        other => other,
    }
}
