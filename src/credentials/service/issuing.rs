//! Issuing the credential of a pass.

use chrono::{Months, NaiveDateTime, Timelike};
use rand::Rng;
use rand_core::OsRng;
use url::Url;

use super::issuer_keys::{active_signing_key, signing_key};
use super::status_lists::claim_list_slot;
use super::{CredentialError, IssueContext, IssueRequest, LIST_CAPACITY};
use crate::accounts::{self, User, Vendor};
use crate::credentials::badge::{self, BadgeInput};
use crate::credentials::keys::IssuerKey;
use crate::credentials::status_list;
use crate::credentials::store::{self, IssuerKeyRow, ListSlots, NewCredential};
use crate::db::{self, is_unique_violation, new_id, DbConn};
use crate::mail::{self, templates, Email};
use crate::validation::FieldErrors;
use crate::webhooks::{self, EventType};

fn validate_request(request: &IssueRequest) -> Result<(), CredentialError> {
    let mut errors = FieldErrors::new();
    errors.check(
        (0..=100).contains(&request.pass_percent),
        "pass_percent",
        "must be between 0 and 100",
    );
    errors.check(
        (0..=10_000).contains(&request.score_bp),
        "score_bp",
        "must be between 0 and 10000",
    );
    errors.check(
        (0..=1200).contains(&request.validity_months),
        "validity_months",
        "must be between 0 and 1200",
    );
    errors.check(
        !request.exam_title.trim().is_empty(),
        "exam_title",
        "must not be empty",
    );
    errors.check(
        crate::validation::is_slug(&request.exam_slug),
        "exam_slug",
        "must be a slug",
    );
    errors.finish().map_err(CredentialError::Validation)
}

/// `8450` → `"84.5"`, `7000` → `"70"`.
pub fn format_score(score_bp: i32) -> String {
    let whole = score_bp / 100;
    let hundredths = score_bp % 100;
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(t)
}

/// A pass's credential built and signed ahead of the transaction that records it, so the
/// signature and the reads behind it stay out of SQLite's one writer (see
/// [`prepare_issue`]). Recording it re-checks what could have moved meanwhile.
pub struct PreparedCredential {
    request: IssueRequest,
    list: ListSlots,
    draft: Draft,
}

impl PreparedCredential {
    /// The id the credential gets if it is recorded as prepared.
    pub fn credential_id(&self) -> &str {
        &self.draft.id
    }
}

/// A built and signed credential with its row and its mail, not yet stored.
struct Draft {
    id: String,
    vendor_id: String,
    user_id: String,
    issuer_key_id: String,
    status_list_id: String,
    status_index: i32,
    json: String,
    valid_from: NaiveDateTime,
    valid_until: Option<NaiveDateTime>,
    mail: Email,
}

/// Where a pass's credential is built from.
struct Issuer {
    vendor: Vendor,
    user: User,
    key_row: IssuerKeyRow,
    key: IssuerKey,
}

impl Issuer {
    /// With the vendor's signing key, created on first use.
    fn for_issuance(
        conn: &mut DbConn,
        ctx: &IssueContext,
        request: &IssueRequest,
        now: NaiveDateTime,
    ) -> Result<Self, CredentialError> {
        let (vendor, user) = vendor_and_holder(conn, request)?;
        let (key_row, key) = signing_key(conn, ctx, &vendor, now)?;
        Ok(Issuer {
            vendor,
            user,
            key_row,
            key,
        })
    }

    /// With the vendor's active key, read only; `None` before the vendor's first key (creating it
    /// is a write, left to the issuance).
    fn read_only(
        conn: &mut DbConn,
        ctx: &IssueContext,
        request: &IssueRequest,
    ) -> Result<Option<Self>, CredentialError> {
        let (vendor, user) = vendor_and_holder(conn, request)?;
        Ok(
            active_signing_key(conn, ctx, &vendor)?.map(|(key_row, key)| Issuer {
                vendor,
                user,
                key_row,
                key,
            }),
        )
    }

