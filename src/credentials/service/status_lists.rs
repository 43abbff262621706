//! Status lists: re-signing a list, and claiming a random free slot in the vendor's newest one.

use chrono::NaiveDateTime;
use url::Url;

use super::{CredentialError, IssueContext, LIST_CAPACITY, LIST_SIZE};
use crate::accounts::Vendor;
use crate::credentials::keys::IssuerKey;
use crate::credentials::status_list::{self, Bitstring};
use crate::credentials::store::{self, ListSlots};
use crate::db::{self, is_unique_violation, new_id, DbConn};

fn ttl_ms(ctx: &IssueContext) -> u64 {
    u64::from(ctx.status_list_ttl_seconds) * 1000
}

pub(super) fn signed_list(
    ctx: &IssueContext,
    vendor: &Vendor,
    key: &IssuerKey,
    number: i32,
    bits: &Bitstring,
    now: NaiveDateTime,
) -> Result<String, CredentialError> {
    let url = Url::parse(&ctx.links.status_list(&vendor.slug, number))
        .map_err(|e| CredentialError::Internal(format!("status list URL: {e}")))?;
    let unsigned = status_list::status_list_credential(
        &url,
        key.did(),
        &vendor.name,
        now.and_utc(),
        Some(ttl_ms(ctx)),
        bits,
    )?;
    let signed = key
        .sign(&unsigned, now.and_utc())
        .map_err(|e| CredentialError::Internal(format!("signing the status list: {e}")))?;
    Ok(signed.to_string())
}

/// A status list with a slot claimed for one new credential: the newest list while it has
/// room, else a new one.
pub(super) fn claim_list_slot(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
    key: &IssuerKey,
    now: NaiveDateTime,
) -> Result<ListSlots, CredentialError> {
    for _ in 0..8 {
        let latest = store::latest_list(conn, &vendor.id)?;
        let list = match latest {
            Some(list) if list.allocated < LIST_CAPACITY => list,
            other => {
                let number = other.map_or(1, |l| l.number + 1);
                let bits = Bitstring::new(LIST_SIZE as usize)?;
                let credential = signed_list(ctx, vendor, key, number, &bits, now)?;
                let id = new_id();
                let inserted = db::transaction(conn, |c| {
                    store::insert_list(
                        c,
                        &id,
                        &vendor.id,
                        number,
                        LIST_SIZE,
                        bits.as_bytes(),
                        &credential,
                        now,
                    )
                });
                match inserted {
                    Ok(()) => {}
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e.into()),
                }
                match store::find_list_slots(conn, &vendor.id, number)? {
                    Some(list) => list,
                    None => continue,
                }
            }
        };
        if store::claim_slot(conn, &list.id, LIST_CAPACITY)? {
            return Ok(list);
        }
    }
    Err(CredentialError::Conflict(
        "could not find room in a status list; try again".into(),
    ))
}
