//! The `credo` command line. Flags and environment variables are the contract in API.md
//! (Operations); every command loads the same validated `Config`.

use std::io::Read;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::app::AppState;
use crate::audit::Actor;
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

#[derive(Subcommand)]
enum BankCommand {
    /// Check bank files without a database: every problem is printed as `file:line: question ID: message`.
    /// `.gift` files are checked as Moodle GIFT, `.zip` and `.xml` files as QTI. Exit status 0 when every file
    /// is valid, 1 otherwise.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Import TOML bank files for a vendor; each changed file becomes a new exam version. A `.gift` file
    /// or a QTI file (`.zip` package, `.xml` item) needs `--exam`.
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// The vendor's slug (the vendor must exist).
        #[arg(long)]
        vendor: String,
        /// For GIFT and QTI files: the slug of the exam the questions belong to.
        #[arg(long)]
        exam: Option<String>,
    },
    /// Import a Moodle GIFT file into an exam of a vendor (created with defaults when new).
    ImportGift {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
    },
    /// Import a QTI package (.zip) or item/test XML (QTI 3.0, 2.1/2.2, 1.2) into an exam of a vendor.
    ImportQti {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
    },
    /// Write a version of an exam (default: the latest) as a QTI 3.0 package that imports back unchanged.
    ExportQti {
        #[arg(long)]
        vendor: String,
        #[arg(long)]
        exam: String,
        /// The version number; default the latest.
        #[arg(long)]
        version: Option<i32>,
        /// Where to write the zip; default `<exam>-v<N>-qti.zip` in the current directory.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new key the vendor's (or, with --instance, the instance-level issuer's) active
    /// signing key; the old one stays in the DID document.
    Rotate(KeyOwnerArgs),
    /// List the keys (verification method ids, never private keys).
    List(KeyOwnerArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct KeyOwnerArgs {
    /// The vendor's slug.
    #[arg(long)]
    vendor: Option<String>,
    /// The instance-level issuer `did:web:<host>` (published at /.well-known/did.json when
    /// `instance_issuer` is on).
    #[arg(long)]
    instance: bool,
}

#[derive(Subcommand)]
enum AuditCommand {
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

#[derive(Args)]
struct VerifyArgs {
    /// The credential: a JSON file, or a baked badge image (PNG or SVG) carrying one.
    file: PathBuf,
    /// The issuer's DID document (e.g. saved from /issuers/<vendor>/did.json); repeatable.
    #[arg(long = "did", value_name = "FILE")]
    did: Vec<PathBuf>,
    /// A status list credential the credential refers to (saved from /status/…); repeatable.
    #[arg(long = "status-list", value_name = "FILE")]
    status_list: Vec<PathBuf>,
    /// Print the result as JSON (the same shape as `POST /api/v1/verify`).
    #[arg(long)]
    json: bool,
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

fn audit(config: Config, command: AuditCommand) -> Result<(), String> {
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

fn keys(config: Config, command: KeysCommand) -> Result<(), String> {
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

/// `credo verify`: the verification engine with a resolver made only of the given files.
fn verify_offline(args: &VerifyArgs) -> ExitCode {
    use crate::credentials::{verify_credential, StaticResolver};
    let read = |path: &PathBuf| -> Result<serde_json::Value, String> {
        let text = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        serde_json::from_slice(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))
    };
    let setup = || -> Result<(serde_json::Value, StaticResolver), String> {
        let file = args.file.display();
        let bytes = std::fs::read(&args.file).map_err(|e| format!("{file}: {e}"))?;
        // A baked badge image (PNG or SVG) carries the credential: verify that.
        let credential = match crate::badges::credential_in_image(&bytes)
            .map_err(|e| format!("{file}: {e}"))?
        {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| format!("{file}: the baked credential is not JSON: {e}"))?,
            None => serde_json::from_slice(&bytes).map_err(|e| format!("{file}: not JSON: {e}"))?,
        };
        let mut resolver = StaticResolver::new();
        for path in &args.did {
            resolver
                .add_did_document(read(path)?)
                .map_err(|e| format!("{}: not a usable DID document: {e}", path.display()))?;
        }
        for path in &args.status_list {
            resolver
                .add_status_list(read(path)?)
                .map_err(|e| format!("{}: not a usable status list: {e}", path.display()))?;
        }
        Ok((credential, resolver))
    };
    let (credential, resolver) = match setup() {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("credo verify: {message}");
            return ExitCode::from(2);
        }
    };
    let result = verify_credential(&credential, &resolver, chrono::Utc::now());
    if args.json {
        let answer = serde_json::json!({
            "verified": result.verified(),
            "status": result.status,
            "checks": result.checks,
            "warnings": result.warnings,
        });
        println!("{answer:#}");
    } else {
        for check in &result.checks {
            let mark = if check.ok { "ok  " } else { "FAIL" };
            let name = serde_json::to_value(check.name)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            println!("[{mark}] {name}: {}", check.detail);
        }
        let status = serde_json::to_value(result.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        println!("status: {status}");
        for warning in &result.warnings {
            println!("warning: {warning}");
        }
    }
    if result.verified() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

fn has_extension(path: &std::path::Path, wanted: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| wanted.iter().any(|w| e.eq_ignore_ascii_case(w)))
}

fn is_gift(path: &std::path::Path) -> bool {
    has_extension(path, &["gift"])
}

/// QTI by extension (`.zip`, `.xml`), or by content (a zip archive, an XML root) when not GIFT.
fn is_qti(path: &std::path::Path, bytes: &[u8]) -> bool {
    !is_gift(path) && (has_extension(path, &["zip", "xml"]) || crate::exams::looks_like_qti(bytes))
}

/// `credo bank validate FILE…`: prints every problem of every file; exit 1 when any file is invalid.
fn bank_validate(files: &[PathBuf]) -> ExitCode {
    use crate::exams::service;
    let mut invalid = 0usize;
    for path in files {
        let name = path.display().to_string();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("{name}: cannot read the file: {e}");
                invalid += 1;
                continue;
            }
        };
        let qti = is_qti(path, &bytes);
        let text = String::from_utf8_lossy(&bytes);
        if qti || is_gift(path) {
            let parsed = if qti {
                crate::exams::parse_qti(&name, &bytes)
            } else {
                crate::exams::parse_gift(&name, &text)
            };
            let checked =
                parsed.and_then(|import| service::imported_bank(&name, "exam", import, None));
            match checked {
                Ok((bank, warnings)) => {
                    for warning in &warnings {
                        println!("{}", warning_line(warning));
                    }
                    println!(
                        "{name}: ok: {} question(s) in {} domain(s), {} warning(s) (skipped or adjusted questions, text that gives answers away)",
                        bank.questions.len(),
                        bank.domains.len(),
                        warnings.len()
                    );
                }
                Err(errors) => {
                    invalid += 1;
                    println!("{errors}");
                    println!("{name}: {} problem(s)", errors.errors.len());
                }
            }
            continue;
        }
        match service::validate_bank_file(&name, &text) {
            Ok((bank, warnings)) => {
                for warning in &warnings {
                    println!("{}", warning_line(warning));
                }
                println!(
                    "{name}: ok: exam {} \"{}\", {} question(s) in {} domain(s), {} per form, {} warning(s)",
                    bank.exam.slug,
                    bank.exam.title,
                    bank.questions.len(),
                    bank.domains.len(),
                    bank.domains
                        .iter()
                        .map(|d| d.questions_per_form)
                        .sum::<u32>(),
                    warnings.len()
                )
            }
            Err(errors) => {
                invalid += 1;
                println!("{errors}");
                println!("{name}: {} problem(s)", errors.errors.len());
            }
        }
    }
    if invalid == 0 {
        ExitCode::SUCCESS
    } else {
        if files.len() > 1 {
            println!("{invalid} of {} file(s) are not valid", files.len());
        }
        ExitCode::FAILURE
    }
}

fn warning_line(warning: &crate::exams::BankError) -> String {
    match &warning.question_id {
        Some(id) => format!(
            "{}:{}: question {}: warning: {}",
            warning.file, warning.line, id, warning.message
        ),
        None => format!(
            "{}:{}: warning: {}",
            warning.file, warning.line, warning.message
        ),
    }
}

fn bank(config: Config, command: BankCommand) -> Result<(), String> {
    use std::io::Write;

    use crate::exams::service::{self, BankSource};
    /// What `credo bank import*` was told the files are.
    #[derive(PartialEq)]
    enum Forced {
        ByName,
        Gift,
        Qti,
    }
    let (files, vendor_slug, exam, forced) = match command {
        BankCommand::Validate { .. } => return Ok(()),
        BankCommand::ExportQti {
            vendor,
            exam,
            version,
            out,
        } => return export_qti(config, &vendor, &exam, version, out),
        BankCommand::Import {
            files,
            vendor,
            exam,
        } => (files, vendor, exam, Forced::ByName),
        BankCommand::ImportGift { file, vendor, exam } => {
            (vec![file], vendor, Some(exam), Forced::Gift)
        }
        BankCommand::ImportQti { file, vendor, exam } => {
            (vec![file], vendor, Some(exam), Forced::Qti)
        }
    };
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let vendor = crate::accounts::store::find_vendor_by_slug(&mut conn, &vendor_slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "there is no vendor `{vendor_slug}`; create it with `credo admin create-vendor`"
            )
        })?;
    let total = files.len();
    let mut failed = 0usize;
    let mut stdout = std::io::stdout();
    for (index, path) in files.iter().enumerate() {
        let name = path.display().to_string();
        let step = format!("[{}/{total}] {name}", index + 1);
        let started = std::time::Instant::now();
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                println!("{step}: cannot read the file: {e}");
                failed += 1;
                continue;
            }
        };
        println!(
            "{step}: read {} kB; validating…",
            bytes.len().div_ceil(1024)
        );
        let _ = stdout.flush();
        let qti = forced == Forced::Qti || (forced == Forced::ByName && is_qti(path, &bytes));
        let gift = forced == Forced::Gift || (forced == Forced::ByName && is_gift(path));
        let text = String::from_utf8_lossy(&bytes);
        if (qti || gift) && exam.is_none() {
            println!(
                "{step}: a GIFT or QTI file needs --exam <slug> (the exam its questions belong to)"
            );
            failed += 1;
            continue;
        }
        let exam = exam.as_deref().unwrap_or_default();
        let source = if qti {
            BankSource::Qti {
                name: &name,
                bytes: &bytes,
                exam_slug: exam,
            }
        } else if gift {
            BankSource::Gift {
                name: &name,
                text: &text,
                exam_slug: exam,
            }
        } else {
            if let Ok((bank, _)) = service::validate_bank_file(&name, &text) {
                println!(
                    "{step}: {} question(s) in {} domain(s) are valid; storing…",
                    bank.questions.len(),
                    bank.domains.len()
                );
                let _ = stdout.flush();
            }
            BankSource::Toml {
                name: &name,
                text: &text,
            }
        };
        let now = state.clock.now();
        let actor = Actor::operator_cli("credo bank import");
        let imported = db::transaction(&mut conn, |c| {
            service::import_bank(c, &vendor, &source, true, &actor, now)
        });
        match imported {
            Ok(outcome) => {
                for warning in &outcome.warnings {
                    println!("{}", warning_line(warning));
                }
                let verb = if outcome.created {
                    "stored as new version"
                } else {
                    "unchanged: same content as version"
                };
                println!(
                    "{step}: exam {}/{} {verb} {} ({} question(s), {} per form) in {} ms",
                    outcome.vendor,
                    outcome.exam,
                    outcome.version,
                    outcome.questions,
                    outcome.questions_per_form,
                    started.elapsed().as_millis()
                );
            }
            Err(crate::exams::ExamError::Bank(errors)) => {
                failed += 1;
                println!("{errors}");
                println!("{step}: not imported: {} problem(s)", errors.errors.len());
            }
            Err(crate::exams::ExamError::Validation(errors)) => {
                failed += 1;
                for error in errors {
                    println!("{step}: --{}: {}", error.field, error.message);
                }
            }
            Err(other) => {
                failed += 1;
                println!("{step}: not imported: {other}");
            }
        }
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(format!("{failed} of {total} file(s) were not imported"))
    }
}

/// `credo bank export-qti`: writes a version of an exam as a QTI 3.0 package.
fn export_qti(
    config: Config,
    vendor_slug: &str,
    exam_slug: &str,
    version: Option<i32>,
    out: Option<PathBuf>,
) -> Result<(), String> {
    use crate::exams::service;
    let state = AppState::open(config).map_err(|e| e.to_string())?;
    let mut conn = state.pool.get().map_err(|e| e.to_string())?;
    let vendor = crate::accounts::store::find_vendor_by_slug(&mut conn, vendor_slug)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("there is no vendor `{vendor_slug}`"))?;
    let exam = service::vendor_exam(&mut conn, &vendor.id, exam_slug)
        .map_err(|e| format!("exam `{exam_slug}` of vendor `{vendor_slug}`: {e}"))?;
    let (file_name, bytes) =
        service::export_qti(&mut conn, &exam, version).map_err(|e| e.to_string())?;
    let path = out.unwrap_or_else(|| PathBuf::from(file_name));
    std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    println!(
        "{}: QTI 3.0 package of {}/{} ({} kB)",
        path.display(),
        vendor_slug,
        exam_slug,
        bytes.len().div_ceil(1024)
    );
    Ok(())
}
