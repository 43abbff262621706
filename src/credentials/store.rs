//! Every query of the credentials tables (`issuer_keys`, `status_lists`, `credentials`,
//! `credential_reminders`, `vendor_credential_settings`). Functions take the caller's connection so a use case runs in one
//! transaction; the few dialect-specific statements match on [`DbConn`] here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::db::schema::{
    credential_reminders, credentials, exams, issuer_keys, status_list_slots, status_lists, users,
    vendor_credential_settings,
};
use crate::db::{self, DbConn};

/// A stored issuer key. The sealed seed never leaves this struct except to be opened in memory;
/// `Debug` leaves it out.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = issuer_keys)]
pub struct IssuerKeyRow {
    pub id: String,
    /// `None` for a key of the instance-level issuer (`scope = 'instance'`).
    pub vendor_id: Option<String>,
    pub public_key_multibase: String,
    pub sealed_seed: String,
    pub created_at: NaiveDateTime,
    pub retired_at: Option<NaiveDateTime>,
}

impl std::fmt::Debug for IssuerKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerKeyRow")
            .field("id", &self.id)
            .field("vendor_id", &self.vendor_id)
            .field("public_key_multibase", &self.public_key_multibase)
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// The cryptosuite the vendor chose for new credentials, if it chose one.
pub fn vendor_cryptosuite(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Option<String>> {
    db::on_backend!(conn, |c| vendor_credential_settings::table
        .find(vendor_id)
        .select(vendor_credential_settings::cryptosuite)
        .first(c)
        .optional())
}

/// Records the vendor's cryptosuite (update, else insert: portable across both backends).
pub fn set_vendor_cryptosuite(
    conn: &mut DbConn,
    vendor_id: &str,
    cryptosuite: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let updated = diesel::update(vendor_credential_settings::table.find(vendor_id))
        .set((
            vendor_credential_settings::cryptosuite.eq(cryptosuite),
            vendor_credential_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(vendor_credential_settings::table)
            .values((
                vendor_credential_settings::vendor_id.eq(vendor_id),
                vendor_credential_settings::cryptosuite.eq(cryptosuite),
                vendor_credential_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Every key the vendor ever had, oldest first (the DID document's order).
pub fn vendor_keys(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<IssuerKeyRow>> {
    issuer_keys::table
        .filter(issuer_keys::vendor_id.eq(vendor_id))
        .order((issuer_keys::created_at.asc(), issuer_keys::id.asc()))
        .select(IssuerKeyRow::as_select())
        .load(conn)
}

/// The public keys only (verification needs nothing else).
pub fn vendor_public_keys(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Vec<String>> {
    issuer_keys::table
        .filter(issuer_keys::vendor_id.eq(vendor_id))
        .order((issuer_keys::created_at.asc(), issuer_keys::id.asc()))
        .select(issuer_keys::public_key_multibase)
        .load(conn)
}

pub fn active_key(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Option<IssuerKeyRow>> {
    db::on_backend!(conn, |c| issuer_keys::table
        .filter(issuer_keys::vendor_id.eq(vendor_id))
        .filter(issuer_keys::retired_at.is_null())
        .select(IssuerKeyRow::as_select())
        .first(c)
        .optional())
}

/// Scope of an instance-level issuer key (no vendor).
pub const INSTANCE_SCOPE: &str = "instance";

/// Every key of the instance-level issuer, oldest first (the DID document's order).
pub fn instance_keys(conn: &mut DbConn) -> QueryResult<Vec<IssuerKeyRow>> {
    issuer_keys::table
        .filter(issuer_keys::scope.eq(INSTANCE_SCOPE))
        .order((issuer_keys::created_at.asc(), issuer_keys::id.asc()))
        .select(IssuerKeyRow::as_select())
        .load(conn)
}

pub fn retire_active_instance_key(conn: &mut DbConn, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        issuer_keys::table
            .filter(issuer_keys::scope.eq(INSTANCE_SCOPE))
            .filter(issuer_keys::retired_at.is_null()),
    )
    .set(issuer_keys::retired_at.eq(now))
    .execute(conn)
}

/// Inserts a key of the vendor (`Some`) or of the instance-level issuer (`None`).
pub fn insert_key(
    conn: &mut DbConn,
    id: &str,
    vendor_id: Option<&str>,
    public_key_multibase: &str,
    sealed_seed: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(issuer_keys::table)
        .values((
            issuer_keys::id.eq(id),
            issuer_keys::scope.eq(if vendor_id.is_some() {
                "vendor"
            } else {
                INSTANCE_SCOPE
            }),
            issuer_keys::vendor_id.eq(vendor_id),
            issuer_keys::public_key_multibase.eq(public_key_multibase),
            issuer_keys::sealed_seed.eq(sealed_seed),
            issuer_keys::created_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

pub fn retire_active_key(
    conn: &mut DbConn,
    vendor_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        issuer_keys::table
            .filter(issuer_keys::vendor_id.eq(vendor_id))
            .filter(issuer_keys::retired_at.is_null()),
    )
    .set(issuer_keys::retired_at.eq(now))
    .execute(conn)
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = status_lists)]
pub struct StatusListRow {
    pub id: String,
    pub vendor_id: String,
    pub number: i32,
    pub size: i32,
    pub bits: Vec<u8>,
    pub credential: String,
    pub updated_at: NaiveDateTime,
}

impl std::fmt::Debug for StatusListRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusListRow")
            .field("id", &self.id)
            .field("vendor_id", &self.vendor_id)
            .field("number", &self.number)
            .finish_non_exhaustive()
    }
}

/// Where a new credential's status entry goes: a list's identity and how many of its slots are
/// taken, without its bits or signed document (issuing needs neither).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = status_lists)]
pub struct ListSlots {
    pub id: String,
    pub number: i32,
    pub size: i32,
    #[diesel(select_expression = status_list_slots::allocated)]
    pub allocated: i32,
}

/// The vendor's newest status list (the one new credentials go to while it has room).
pub fn latest_list(conn: &mut DbConn, vendor_id: &str) -> QueryResult<Option<ListSlots>> {
    db::on_backend!(conn, |c| status_lists::table
        .inner_join(status_list_slots::table)
        .filter(status_lists::vendor_id.eq(vendor_id))
        .order(status_lists::number.desc())
        .select(ListSlots::as_select())
        .first(c)
        .optional())
}

pub fn find_list_slots(
    conn: &mut DbConn,
    vendor_id: &str,
    number: i32,
) -> QueryResult<Option<ListSlots>> {
    status_lists::table
        .inner_join(status_list_slots::table)
        .filter(status_lists::vendor_id.eq(vendor_id))
        .filter(status_lists::number.eq(number))
        .select(ListSlots::as_select())
        .first(conn)
        .optional()
}

/// The signed status list credential of list `number` of a vendor, exactly as served.
pub fn list_document(
    conn: &mut DbConn,
    vendor_id: &str,
    number: i32,
) -> QueryResult<Option<String>> {
    status_lists::table
        .filter(status_lists::vendor_id.eq(vendor_id))
        .filter(status_lists::number.eq(number))
        .select(status_lists::credential)
        .first(conn)
        .optional()
}

/// Only the bits of list `number` of a vendor (verification needs nothing else).
pub fn list_bits(conn: &mut DbConn, vendor_id: &str, number: i32) -> QueryResult<Option<Vec<u8>>> {
    status_lists::table
        .filter(status_lists::vendor_id.eq(vendor_id))
        .filter(status_lists::number.eq(number))
        .select(status_lists::bits)
        .first(conn)
        .optional()
}

/// Reads a list and, on PostgreSQL, locks its row until the transaction ends, so two
/// revocations on one list never overwrite each other's bit (SQLite's write transaction is
/// exclusive already).
pub fn lock_list(conn: &mut DbConn, list_id: &str) -> QueryResult<StatusListRow> {
    match conn {
        DbConn::Postgres(pg) => status_lists::table
            .filter(status_lists::id.eq(list_id))
            .select(StatusListRow::as_select())
            .for_update()
            .first(pg),
        DbConn::Sqlite(sqlite) => status_lists::table
            .filter(status_lists::id.eq(list_id))
            .select(StatusListRow::as_select())
            .first(sqlite),
    }
}

#[allow(clippy::too_many_arguments)]
pub fn insert_list(
    conn: &mut DbConn,
    id: &str,
    vendor_id: &str,
    number: i32,
    size: i32,
    bits: &[u8],
    credential: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(status_lists::table)
        .values((
            status_lists::id.eq(id),
            status_lists::vendor_id.eq(vendor_id),
            status_lists::number.eq(number),
            status_lists::size.eq(size),
            status_lists::bits.eq(bits),
            status_lists::credential.eq(credential),
            status_lists::updated_at.eq(now),
        ))
        .execute(conn)?;
    diesel::insert_into(status_list_slots::table)
        .values((
            status_list_slots::list_id.eq(id),
            status_list_slots::allocated.eq(0),
        ))
        .execute(conn)
        .map(|_| ())
}

/// Takes one slot of the list if fewer than `capacity` are taken; `false` when it is full.
pub fn claim_slot(conn: &mut DbConn, list_id: &str, capacity: i32) -> QueryResult<bool> {
    let updated = db::on_backend!(conn, |c| diesel::update(
        status_list_slots::table
            .filter(status_list_slots::list_id.eq(list_id))
            .filter(status_list_slots::allocated.lt(capacity)),
    )
    .set(status_list_slots::allocated.eq(status_list_slots::allocated + 1))
    .execute(c))?;
    Ok(updated == 1)
}

pub fn update_list(
    conn: &mut DbConn,
    list_id: &str,
    bits: &[u8],
    credential: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    diesel::update(status_lists::table.filter(status_lists::id.eq(list_id)))
        .set((
            status_lists::bits.eq(bits),
            status_lists::credential.eq(credential),
            status_lists::updated_at.eq(now),
        ))
        .execute(conn)
        .map(|_| ())
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub vendor_id: String,
    pub exam_id: String,
    pub attempt_id: String,
    pub user_id: String,
    pub issuer_key_id: String,
    pub status_list_id: String,
    pub status_index: i32,
    pub json: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revocation_reason: Option<String>,
    pub revoked_by: Option<String>,
    pub superseded_by: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn find_credential(conn: &mut DbConn, id: &str) -> QueryResult<Option<CredentialRow>> {
    credentials::table
        .find(id)
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()
}

/// What a verification reports about one of our credentials (without its JSON).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = credentials)]
pub struct CredentialFacts {
    pub id: String,
    pub vendor_id: String,
    pub revoked_at: Option<NaiveDateTime>,
    pub revocation_reason: Option<String>,
    pub superseded_by: Option<String>,
}

pub fn credential_facts(conn: &mut DbConn, id: &str) -> QueryResult<Option<CredentialFacts>> {
    credentials::table
        .find(id)
        .select(CredentialFacts::as_select())
        .first(conn)
        .optional()
}

/// The id of the credential issued for an attempt, if any (the id alone: issuing asks on every
/// pass, and the row carries the whole credential).
pub fn find_by_attempt(conn: &mut DbConn, attempt_id: &str) -> QueryResult<Option<String>> {
    db::on_backend!(conn, |c| credentials::table
        .filter(credentials::attempt_id.eq(attempt_id))
        .select(credentials::id)
        .first(c)
        .optional())
}

/// The exact stored JSON of a credential.
pub fn credential_json(conn: &mut DbConn, id: &str) -> QueryResult<Option<String>> {
    credentials::table
        .find(id)
        .select(credentials::json)
        .first(conn)
        .optional()
}

pub fn index_taken(conn: &mut DbConn, list_id: &str, index: i32) -> QueryResult<bool> {
    db::on_backend!(conn, |c| diesel::select(diesel::dsl::exists(
        credentials::table
            .filter(credentials::status_list_id.eq(list_id))
            .filter(credentials::status_index.eq(index)),
    ))
    .get_result(c))
}

/// A credential row to insert.
pub struct NewCredential<'a> {
    pub id: &'a str,
    pub vendor_id: &'a str,
    pub exam_id: &'a str,
    pub attempt_id: &'a str,
    pub user_id: &'a str,
    pub issuer_key_id: &'a str,
    pub status_list_id: &'a str,
    pub status_index: i32,
    pub json: &'a str,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

pub fn insert_credential(conn: &mut DbConn, new: &NewCredential<'_>) -> QueryResult<()> {
    db::on_backend!(conn, |c| diesel::insert_into(credentials::table)
        .values((
            credentials::id.eq(new.id),
            credentials::vendor_id.eq(new.vendor_id),
            credentials::exam_id.eq(new.exam_id),
            credentials::attempt_id.eq(new.attempt_id),
            credentials::user_id.eq(new.user_id),
            credentials::issuer_key_id.eq(new.issuer_key_id),
            credentials::status_list_id.eq(new.status_list_id),
            credentials::status_index.eq(new.status_index),
            credentials::json.eq(new.json),
            credentials::valid_from.eq(new.valid_from),
            credentials::valid_until.eq(new.valid_until),
            credentials::created_at.eq(new.created_at),
        ))
        .execute(c))
    .map(|_| ())
}

/// Marks the person's current credentials (other than `new_id`) of exam `exam_id` and of the
/// vendor's exams that `exam_slug` renews as superseded by `new_id`; revoked, expired or already
/// superseded ones are left alone (the renewed exams are a subquery). Returns how many.
pub fn supersede(
    conn: &mut DbConn,
    user_id: &str,
    renewal: &Renewal<'_>,
    new_id: &str,
    now: NaiveDateTime,
) -> QueryResult<usize> {
    let renewed_exams = exams::table
        .filter(exams::vendor_id.eq(renewal.vendor_id))
        .filter(exams::renewal_exam_slug.eq(renewal.exam_slug))
        .select(exams::id);
    let current = credentials::user_id
        .eq(user_id)
        .and(
            credentials::exam_id
                .eq(renewal.exam_id)
                .or(credentials::exam_id.eq_any(renewed_exams)),
        )
        .and(credentials::id.ne(new_id))
        .and(credentials::revoked_at.is_null())
        .and(credentials::superseded_by.is_null())
        .and(
            credentials::valid_until
                .is_null()
                .or(credentials::valid_until.gt(now)),
        );
    // Most passes are the holder's first of the exam. The read stays prepared between runs; the
    // UPDATE, which diesel prepares anew on every run, is left for those that replace something.
    let any_current: bool = db::on_backend!(conn, |c| diesel::select(diesel::dsl::exists(
        credentials::table.filter(current)
    ))
    .get_result(c))?;
    if !any_current {
        return Ok(0);
    }
    db::on_backend!(conn, |c| diesel::update(credentials::table.filter(current))
        .set(credentials::superseded_by.eq(new_id))
        .execute(c))
}

/// The exam a new credential is for: it supersedes the holder's earlier credentials of that
/// exam and of the vendor's exams naming its slug as their renewal.
pub struct Renewal<'a> {
    pub vendor_id: &'a str,
    pub exam_id: &'a str,
    pub exam_slug: &'a str,
}

/// Records a revocation unless the credential is already revoked; `true` if this call revoked it.
pub fn mark_revoked(
    conn: &mut DbConn,
    id: &str,
    reason: &str,
    actor: Option<&str>,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let updated = diesel::update(
        credentials::table
            .filter(credentials::id.eq(id))
            .filter(credentials::revoked_at.is_null()),
    )
    .set((
        credentials::revoked_at.eq(now),
        credentials::revocation_reason.eq(reason),
        credentials::revoked_by.eq(actor),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// A credential with the names people see next to it.
#[derive(Debug, Clone, Queryable)]
pub struct CredentialListing {
    pub id: String,
    pub user_id: String,
    pub holder_name: String,
    pub exam_slug: String,
    pub exam_title: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
    pub revocation_reason: Option<String>,
    pub superseded_by: Option<String>,
}

type ListingColumns = (
    credentials::id,
    credentials::user_id,
    users::display_name,
    exams::slug,
    exams::title,
    credentials::valid_from,
    credentials::valid_until,
    credentials::revoked_at,
    credentials::revocation_reason,
    credentials::superseded_by,
);

const LISTING: ListingColumns = (
    credentials::id,
    credentials::user_id,
    users::display_name,
    exams::slug,
    exams::title,
    credentials::valid_from,
    credentials::valid_until,
    credentials::revoked_at,
    credentials::revocation_reason,
    credentials::superseded_by,
);

/// The vendor's credentials, newest first.
pub fn vendor_listing(
    conn: &mut DbConn,
    vendor_id: &str,
    limit: i64,
) -> QueryResult<Vec<CredentialListing>> {
    credentials::table
        .inner_join(users::table)
        .inner_join(exams::table)
        .filter(credentials::vendor_id.eq(vendor_id))
        .order((credentials::created_at.desc(), credentials::id.desc()))
        .limit(limit)
        .select(LISTING)
        .load(conn)
}

/// The person's credentials, newest first.
pub fn user_listing(conn: &mut DbConn, user_id: &str) -> QueryResult<Vec<CredentialListing>> {
    credentials::table
        .inner_join(users::table)
        .inner_join(exams::table)
        .filter(credentials::user_id.eq(user_id))
        .order((credentials::created_at.desc(), credentials::id.desc()))
        .select(LISTING)
        .load(conn)
}

/// Slugs of the vendor's exams for which the person holds a credential current at `at`.
pub fn current_exam_slugs(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    at: NaiveDateTime,
) -> QueryResult<Vec<String>> {
    let mut slugs: Vec<String> = credentials::table
        .inner_join(exams::table)
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::vendor_id.eq(vendor_id))
        .filter(credentials::valid_from.le(at))
        .filter(
            credentials::valid_until
                .is_null()
                .or(credentials::valid_until.gt(at)),
        )
        .filter(
            credentials::revoked_at
                .is_null()
                .or(credentials::revoked_at.gt(at)),
        )
        .select(exams::slug)
        .load(conn)?;
    slugs.sort();
    slugs.dedup();
    Ok(slugs)
}

/// What an expiry reminder needs.
#[derive(Debug, Clone, Queryable)]
pub struct ReminderCandidate {
    pub id: String,
    pub email: String,
    pub holder_name: String,
    pub exam_title: String,
    pub valid_from: NaiveDateTime,
    pub valid_until: Option<NaiveDateTime>,
}

/// Current, unrevoked, unsuperseded credentials expiring in `(now, until]` without a reminder
/// row for `days_before` yet.
pub fn reminder_candidates(
    conn: &mut DbConn,
    days_before: i32,
    now: NaiveDateTime,
    until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<ReminderCandidate>> {
    let reminded = credential_reminders::table
        .filter(credential_reminders::credential_id.eq(credentials::id))
        .filter(credential_reminders::days_before.eq(days_before));
    credentials::table
        .inner_join(users::table)
        .inner_join(exams::table)
        .filter(credentials::valid_until.gt(now))
        .filter(credentials::valid_until.le(until))
        .filter(credentials::revoked_at.is_null())
        .filter(credentials::superseded_by.is_null())
        .filter(diesel::dsl::not(diesel::dsl::exists(reminded)))
        .order(credentials::valid_until.asc())
        .limit(limit)
        .select((
            credentials::id,
            users::email,
            users::display_name,
            exams::title,
            credentials::valid_from,
            credentials::valid_until,
        ))
        .load(conn)
}

/// Records that the `days_before` reminder of a credential was handled; `false` if another pass
/// (maybe on another node) already did, so the caller must not send it again.
pub fn claim_reminder(
    conn: &mut DbConn,
    credential_id: &str,
    days_before: i32,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    let values = (
        credential_reminders::credential_id.eq(credential_id),
        credential_reminders::days_before.eq(days_before),
        credential_reminders::queued_at.eq(now),
    );
    let inserted = match conn {
        DbConn::Postgres(pg) => diesel::insert_into(credential_reminders::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(pg)?,
        DbConn::Sqlite(sqlite) => diesel::insert_into(credential_reminders::table)
            .values(values)
            .on_conflict_do_nothing()
            .execute(sqlite)?,
    };
    Ok(inserted == 1)
}

/// Vendor id and slug of a vendor (for resolving local DIDs and status lists).
pub fn vendor_id_by_slug(conn: &mut DbConn, slug: &str) -> QueryResult<Option<String>> {
    use crate::db::schema::vendors;
    vendors::table
        .filter(vendors::slug.eq(slug))
        .select(vendors::id)
        .first(conn)
        .optional()
}
