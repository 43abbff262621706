//! One `Config`, read from an optional TOML file, then `CREDO_*` environment variables, then
//! command-line flags (each layer overrides the one before), and validated once at start.
//! Every error names the setting and where it came from.

mod mail;
#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::Deserialize;
use url::Url;

use ipnet::IpNet;

use crate::db::{DatabaseTarget, SqliteSync};
use crate::ratelimit::LimitSettings;

use mail::parse_smtp_url;
pub use mail::{MailConfig, MailTransport, SmtpConfig, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("could not read the config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    ParseFile { path: PathBuf, message: String },
    #[error("setting `{key}` ({origin}): {message}")]
    Invalid {
        key: String,
        origin: String,
        message: String,
    },
}

/// Declares the raw `Settings` (as written by people: every field optional, unknown fields
/// refused) and `SETTINGS`, the names the environment is read for, from one list: a new setting is
/// one line here (and its use in [`Config::validate`]). `Text` values are taken from the
/// environment as they are; `Value` ones are read as TOML (numbers, booleans, arrays).
macro_rules! settings {
    ($($name:ident: $type:ty = $kind:ident,)*) => {
        /// Raw settings as written by people: every field optional, unknown fields refused.
        #[derive(Debug, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Settings {
            $($name: Option<$type>,)*
        }

        /// Names of the settings, as used in the TOML file and (upper-cased, `CREDO_` prefix) in
        /// the environment, with how an environment value is read.
        const SETTINGS: &[(&str, EnvKind)] = &[$((stringify!($name), EnvKind::$kind),)*];
    };
}

/// How a `CREDO_*` environment value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EnvKind {
    /// As the text it is.
    Text,
    /// As a TOML value, so that `CREDO_POOL_SIZE=4` and `CREDO_REMINDER_DAYS=[30,7]` work.
    Value,
}

settings! {
    bind: String = Text,
    data_dir: PathBuf = Text,
    database_url: String = Text,
    base_url: String = Text,
    smtp_url: String = Text,
    mail_from: String = Text,
    master_key: String = Text,
    log_format: LogFormat = Text,
    pool_size: u32 = Value,
    sqlite_synchronous: SqliteSync = Text,
    session_hours: u32 = Value,
    session_cache_ms: u64 = Value,
    login_attempts_per_minute: u32 = Value,
    registrations_per_hour: u32 = Value,
    reminder_days: Vec<u32> = Value,
    resolve_remote_dids: bool = Value,
    instance_issuer: bool = Value,
    job_interval_ms: u64 = Value,
    mail_retry_base_ms: u64 = Value,
    webhook_retry_base_ms: u64 = Value,
    webhook_retry_hours: u32 = Value,
    webhook_allow_http: bool = Value,
    webhook_allow_private: bool = Value,
    status_list_ttl_seconds: u32 = Value,
    stats_min_attempts: u32 = Value,
    verify_proof_cache_entries: u32 = Value,
    click_flush_ms: u64 = Value,
    rate_limit_login_per_minute: u32 = Value,
    rate_limit_login_account_per_minute: u32 = Value,
    rate_limit_register_per_hour: u32 = Value,
    rate_limit_public_work_per_minute: u32 = Value,
    rate_limit_verify_per_minute: u32 = Value,
    rate_limit_verify_api_key_per_minute: u32 = Value,
    rate_limit_redirect_per_minute: u32 = Value,
    rate_limit_mail_recipient_per_hour: u32 = Value,
    trusted_proxies: CidrList = Text,
    metrics_allow: CidrList = Text,
    metrics_token: String = Text,
}

/// A CIDR list as one string (`"10.0.0.0/8, ::1"`, as in the environment) or a TOML array.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum CidrList {
    Text(String),
    List(Vec<String>),
}

