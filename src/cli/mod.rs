//! The `credo` command line. Flags and environment variables are the contract in API.md
//! (Operations); every command loads the same validated `Config`.

mod admin;
mod audit;
mod bank;
mod keys;
mod verify;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::AppState;
use crate::config::{Config, LogFormat, Overrides};
use crate::db;

use admin::{admin, AdminCommand};
use audit::{audit, AuditCommand};
use bank::{bank, bank_validate, BankCommand};
use keys::{keys, KeysCommand};
use verify::{verify_offline, VerifyArgs};

#[derive(Parser)]
#[command(
    name = "credo",
    version,
    about = "Certification exams, signed credentials and advocate programs"
)]
struct Cli {
    /// TOML config file (settings as in the README; environment and flags override it).
    #[arg(long, global = true, env = "CREDO_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory: SQLite file, local master key, mail files.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// `postgres://…` or `sqlite://PATH` (default: SQLite in the data directory).
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web service and background jobs.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administration: users and vendors.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Exam banks: check files, import them for a vendor.
    #[command(subcommand)]
    Bank(BankCommand),
    /// Issuer signing keys of a vendor.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// The audit trail of privileged acts (who, when, what, from where).
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Verify a credential offline, from files only (no database, no network).
    /// Exit status: 0 valid, 1 not valid, 2 usage or I/O error.
    Verify(VerifyArgs),
    /// Seed demo data into an empty database and exit (a vendor with the real exam banks, its
    /// staff, a certified advocate with commissions); prints the demo logins. `credo serve
    /// --demo` does the same on its first start, then serves.
    Demo(DemoArgs),
}

#[derive(Args)]
struct DemoArgs {
    /// The address `credo serve` will listen on (the default public base URL derives from it).
    #[arg(long)]
    bind: Option<String>,
    /// The public base URL `credo serve` will use: the demo credentials are signed for it.
    #[arg(long)]
    base_url: Option<String>,
}

#[derive(Args)]
struct ServeArgs {
    /// Listen address.
    #[arg(long)]
    bind: Option<String>,
    /// Public base URL, used in links and did:web identifiers.
    #[arg(long)]
    base_url: Option<String>,
    /// Outgoing mail server (`smtp://host:port`, `smtps://user:pass@host:465`, `?tls=starttls`).
    #[arg(long)]
    smtp_url: Option<String>,
    /// Seed demo data when the database is empty.
    #[arg(long)]
    demo: bool,
}

pub fn main() -> ExitCode {
    crate::install_crypto_provider();
    let cli = Cli::parse();
    if let Command::Verify(args) = &cli.command {
        return verify_offline(args);
    }
    // Validating bank files needs no configuration and no database.
    if let Command::Bank(BankCommand::Validate { files }) = &cli.command {
        return bank_validate(files);
    }
    let mut overrides = Overrides {
        config_file: cli.config.clone(),
        data_dir: cli.data_dir.clone(),
        database_url: cli.database_url.clone(),
        ..Default::default()
    };
    if let Command::Serve(args) = &cli.command {
        overrides.bind = args.bind.clone();
        overrides.base_url = args.base_url.clone();
        overrides.smtp_url = args.smtp_url.clone();
    }
    if let Command::Demo(args) = &cli.command {
        overrides.bind = args.bind.clone();
        overrides.base_url = args.base_url.clone();
    }
    let config = match Config::load(&overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("credo: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(config.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve(config, args.demo),
        Command::Migrate => migrate(&config),
        Command::Admin(command) => admin(config, command),
        Command::Keys(command) => keys(config, command),
        Command::Audit(command) => audit(config, command),
        Command::Verify(_) => unreachable!("handled before loading the configuration"),
        Command::Bank(command) => bank(config, command),
        Command::Demo(_) => demo(config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("credo: {message}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("CREDO_LOG")
        .or_else(|_| EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn serve(config: Config, demo: bool) -> Result<(), String> {
    let bind = config.bind;
    let base_url = config.base_url.clone();
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let demo_summary = if demo { seed_for_serve(&state)? } else { None };
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    actix_web::rt::System::new().block_on(async move {
        let running = crate::server::start(state, listener).map_err(|e| e.to_string())?;
        tracing::info!(address = %running.addr, base_url = %base_url, "Credo is serving");
        println!("Credo is running at {base_url}");
        if let Some(summary) = demo_summary {
            print!("{summary}");
        }
        running.wait().await.map_err(|e| e.to_string())
    })
}

/// `serve --demo`: seeds an empty database and returns the summary to print once serving; a
/// database with accounts is served as it is.
fn seed_for_serve(state: &AppState) -> Result<Option<String>, String> {
    use crate::demo::{seed_if_empty, summary, Outcome};
    match seed_if_empty(state) {
        Ok(Outcome::Seeded(seeded)) => {
            tracing::info!("demo data seeded");
            Ok(Some(summary(&seeded)))
        }
        Ok(Outcome::NotEmpty { users }) => {
            tracing::info!(
                users,
                "--demo: the database has accounts already (demo data exists or this is a real \
                 deployment); nothing was seeded"
            );
            println!(
                "--demo: the database already has {users} account(s), so no demo data was added \
                 (the demo logins are listed in README.md)."
            );
            Ok(None)
        }
        Err(error) => {
            // Another node starting with --demo on the same database may have seeded it first.
            let users = state
                .pool
                .get()
                .ok()
                .and_then(|mut c| crate::accounts::store::count_users(&mut c).ok())
                .unwrap_or(0);
            if users > 0 {
                tracing::warn!(%error, users, "--demo: seeding failed but the database has accounts now (another node seeded it); serving");
                Ok(None)
            } else {
                Err(format!("{error}. Fix the cause and start again: the database is still empty, so --demo will seed it."))
            }
        }
    }
}

/// `credo demo`: seeds an empty database and exits; refuses a database with accounts.
fn demo(config: Config) -> Result<(), String> {
    use crate::demo::{seed_if_empty, summary, Outcome};
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    match seed_if_empty(&state).map_err(|e| e.to_string())? {
        Outcome::Seeded(seeded) => {
            print!("{}", summary(&seeded));
            println!(
                "Start it with `credo serve` (same data directory or database URL, and the same \
                 base URL: the demo certificates are signed for it)."
            );
            Ok(())
        }
        Outcome::NotEmpty { users } => Err(format!(
            "the database already has {users} account(s); `credo demo` seeds only an empty \
             database. Use a new --data-dir or --database-url, or run `credo serve --demo`, \
             which serves existing data as it is."
        )),
    }
}

fn migrate(config: &Config) -> Result<(), String> {
    let pool =
        db::connect(&config.database, 1, config.sqlite_synchronous).map_err(|e| e.to_string())?;
    // `connect` already applied pending migrations; report the state.
    let mut conn = pool.get().map_err(|e| e.to_string())?;
    let applied = db::run_migrations(&mut conn).map_err(|e| e.to_string())?;
    println!(
        "database is up to date ({} migration(s) were pending)",
        applied.len()
    );
    Ok(())
}