    /// Builds and signs the credential at `index` of `list`, and its mail.
    fn draft(
        &self,
        ctx: &IssueContext,
        request: &IssueRequest,
        list: &ListSlots,
        index: i32,
        now: NaiveDateTime,
    ) -> Result<Draft, CredentialError> {
        let (vendor, user, key) = (&self.vendor, &self.user, &self.key);
        let person_id = uuid::Uuid::parse_str(&user.id)
            .map_err(|_| CredentialError::Internal(format!("user id {} is not a UUID", user.id)))?;
        let issued_at = whole_seconds(now);
        let valid_until = match request.validity_months {
            0 => None,
            months => Some(
                issued_at
                    .checked_add_months(Months::new(months.unsigned_abs()))
                    .ok_or_else(|| CredentialError::Internal("validity out of range".into()))?,
            ),
        };
        let parse_url = |text: String, what: &str| {
            Url::parse(&text).map_err(|e| CredentialError::Internal(format!("{what} URL: {e}")))
        };
        let list_url = parse_url(
            ctx.links.status_list(&vendor.slug, list.number),
            "status list",
        )?;
        let issuer_url = Url::parse(&vendor.url)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https"))
            .unwrap_or_else(|| ctx.links.base().clone());
        let description = match request.exam_description.trim() {
            "" => request.exam_title.trim(),
            text => text,
        };
        let score = format_score(request.score_bp);
        let graded_on = issued_at.date().format("%Y-%m-%d");
        let id = new_id();
        let credential_id = uuid::Uuid::parse_str(&id)
            .map_err(|e| CredentialError::Internal(format!("new id: {e}")))?;
        let input = BadgeInput {
            credential_id,
            person_id,
            holder_email: user.email.clone(),
            salt: badge::new_salt(&mut OsRng),
            holder_name: Some(user.display_name.clone()),
            issuer_did: key.did().to_owned(),
            issuer_name: vendor.name.clone(),
            issuer_url,
            achievement_id: parse_url(
                ctx.links.achievement(&vendor.slug, &request.exam_slug),
                "achievement",
            )?,
            achievement_name: request.exam_title.trim().to_owned(),
            achievement_description: description.to_owned(),
            achievement_image: Some(parse_url(
                ctx.links.badge(
                    &vendor.slug,
                    &request.exam_slug,
                    crate::badges::Format::Png.as_str(),
                ),
                "badge image",
            )?),
            pass_percent: u8::try_from(request.pass_percent).unwrap_or(100),
            evidence_url: parse_url(ctx.links.attempt_result(&request.attempt_id), "evidence")?,
            evidence_name: format!("{} exam attempt", request.exam_title.trim()),
            evidence_description: format!(
                "Online exam attempt graded on {graded_on} with a score of {score}% (pass mark {}%).",
                request.pass_percent
            ),
            valid_from: issued_at.and_utc(),
            valid_until: valid_until.map(|t| t.and_utc()),
            status: status_list::status_entry(&list_url, index.unsigned_abs().into()),
        };
        let signed = badge::issue_credential(&input, key, issued_at.and_utc())?;
        let until_text = valid_until.map(|t| t.date().format("%Y-%m-%d").to_string());
        let mail = templates::credential_issued(
            &user.email,
            &user.display_name,
            &templates::CredentialIssued {
                achievement: request.exam_title.trim(),
                issuer: &vendor.name,
                page_link: &ctx.links.credential_page(&id),
                valid_until: until_text.as_deref(),
                credential_id: &id,
            },
        );
        Ok(Draft {
            vendor_id: vendor.id.clone(),
            user_id: user.id.clone(),
            issuer_key_id: self.key_row.id.clone(),
            status_list_id: list.id.clone(),
            status_index: index,
            json: signed.json,
            valid_from: issued_at,
            valid_until,
            mail,
            id,
        })
    }
}

fn vendor_and_holder(
    conn: &mut DbConn,
    request: &IssueRequest,
) -> Result<(Vendor, User), CredentialError> {
    let vendor = accounts::store::find_vendor(conn, &request.vendor_id)?
        .ok_or(CredentialError::NotFound("vendor"))?;
    let user = accounts::store::find_user(conn, &request.user_id)?
        .ok_or(CredentialError::NotFound("user"))?;
    Ok((vendor, user))
}

/// A random index of `list` no stored credential holds (`None` after 64 taken ones).
fn free_index(conn: &mut DbConn, list: &ListSlots) -> Result<Option<i32>, CredentialError> {
    for _ in 0..64 {
        let index = OsRng.gen_range(0..list.size);
        if !store::index_taken(conn, &list.id, index)? {
            return Ok(Some(index));
        }
    }
    Ok(None)
}

/// Builds and signs the credential of a pass from what storage holds now, on any connection and
/// outside a transaction: [`issue_for_pass`] records it if nothing it was built from moved.
/// `None` when there is nothing to prepare: the pass is certified already, or its credential needs
/// a write first (the vendor's first key, a new status list).
pub fn prepare_issue(
    conn: &mut DbConn,
    ctx: &IssueContext,
    request: &IssueRequest,
    now: NaiveDateTime,
) -> Result<Option<PreparedCredential>, CredentialError> {
    if store::find_by_attempt(conn, &request.attempt_id)?.is_some() {
        return Ok(None);
    }
    validate_request(request)?;
    let Some(issuer) = Issuer::read_only(conn, ctx, request)? else {
        return Ok(None);
    };
    let Some(list) =
        store::latest_list(conn, &issuer.vendor.id)?.filter(|list| list.allocated < LIST_CAPACITY)
    else {
        return Ok(None);
    };
    let Some(index) = free_index(conn, &list)? else {
        return Ok(None);
    };
    let draft = issuer.draft(ctx, request, &list, index, now)?;
    Ok(Some(PreparedCredential {
        request: request.clone(),
        list,
        draft,
    }))
}

