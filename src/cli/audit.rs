//! `credo audit`: the audit trail, a page at a time or as CSV.

use clap::Subcommand;

use crate::app::AppState;
use crate::config::Config;

#[derive(Subcommand)]
pub(super) enum AuditCommand {
    /// Print the trail newest first, one act per line (or all of it as CSV with `--csv`).
    List {
        /// Only this vendor's acts (default: the whole site).
        #[arg(long)]
        vendor: Option<String>,
        /// The page to print (1 is the newest).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i64).range(1..))]
        page: i64,
        /// Acts per page.
        #[arg(long, default_value_t = crate::audit::PAGE_SIZE, value_parser = clap::value_parser!(i64).range(1..=1000))]
        limit: i64,
        /// Print the whole trail as CSV instead.
        #[arg(long)]
        csv: bool,
    },
}

pub(super) fn audit(config: Config, command: AuditCommand) -> Result<(), String> {
    let AuditCommand::List {
        vendor,
        page,
        limit,
        csv,
    } = command;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let vendor_id = match vendor {
        None => None,
        Some(slug) => Some(
            crate::accounts::store::find_vendor_by_slug(&mut conn, &slug)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("--vendor: no vendor has the slug `{slug}`"))?
                .id,
        ),
    };
    if csv {
        let text = crate::audit::csv(&mut conn, vendor_id.as_deref()).map_err(|e| e.to_string())?;
        print!("{text}");
        return Ok(());
    }
    let trail = crate::audit::read_page(&mut conn, vendor_id.as_deref(), page, limit)
        .map_err(|e| e.to_string())?;
    for e in &trail.events {
        println!(
            "{}  {}  {} ({}{}){}  {} {}  {}",
            e.at,
            e.action,
            e.actor_display,
            e.actor_kind,
            e.actor_id
                .as_deref()
                .map(|id| format!(" {id}"))
                .unwrap_or_default(),
            e.client_address
                .as_deref()
                .map(|a| format!(" from {a}"))
                .unwrap_or_default(),
            e.subject_type,
            e.subject_id,
            e.details
        );
    }
    println!(
        "page {} of {} ({} act(s) in all)",
        trail.page,
        trail.pages.max(1),
        trail.total
    );
    Ok(())
}
