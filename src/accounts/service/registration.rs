//! Registration, e-mail verification and password reset (the mailed one-time links), and accounts
//! created verified by operators and the demo.

use chrono::NaiveDateTime;
use serde::Deserialize;

use super::{PASSWORD_RESET_VALIDITY, VERIFY_EMAIL_VALIDITY};
use crate::accounts::password::PasswordHash;
use crate::accounts::store::{self, NewUser, TokenLookup, TokenPurpose};
use crate::accounts::{AccountError, User};
use crate::db::{is_unique_violation, new_id, DbConn};
use crate::links::Links;
use crate::mail;
use crate::ratelimit::{Limit, RateLimits};
use crate::secrets::{random_token, sha256_hex};
use crate::validation::{field_error, normalize_email, FieldErrors};

/// Missing fields default to empty so that validation reports every one of them at once.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RegisterInput {
    pub email: String,
    pub password: String,
    pub display_name: String,
}

#[derive(Debug)]
pub struct Registered {
    pub id: String,
    pub email: String,
}

fn check_display_name(errors: &mut FieldErrors, name: &str) {
    let chars = name.trim().chars().count();
    errors.check(
        chars > 0,
        "display_name",
        "enter the name to show on your certificates",
    );
    errors.check(chars <= 100, "display_name", "use at most 100 characters");
}

/// Checks every field of a registration at once; the normalized address on success. Called before
/// the password is hashed (outside any transaction) and again by [`register`].
pub fn check_registration(input: &RegisterInput) -> Result<String, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .ok();
    if let Err(m) = crate::accounts::password::check_policy(&input.password) {
        errors.add("password", m);
    }
    check_display_name(&mut errors, &input.display_name);
    errors.finish().map_err(AccountError::Validation)?;
    Ok(email.unwrap_or_default())
}