impl CidrList {
    fn parse(self) -> Result<Vec<ipnet::IpNet>, String> {
        match self {
            CidrList::Text(text) => crate::net::parse_cidrs(&text),
            CidrList::List(items) => crate::net::parse_cidrs(&items.join(",")),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

/// Values given on the command line; `None` means "not given".
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub bind: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub base_url: Option<String>,
    pub smtp_url: Option<String>,
}

/// Validated configuration used by every part of the service.
#[derive(Clone)]
pub struct Config {
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseTarget,
    pub base_url: Url,
    pub mail: MailConfig,
    /// Hex or base64 master key from the config; `None` = a key file in the data dir.
    pub master_key: Option<String>,
    pub log_format: LogFormat,
    pub pool_size: u32,
    pub sqlite_synchronous: SqliteSync,
    pub session_hours: u32,
    /// A session checked against the database is believed this long without reading it again
    /// on this node; revocations made on this node hold at once, others within this bound.
    pub session_cache: std::time::Duration,
    pub limits: LimitSettings,
    /// Peers whose `Forwarded`/`X-Forwarded-For` headers are believed (load balancers).
    pub trusted_proxies: Vec<IpNet>,
    /// Addresses that may read `/metrics` without a token.
    pub metrics_allow: Vec<IpNet>,
    /// Bearer token that opens `/metrics` from anywhere.
    pub metrics_token: Option<String>,
    pub reminder_days: Vec<u32>,
    pub resolve_remote_dids: bool,
    /// Publish the instance-level issuer `did:web:<host>` at `/.well-known/did.json` (keys made
    /// with `credo keys rotate --instance`), for operators who issue under their own name.
    pub instance_issuer: bool,
    pub job_interval_ms: u64,
    /// First retry delay of a failed mail; each further retry waits twice as long (max 1 h).
    pub mail_retry_base_ms: u64,
    /// Outbound webhooks: first retry delay (doubling up to 1 h), how long to keep retrying,
    /// and whether `http://` and private or loopback targets are allowed (tests, development).
    pub webhooks: WebhookSettings,
    pub status_list_ttl_seconds: u32,
    /// Item statistics of a version with fewer graded attempts are marked "too few attempts"
    /// (flags and reliability are noise on small samples); 0 marks none.
    pub stats_min_attempts: u32,
    /// How many verified proofs `POST /api/v1/verify` remembers (0: none).
    pub verify_proof_cache_entries: u32,
    /// Referral clicks are buffered and written in batches this often (group commit); 0 writes
    /// each click in its own transaction before redirecting.
    pub click_flush_ms: u64,
}

impl std::fmt::Debug for Config {
    // Written by hand so the master key and SMTP password can never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database)
            .field("base_url", &self.base_url.as_str())
            .field("mail", &self.mail)
            .field("master_key", &self.master_key.as_ref().map(|_| "…"))
            .field("log_format", &self.log_format)
            .field("pool_size", &self.pool_size)
            .field("limits", &self.limits)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "…"))
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookSettings {
    pub retry_base_ms: u64,
    pub retry_hours: u32,
    pub allow_http: bool,
    pub allow_private: bool,
}

impl Config {
    /// Reads the file named by `--config`/`CREDO_CONFIG` (if any), the environment and the flags.
    pub fn load(overrides: &Overrides) -> Result<Self, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(overrides, &env)
    }

    /// Like [`Config::load`] with an explicit environment (tests).
    pub fn load_from(overrides: &Overrides, env: &[(String, String)]) -> Result<Self, ConfigError> {
        let mut table = toml::Table::new();
        let mut origins: std::collections::HashMap<String, String> = Default::default();

        let file = overrides.config_file.clone().or_else(|| {
            env.iter()
                .find(|(k, _)| k == "CREDO_CONFIG")
                .map(|(_, v)| PathBuf::from(v))
        });
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::ReadFile {
                path: path.clone(),
                source,
            })?;
            let file_table: toml::Table =
                toml::from_str(&text).map_err(|e| ConfigError::ParseFile {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            for (key, value) in file_table {
                origins.insert(key.clone(), format!("config file {}", path.display()));
                table.insert(key, value);
            }
        }

        for &(name, kind) in SETTINGS {
            let var = format!("CREDO_{}", name.to_uppercase());
            // The last definition wins, as when a shell exports a variable twice.
            if let Some((_, raw)) = env.iter().rev().find(|(k, _)| *k == var) {
                table.insert(name.to_string(), env_value(kind, raw));
                origins.insert(name.to_string(), format!("environment {var}"));
            }
        }

        let flags = [
            ("bind", "--bind", overrides.bind.clone()),
            (
                "data_dir",
                "--data-dir",
                overrides
                    .data_dir
                    .as_ref()
                    .map(|p| p.to_string_lossy().into_owned()),
            ),
            (
                "database_url",
                "--database-url",
                overrides.database_url.clone(),
            ),
            ("base_url", "--base-url", overrides.base_url.clone()),
            ("smtp_url", "--smtp-url", overrides.smtp_url.clone()),
        ];
        for (name, flag, value) in flags {
            if let Some(value) = value {
                table.insert(name.to_string(), toml::Value::String(value));
                origins.insert(name.to_string(), format!("flag {flag}"));
            }
        }

        let origin_of = |key: &str| {
            origins
                .get(key)
                .cloned()
                .unwrap_or_else(|| "default".to_string())
        };

        let settings: Settings = serde_path_to_error::deserialize(toml::Value::Table(table))
            .map_err(|e| {
                let key = e.path().to_string();
                let key = if key == "." {
                    "config".to_string()
                } else {
                    key
                };
                ConfigError::Invalid {
                    origin: origin_of(&key),
                    message: e.into_inner().message().to_string(),
                    key,
                }
            })?;
        Self::validate(settings, &origin_of)
    }

