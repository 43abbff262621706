use super::*;

fn load(env: &[(&str, &str)], overrides: Overrides) -> Result<Config, ConfigError> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::load_from(&overrides, &env)
}

#[test]
fn defaults_run_locally_on_sqlite() {
    let c = load(&[], Overrides::default()).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.data_dir, PathBuf::from("./data"));
    assert_eq!(
        c.database,
        DatabaseTarget::Sqlite(PathBuf::from("./data/credo.db"))
    );
    assert_eq!(c.base_url.as_str(), "http://127.0.0.1:8080/");
    assert!(matches!(c.mail.transport, MailTransport::Files(_)));
    assert_eq!(c.reminder_days, vec![60, 14]);
}

#[test]
fn flags_override_env_which_overrides_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credo.toml");
    std::fs::write(&file, "bind = \"127.0.0.1:1000\"\npool_size = 3\n").unwrap();
    let overrides = Overrides {
        config_file: Some(file.clone()),
        ..Default::default()
    };
    let c = load(&[("CREDO_BIND", "127.0.0.1:2000")], overrides.clone()).unwrap();
    assert_eq!(c.bind.port(), 2000);
    assert_eq!(c.pool_size, 3);
    let c = load(
        &[("CREDO_BIND", "127.0.0.1:2000"), ("CREDO_POOL_SIZE", "5")],
        Overrides {
            bind: Some("127.0.0.1:3000".into()),
            ..overrides
        },
    )
    .unwrap();
    assert_eq!(c.bind.port(), 3000);
    assert_eq!(c.pool_size, 5);
}

#[test]
fn errors_name_the_setting_and_its_origin() {
    let err = load(&[("CREDO_BIND", "localhost")], Overrides::default()).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("`bind`") && text.contains("CREDO_BIND"),
        "{text}"
    );

    let err = load(&[("CREDO_POOL_SIZE", "many")], Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("pool_size"), "{err}");

    let err = load(
        &[],
        Overrides {
            database_url: Some("postgress://x".into()),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("--database-url"), "{err}");

    let err = load(&[("CREDO_BASE_URL", "ftp://x")], Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("base_url"), "{err}");
}

#[test]
fn unknown_file_settings_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("credo.toml");
    std::fs::write(&file, "bnid = \"127.0.0.1:1000\"\n").unwrap();
    let err = load(
        &[],
        Overrides {
            config_file: Some(file),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("bnid"), "{err}");
}

#[test]
fn postgres_requires_a_shared_master_key() {
    let err = load(
        &[("CREDO_DATABASE_URL", "postgres://h/db")],
        Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("master_key"), "{err}");
    let key = "00".repeat(32);
    load(
        &[
            ("CREDO_DATABASE_URL", "postgres://h/db"),
            ("CREDO_MASTER_KEY", &key),
        ],
        Overrides::default(),
    )
    .unwrap();
}

#[test]
fn rate_limits_are_settings_and_old_names_keep_working() {
    let c = load(&[], Overrides::default()).unwrap();
    assert_eq!(c.limits, LimitSettings::default());
    let c = load(
        &[
            ("CREDO_LOGIN_ATTEMPTS_PER_MINUTE", "4"),
            ("CREDO_REGISTRATIONS_PER_HOUR", "7"),
            ("CREDO_RATE_LIMIT_VERIFY_PER_MINUTE", "0"),
            ("CREDO_TRUSTED_PROXIES", "10.0.0.0/8, fd00::/8"),
        ],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(
        (
            c.limits.login_per_minute,
            c.limits.register_per_hour,
            c.limits.verify_per_minute
        ),
        (4, 7, 0)
    );
    assert_eq!(c.trusted_proxies.len(), 2);
    let c = load(
        &[
            ("CREDO_LOGIN_ATTEMPTS_PER_MINUTE", "4"),
            ("CREDO_RATE_LIMIT_LOGIN_PER_MINUTE", "9"),
        ],
        Overrides::default(),
    )
    .unwrap();
    assert_eq!(c.limits.login_per_minute, 9);
    let err = load(
        &[("CREDO_TRUSTED_PROXIES", "lb.local")],
        Overrides::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("trusted_proxies"), "{err}");
}

#[test]
fn smtp_urls() {
    let s = parse_smtp_url("smtp://127.0.0.1:2525").unwrap();
    assert_eq!(
        (s.host.as_str(), s.port, s.tls),
        ("127.0.0.1", 2525, SmtpTls::None)
    );
    let s = parse_smtp_url("smtps://me%40x.org:p%40ss@mail.x.org").unwrap();
    assert_eq!(s.port, 465);
    assert_eq!(s.tls, SmtpTls::Implicit);
    assert_eq!(s.username.as_deref(), Some("me@x.org"));
    assert_eq!(s.password.as_deref(), Some("p@ss"));
    let s = parse_smtp_url("smtp://mail.x.org:587?tls=starttls").unwrap();
    assert_eq!(s.tls, SmtpTls::StartTls);
    assert!(parse_smtp_url("http://x").is_err());
    assert!(parse_smtp_url("smtp://x?tls=maybe").is_err());
}

#[test]
fn debug_output_hides_secrets() {
    let key = "ab".repeat(32);
    let c = load(
        &[
            ("CREDO_MASTER_KEY", &key),
            ("CREDO_SMTP_URL", "smtps://u:hunter2@h"),
        ],
        Overrides::default(),
    )
    .unwrap();
    let text = format!("{c:?}");
    assert!(!text.contains(&key) && !text.contains("hunter2"), "{text}");
}
