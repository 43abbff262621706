//! `credo admin`: accounts and vendors.

use std::io::Read;

use clap::Subcommand;

use crate::app::AppState;
use crate::audit::Actor;
use crate::config::Config;
use crate::db;

#[derive(Subcommand)]
pub(super) enum AdminCommand {
    /// Create a verified account; the password is read from standard input.
    CreateUser {
        #[arg(long)]
        email: String,
        /// Name shown on certificates (default: the part of the address before '@').
        #[arg(long)]
        name: Option<String>,
        /// Make the account an operator (creates vendors, sees everything).
        #[arg(long)]
        operator: bool,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Create a vendor and make an existing account its owner.
    CreateVendor {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        /// The vendor's web site.
        #[arg(long, default_value = "https://example.com")]
        url: String,
    },
    /// Disable an account: it can no longer sign in; its sessions and API keys end at once.
    DisableAccount {
        /// The account's e-mail address (or id).
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again (revoked sessions and API keys stay revoked).
    EnableAccount {
        /// The account's e-mail address (or id).
        #[arg(long)]
        email: String,
    },
}

pub(super) fn admin(config: Config, command: AdminCommand) -> Result<(), String> {
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let now = state.clock.now();
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    match command {
        AdminCommand::CreateUser {
            email,
            name,
            operator,
            password_stdin: _,
        } => {
            let mut password = String::new();
            std::io::stdin()
                .read_to_string(&mut password)
                .map_err(|e| format!("reading the password from standard input: {e}"))?;
            let password = password.trim_end_matches(['\r', '\n']);
            let name = name.unwrap_or_else(|| email.split('@').next().unwrap_or("").to_string());
            // Hashed before the transaction, so no write lock waits on argon2.
            let password = crate::accounts::password::hash(password)
                .map_err(|e| describe_account_error(e.into()))?;
            let id = db::transaction(&mut conn, |c| {
                crate::accounts::create_verified_user(c, &email, &password, &name, operator, now)
            })
            .map_err(describe_account_error)?;
            println!(
                "created user {id} <{}>{}",
                email.trim().to_lowercase(),
                if operator { " (operator)" } else { "" }
            );
            Ok(())
        }
        AdminCommand::CreateVendor {
            slug,
            name,
            owner_email,
            url,
        } => {
            let vendor = db::transaction(&mut conn, |c| {
                let owner = crate::accounts::store::find_user_by_email(c, &owner_email.trim().to_lowercase())?
                    .ok_or_else(|| {
                        crate::accounts::AccountError::Validation(crate::validation::field_error(
                            "owner-email",
                            "no account uses this address; create it with `credo admin create-user` first",
                        ))
                    })?;
                let actor = Actor::operator_cli("credo admin create-vendor");
                let vendor = crate::accounts::create_vendor(c, &crate::accounts::VendorInput { slug, name, url }, &actor, now)?;
                let owner = crate::accounts::MemberInput { email: owner.email, role: "owner".into() };
                crate::accounts::add_member(c, &vendor, &owner, &actor, now)?;
                Ok::<_, crate::accounts::AccountError>(vendor)
            })
            .map_err(describe_account_error)?;
            println!(
                "created vendor {} ({}) owned by {}",
                vendor.slug, vendor.name, owner_email
            );
            Ok(())
        }
        AdminCommand::DisableAccount { email } => {
            let user = db::transaction(&mut conn, |c| {
                let actor = Actor::operator_cli("credo admin disable-account");
                crate::accounts::disable_account(c, &actor, &email, now)
            })
            .map_err(describe_account_error)?;
            println!(
                "disabled {} <{}>: signed out everywhere, its API keys revoked",
                user.id, user.email
            );
            Ok(())
        }
        AdminCommand::EnableAccount { email } => {
            let user = db::transaction(&mut conn, |c| {
                let actor = Actor::operator_cli("credo admin enable-account");
                crate::accounts::enable_account(c, &actor, &email, now)
            })
            .map_err(describe_account_error)?;
            println!("enabled {} <{}>", user.id, user.email);
            Ok(())
        }
    }
}

fn describe_account_error(e: crate::accounts::AccountError) -> String {
    match e {
        crate::accounts::AccountError::Validation(errors) => errors
            .iter()
            .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
            .collect::<Vec<_>>()
            .join("\n"),
        other => other.to_string(),
    }
}
