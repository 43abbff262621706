//! The `credo` command line. Flags and environment variables are the contract in API.md
//! (Operations); every command loads the same validated `Config`.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::AppState;
use crate::config::{Config, LogFormat, Overrides};
use crate::db;

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

#[derive(Subcommand)]
enum AdminCommand {
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
}

pub fn main() -> ExitCode {
    crate::install_crypto_provider();
    let cli = Cli::parse();
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
    if demo {
        tracing::warn!("--demo: demo data is not available in this build yet");
    }
    let listener = TcpListener::bind(bind).map_err(|e| format!("cannot listen on {bind}: {e}"))?;
    actix_web::rt::System::new().block_on(async move {
        let running = crate::server::start(state, listener).map_err(|e| e.to_string())?;
        tracing::info!(address = %running.addr, base_url = %base_url, "Credo is serving");
        println!("Credo is running at {base_url}");
        running.wait().await.map_err(|e| e.to_string())
    })
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

fn admin(config: Config, command: AdminCommand) -> Result<(), String> {
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
            let id = db::transaction(&mut conn, |c| {
                crate::accounts::create_verified_user(c, &email, password, &name, operator, now)
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
                let vendor = crate::accounts::create_vendor(c, &crate::accounts::VendorInput { slug, name, url }, now)?;
                crate::accounts::store::insert_member(c, &vendor.id, &owner.id, crate::accounts::VendorRole::Owner, now)?;
                Ok::<_, crate::accounts::AccountError>(vendor)
            })
            .map_err(describe_account_error)?;
            println!(
                "created vendor {} ({}) owned by {}",
                vendor.slug, vendor.name, owner_email
            );
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