/// Issues the `OpenBadgeCredential` of a passed attempt: stores it with its random status index,
/// supersedes the person's older current credentials for the same exam (and for exams this one
/// renews), queues the mail with the JSON attached and updates the holder's referral tier.
/// Idempotent per attempt: a second call returns the first credential's id.
///
/// `prepared` (from [`prepare_issue`] for the same request) is used when the vendor's signing key
/// is still the one it was signed with and its status slot is still free; otherwise the credential
/// is built and signed here.
pub fn issue_for_pass(
    conn: &mut DbConn,
    ctx: &IssueContext,
    request: &IssueRequest,
    prepared: Option<PreparedCredential>,
    now: NaiveDateTime,
) -> Result<String, CredentialError> {
    if let Some(existing) = store::find_by_attempt(conn, &request.attempt_id)? {
        return Ok(existing);
    }
    validate_request(request)?;
    let mut claimed = None;
    if let Some(prepared) = prepared.filter(|p| p.request == *request) {
        let key_current = store::active_key(conn, &prepared.draft.vendor_id)?
            .is_some_and(|row| row.id == prepared.draft.issuer_key_id);
        if key_current && store::claim_slot(conn, &prepared.list.id, LIST_CAPACITY)? {
            match record(conn, ctx, request, &prepared.draft, now)? {
                Recorded::Issued(id) => return Ok(id),
                // The index went to another credential meanwhile: keep the slot, pick another.
                Recorded::IndexTaken => claimed = Some(prepared.list),
            }
        }
    }

    let issuer = Issuer::for_issuance(conn, ctx, request, now)?;
    let list = match claimed {
        Some(list) => list,
        None => claim_list_slot(conn, ctx, &issuer.vendor, &issuer.key, now)?,
    };
    for _ in 0..64 {
        let Some(index) = free_index(conn, &list)? else {
            break;
        };
        let draft = issuer.draft(ctx, request, &list, index, now)?;
        if let Recorded::Issued(id) = record(conn, ctx, request, &draft, now)? {
            return Ok(id);
        }
    }
    Err(CredentialError::Conflict(
        "could not allocate a status index; try again".into(),
    ))
}

enum Recorded {
    Issued(String),
    IndexTaken,
}

/// Stores the credential and what follows from it. A lost race for the attempt returns the
/// credential that won it.
fn record(
    conn: &mut DbConn,
    ctx: &IssueContext,
    request: &IssueRequest,
    draft: &Draft,
    now: NaiveDateTime,
) -> Result<Recorded, CredentialError> {
    let new = NewCredential {
        id: &draft.id,
        vendor_id: &draft.vendor_id,
        exam_id: &request.exam_id,
        attempt_id: &request.attempt_id,
        user_id: &draft.user_id,
        issuer_key_id: &draft.issuer_key_id,
        status_list_id: &draft.status_list_id,
        status_index: draft.status_index,
        json: &draft.json,
        valid_from: draft.valid_from,
        valid_until: draft.valid_until,
        created_at: now,
    };
    match db::statement(conn, |c| store::insert_credential(c, &new)) {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            // Either this attempt was certified meanwhile, or the index was taken.
            return Ok(match store::find_by_attempt(conn, &request.attempt_id)? {
                Some(existing) => Recorded::Issued(existing),
                None => Recorded::IndexTaken,
            });
        }
        Err(e) => return Err(e.into()),
    }
    let renewal = store::Renewal {
        vendor_id: &draft.vendor_id,
        exam_id: &request.exam_id,
        exam_slug: &request.exam_slug,
    };
    store::supersede(conn, &draft.user_id, &renewal, &draft.id, now)?;
    mail::enqueue(conn, &draft.mail, now)?;
    webhooks::credential_event(
        conn,
        &ctx.links,
        EventType::CredentialIssued,
        &draft.vendor_id,
        &draft.id,
        now,
    )?;
    ctx.credentials_changed(
        conn,
        &draft.user_id,
        &draft.vendor_id,
        "credential issued",
        now,
    )?;
    tracing::info!(credential_id = %draft.id, attempt_id = %request.attempt_id, "credential issued");
    Ok(Recorded::Issued(draft.id.clone()))
}