    fn validate(s: Settings, origin_of: &dyn Fn(&str) -> String) -> Result<Self, ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            key: key.to_string(),
            origin: origin_of(key),
            message,
        };

        let bind_text = s.bind.unwrap_or_else(|| "127.0.0.1:8080".to_string());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            invalid(
                "bind",
                format!("`{bind_text}` is not an address like 127.0.0.1:8080"),
            )
        })?;

        let data_dir = s.data_dir.unwrap_or_else(|| PathBuf::from("./data"));
        if data_dir.as_os_str().is_empty() {
            return Err(invalid("data_dir", "must not be empty".into()));
        }

        let database = match s.database_url {
            Some(url) => {
                DatabaseTarget::parse(&url).map_err(|e| invalid("database_url", e.to_string()))?
            }
            None => DatabaseTarget::Sqlite(data_dir.join("credo.db")),
        };

        let base_text = s.base_url.unwrap_or_else(|| format!("http://{bind}"));
        let base_url = Url::parse(&base_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                invalid(
                    "base_url",
                    format!("`{base_text}` is not an http(s) URL like https://credo.example.com"),
                )
            })?;
        if base_url.path() != "/" || base_url.query().is_some() {
            return Err(invalid(
                "base_url",
                "must be the site root, without a path or query (did:web identifiers are derived from it)"
                    .into(),
            ));
        }

        let transport = match s.smtp_url {
            None => MailTransport::Files(data_dir.join("mail")),
            Some(url) => {
                MailTransport::Smtp(parse_smtp_url(&url).map_err(|m| invalid("smtp_url", m))?)
            }
        };
        let from = s.mail_from.unwrap_or_else(|| {
            format!(
                "Credo <no-reply@{}>",
                base_url.host_str().unwrap_or("localhost")
            )
        });
        if from.parse::<lettre::message::Mailbox>().is_err() {
            return Err(invalid(
                "mail_from",
                format!("`{from}` is not a mailbox like `Credo <no-reply@example.com>`"),
            ));
        }

        if let Some(key) = &s.master_key {
            crate::secrets::MasterKey::parse(key)
                .map_err(|e| invalid("master_key", e.to_string()))?;
        } else if matches!(database, DatabaseTarget::Postgres(_)) {
            return Err(invalid(
                "master_key",
                "required with PostgreSQL: every node must share the key that encrypts signing keys and \
                 signs sessions (set CREDO_MASTER_KEY to 64 hex characters, e.g. from `openssl rand -hex 32`)"
                    .into(),
            ));
        }

        let positive = |key: &str, value: Option<u32>, default: u32| -> Result<u32, ConfigError> {
            match value.unwrap_or(default) {
                0 => Err(invalid(key, "must be greater than 0".into())),
                v => Ok(v),
            }
        };
        let mut reminder_days = s.reminder_days.unwrap_or_else(|| vec![60, 14]);
        reminder_days.sort_unstable_by(|a, b| b.cmp(a));
        reminder_days.dedup();
        if reminder_days.contains(&0) {
            return Err(invalid(
                "reminder_days",
                "days before expiry must be ≥ 1".into(),
            ));
        }

        // The older names keep working; the `rate_limit_*` names win when both are set.
        let defaults = LimitSettings::default();
        let limits = LimitSettings {
            login_per_minute: s
                .rate_limit_login_per_minute
                .or(s.login_attempts_per_minute)
                .unwrap_or(defaults.login_per_minute),
            login_account_per_minute: s
                .rate_limit_login_account_per_minute
                .unwrap_or(defaults.login_account_per_minute),
            register_per_hour: s
                .rate_limit_register_per_hour
                .or(s.registrations_per_hour)
                .unwrap_or(defaults.register_per_hour),
            public_work_per_minute: s
                .rate_limit_public_work_per_minute
                .unwrap_or(defaults.public_work_per_minute),
            verify_per_minute: s
                .rate_limit_verify_per_minute
                .unwrap_or(defaults.verify_per_minute),
            verify_api_key_per_minute: s
                .rate_limit_verify_api_key_per_minute
                .unwrap_or(defaults.verify_api_key_per_minute),
            redirect_per_minute: s
                .rate_limit_redirect_per_minute
                .unwrap_or(defaults.redirect_per_minute),
            mail_recipient_per_hour: s
                .rate_limit_mail_recipient_per_hour
                .unwrap_or(defaults.mail_recipient_per_hour),
        };
        let cidrs = |key: &str, list: Option<CidrList>| {
            list.map_or(Ok(Vec::new()), CidrList::parse)
                .map_err(|m| invalid(key, m))
        };
        let trusted_proxies = cidrs("trusted_proxies", s.trusted_proxies)?;
        let metrics_allow = cidrs("metrics_allow", s.metrics_allow)?;

        Ok(Config {
            bind,
            database,
            base_url,
            mail: MailConfig { transport, from },
            master_key: s.master_key,
            log_format: s.log_format.unwrap_or(LogFormat::Text),
            pool_size: positive("pool_size", s.pool_size, 8)?,
            sqlite_synchronous: s.sqlite_synchronous.unwrap_or(SqliteSync::Normal),
            session_hours: positive("session_hours", s.session_hours, 12)?,
            session_cache: match s.session_cache_ms.unwrap_or(5000) {
                ms @ 0..=60_000 => std::time::Duration::from_millis(ms),
                _ => {
                    return Err(invalid(
                        "session_cache_ms",
                        "use 0 (read the session on every request) to 60000 ms".into(),
                    ))
                }
            },
            limits,
            trusted_proxies,
            metrics_allow,
            metrics_token: s.metrics_token.filter(|t| !t.is_empty()),
            reminder_days,
            resolve_remote_dids: s.resolve_remote_dids.unwrap_or(false),
            instance_issuer: s.instance_issuer.unwrap_or(false),
            job_interval_ms: s.job_interval_ms.unwrap_or(1000).max(10),
            mail_retry_base_ms: s.mail_retry_base_ms.unwrap_or(5000).max(10),
            webhooks: WebhookSettings {
                retry_base_ms: s.webhook_retry_base_ms.unwrap_or(5000).max(10),
                retry_hours: positive("webhook_retry_hours", s.webhook_retry_hours, 24)?,
                allow_http: s.webhook_allow_http.unwrap_or(false),
                allow_private: s.webhook_allow_private.unwrap_or(false),
            },
            status_list_ttl_seconds: positive(
                "status_list_ttl_seconds",
                s.status_list_ttl_seconds,
                300,
            )?,
            stats_min_attempts: s.stats_min_attempts.unwrap_or(30),
            verify_proof_cache_entries: s.verify_proof_cache_entries.unwrap_or(4096),
            click_flush_ms: match s.click_flush_ms.unwrap_or(5) {
                ms @ 0..=1000 => ms,
                _ => {
                    return Err(invalid(
                        "click_flush_ms",
                        "use 0 (write each click before redirecting) to 1000 ms".into(),
                    ))
                }
            },
            data_dir,
        })
    }
}

/// An environment value as `kind` reads it; a `Value` that is not valid TOML stays text (and the
/// setting's type check names it).
fn env_value(kind: EnvKind, raw: &str) -> toml::Value {
    if kind == EnvKind::Value {
        if let Ok(table) = format!("v = {raw}").parse::<toml::Table>() {
            if let Some(value) = table.get("v") {
                return value.clone();
            }
        }
    }
    toml::Value::String(raw.to_string())
}