/// Creates an unverified account and queues the verification mail in the same transaction. An
/// address that has an account gets a mail saying so (with the way to reset the password) and the
/// caller the same answer as for a new one — with an id that names nothing — so registration
/// cannot be used to learn who has an account. `limits` caps the mails per recipient.
pub fn register(
    conn: &mut DbConn,
    input: &RegisterInput,
    password: &PasswordHash,
    links: &Links,
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<Registered, AccountError> {
    let email = check_registration(input)?;
    let name = input.display_name.trim();
    let existing = |conn: &mut DbConn| -> Result<Registered, AccountError> {
        if let Some(user) = store::find_user_by_email(conn, &email)? {
            if may_mail(limits, &user.email) {
                mail::enqueue(
                    conn,
                    &mail::templates::registration_exists(
                        &user.email,
                        &user.display_name,
                        &links.url("/login"),
                        &links.url("/password-reset"),
                    ),
                    now,
                )?;
            }
        }
        Ok(Registered {
            id: new_id(),
            email: email.clone(),
        })
    };
    if store::find_user_by_email(conn, &email)?.is_some() {
        return existing(conn);
    }
    let inserted = crate::db::transaction(conn, |conn| {
        store::insert_user(
            conn,
            NewUser {
                email: &email,
                display_name: name,
                password_hash: password.as_str(),
                is_operator: false,
                verified_at: None,
            },
            now,
        )
    });
    let id = match inserted {
        Ok(id) => id,
        // Registered at the same moment by another request: answer as for any existing address.
        Err(e) if is_unique_violation(&e) => return existing(conn),
        Err(e) => return Err(e.into()),
    };
    if may_mail(limits, &email) {
        send_verification(conn, &id, &email, name, links, now)?;
    }
    Ok(Registered { id, email })
}

/// Whether one more mail that anyone can trigger may go to `recipient` now.
fn may_mail(limits: &RateLimits, recipient: &str) -> bool {
    limits.check(Limit::MailRecipient, recipient).is_ok()
}

fn send_verification(
    conn: &mut DbConn,
    user_id: &str,
    email: &str,
    name: &str,
    links: &Links,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let token = random_token();
    store::insert_email_token(
        conn,
        user_id,
        TokenPurpose::VerifyEmail,
        &sha256_hex(&token),
        now,
        now + VERIFY_EMAIL_VALIDITY,
    )?;
    mail::enqueue(
        conn,
        &mail::templates::verify_email(email, name, &links.verify_email(&token)),
        now,
    )?;
    Ok(())
}

/// Sends a fresh verification link when the address belongs to an unverified account. Answers the
/// same either way so it cannot be used to learn who has an account.
pub fn resend_verification(
    conn: &mut DbConn,
    email: &str,
    links: &Links,
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let Ok(email) = normalize_email(email) else {
        return Err(AccountError::Validation(field_error(
            "email",
            "this is not an e-mail address",
        )));
    };
    if let Some(user) = store::find_user_by_email(conn, &email)? {
        if user.email_verified_at.is_none() && may_mail(limits, &user.email) {
            send_verification(conn, &user.id, &user.email, &user.display_name, links, now)?;
        }
    }
    Ok(())
}

/// Marks the address verified. A link used twice (mail scanners follow links) still succeeds
/// when the address is verified.
pub fn verify_email(
    conn: &mut DbConn,
    token: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let invalid = || {
        AccountError::Validation(field_error(
            "token",
            "this verification link is not valid or has expired; sign in to get a new one",
        ))
    };
    let user_id = match store::take_email_token(
        conn,
        TokenPurpose::VerifyEmail,
        &sha256_hex(token.trim()),
        now,
    )? {
        TokenLookup::Valid { user_id } => user_id,
        TokenLookup::AlreadyUsed { user_id } => {
            let user = store::find_user(conn, &user_id)?.ok_or_else(invalid)?;
            return if user.email_verified_at.is_some() {
                Ok(user)
            } else {
                Err(invalid())
            };
        }
        TokenLookup::Expired | TokenLookup::Unknown => return Err(invalid()),
    };
    store::set_email_verified(conn, &user_id, now)?;
    store::find_user(conn, &user_id)?.ok_or_else(invalid)
}

/// Mails a reset link when the address has an account; answers the same either way.
pub fn request_password_reset(
    conn: &mut DbConn,
    email: &str,
    links: &Links,
    limits: &RateLimits,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let email =
        normalize_email(email).map_err(|m| AccountError::Validation(field_error("email", m)))?;
    let user = store::find_user_by_email(conn, &email)?;
    if let Some(user) = user.filter(|u| may_mail(limits, &u.email)) {
        let token = random_token();
        store::insert_email_token(
            conn,
            &user.id,
            TokenPurpose::PasswordReset,
            &sha256_hex(&token),
            now,
            now + PASSWORD_RESET_VALIDITY,
        )?;
        mail::enqueue(
            conn,
            &mail::templates::password_reset(
                &user.email,
                &user.display_name,
                &links.password_reset(&token),
            ),
            now,
        )?;
    }
    Ok(())
}

/// Sets a new password (hashed by the caller before this transaction) from a mailed token, makes
/// every other reset link of the account useless, and signs the person out everywhere.
pub fn confirm_password_reset(
    conn: &mut DbConn,
    token: &str,
    new_password: &PasswordHash,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    let user_id =
        match store::take_email_token(
            conn,
            TokenPurpose::PasswordReset,
            &sha256_hex(token.trim()),
            now,
        )? {
            TokenLookup::Valid { user_id } => user_id,
            _ => return Err(AccountError::Validation(field_error(
                "token",
                "this reset link is not valid, was used already or has expired; ask for a new one",
            ))),
        };
    store::set_password_hash(conn, &user_id, new_password.as_str(), now)?;
    store::use_up_email_tokens(conn, &user_id, TokenPurpose::PasswordReset, now)?;
    // Following the mailed link proves the address too.
    store::set_email_verified(conn, &user_id, now)?;
    store::revoke_user_sessions(conn, &user_id, now)?;
    Ok(())
}

/// Creates an account from the command line (operators, demo data): verified at once. The password
/// is hashed by the caller before the transaction.
pub fn create_verified_user(
    conn: &mut DbConn,
    email: &str,
    password: &PasswordHash,
    display_name: &str,
    is_operator: bool,
    now: NaiveDateTime,
) -> Result<String, AccountError> {
    let mut errors = FieldErrors::new();
    let email = normalize_email(email)
        .map_err(|m| errors.add("email", m))
        .ok();
    check_display_name(&mut errors, display_name);
    errors.finish().map_err(AccountError::Validation)?;
    let email = email.unwrap_or_default();
    if store::find_user_by_email(conn, &email)?.is_some() {
        return Err(AccountError::EmailTaken);
    }
    Ok(store::insert_user(
        conn,
        NewUser {
            email: &email,
            display_name: display_name.trim(),
            password_hash: password.as_str(),
            is_operator,
            verified_at: Some(now),
        },
        now,
    )?)
}
