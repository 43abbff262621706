//! `credo keys`: the issuer signing keys of a vendor or of the instance.

use clap::{Args, Subcommand};

use crate::app::AppState;
use crate::audit::Actor;
use crate::config::Config;
use crate::db;

#[derive(Subcommand)]
pub(super) enum KeysCommand {
    /// Make a new key the vendor's (or, with --instance, the instance-level issuer's) active
    /// signing key; the old one stays in the DID document.
    Rotate(KeyOwnerArgs),
    /// List the keys (verification method ids, never private keys).
    List(KeyOwnerArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub(super) struct KeyOwnerArgs {
    /// The vendor's slug.
    #[arg(long)]
    vendor: Option<String>,
    /// The instance-level issuer `did:web:<host>` (published at /.well-known/did.json when
    /// `instance_issuer` is on).
    #[arg(long)]
    instance: bool,
}

pub(super) fn keys(config: Config, command: KeysCommand) -> Result<(), String> {
    use crate::credentials::service;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let ctx = state.issue_context();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let describe = |e: service::CredentialError| match e {
        service::CredentialError::NotFound(what) => format!("--vendor: {what} not found"),
        other => other.to_string(),
    };
    match command {
        KeysCommand::Rotate(owner) => {
            let key = db::transaction(&mut conn, |c| match &owner.vendor {
                Some(vendor) => {
                    let vendor = service::find_vendor_by_slug(c, vendor)?;
                    service::rotate_key(
                        c,
                        &ctx,
                        &vendor,
                        &Actor::operator_cli("credo keys rotate"),
                        now,
                    )
                }
                None => service::rotate_instance_key(c, &ctx, now),
            })
            .map_err(describe)?;
            println!(
                "new active key {} ({}); earlier keys stay in the DID document",
                key.verification_method, key.id
            );
            Ok(())
        }
        KeysCommand::List(owner) => {
            let keys = db::transaction(&mut conn, |c| match &owner.vendor {
                Some(vendor) => {
                    let vendor = service::find_vendor_by_slug(c, vendor)?;
                    service::list_keys(c, &ctx.links, &vendor)
                }
                None => service::list_instance_keys(c, &ctx.links),
            })
            .map_err(describe)?;
            if keys.is_empty() {
                println!(
                    "no keys yet: a vendor's first credential creates one; \
                     `credo keys rotate --instance` the instance's"
                );
            }
            for key in keys {
                let state = match &key.retired_at {
                    None => "active".to_string(),
                    Some(at) => format!("retired {at}"),
                };
                println!(
                    "{}  created {}  {}  {}",
                    key.id, key.created_at, state, key.verification_method
                );
            }
            Ok(())
        }
    }
}
