//! `credo serve --demo` and `credo demo`: the real binary on an empty data directory seeds the
//! demo data once, prints logins that work, and serves a catalog with the real exams, a
//! certificate that verifies as valid and a referral dashboard with every commission state; a
//! restart serves the same data without seeding again. A failed seeding stores nothing.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::common::process::{ChildConfig, ChildServer};
use crate::common::{csrf_token_in, fresh_database, SmtpServer, TestApp};
use serde_json::{json, Value};

const BLOCK_START: &str = "Credo demo data is ready";

/// What `--demo` printed: `(email, password)` per login, certificate URLs, the referral link.
#[derive(Debug)]
struct Printed {
    logins: Vec<(String, String)>,
    certificates: Vec<String>,
    referral_link: String,
}

fn parse_block(output: &str) -> Option<Printed> {
    let start = output.find(BLOCK_START)?;
    let block = &output[start..];
    let end = block.find("\n====")?;
    let block = &block[..end];
    let mut printed = Printed {
        logins: Vec::new(),
        certificates: Vec::new(),
        referral_link: String::new(),
    };
    for line in block.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        if let Some(at) = words.iter().position(|w| *w == "password:") {
            let email = words.iter().find(|w| w.contains('@'))?;
            printed
                .logins
                .push((email.to_string(), words.get(at + 1)?.to_string()));
        }
        let url = words.iter().find(|w| w.starts_with("http"));
        match (words.first(), url) {
            (Some(&"certificate"), Some(url)) => printed.certificates.push(url.to_string()),
            (Some(&"referral"), Some(url)) => printed.referral_link = url.to_string(),
            _ => {}
        }
    }
    Some(printed)
}

fn wait_for_block(server: &ChildServer) -> Printed {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(printed) = parse_block(&server.logs()) {
            return printed;
        }
        assert!(
            Instant::now() < deadline,
            "no demo block printed:\n{}",
            server.logs()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn login(server: &ChildServer, email: &str, password: &str) -> String {
    let answer = client()
        .post(server.url("/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200, "login of {email} failed");
    answer.json::<Value>().unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string()
}

fn get_json(server: &ChildServer, path: &str, token: Option<&str>) -> Value {
    let mut request = client().get(server.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().unwrap();
    assert_eq!(answer.status(), 200, "GET {path}");
    answer.json().unwrap()
}

/// A cookie-keeping client signed in through the login form, like a browser.
fn signed_in(server: &ChildServer, email: &str, password: &str) -> reqwest::blocking::Client {
    let browser = reqwest::blocking::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = browser
        .get(server.url("/login"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let csrf = csrf_token_in(&form);
    let answer = browser
        .post(server.url("/login"))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", csrf.as_str()),
        ])
        .send()
        .unwrap();
    assert_eq!(answer.status(), 303, "page login of {email} failed");
    browser
}

fn page(browser: &reqwest::blocking::Client, server: &ChildServer, path: &str) -> String {
    let answer = browser.get(server.url(path)).send().unwrap();
    assert_eq!(answer.status(), 200, "GET {path}");
    answer.text().unwrap()
}

fn count_users(database_url: &str) -> i64 {
    let target = credo::db::DatabaseTarget::parse(database_url).unwrap();
    let pool =
        credo::db::connect(&target, 1, credo::db::SqliteSync::Normal).expect("open database");
    let mut conn = pool.get().unwrap();
    credo::accounts::store::count_users(&mut conn).unwrap()
}

fn child_config<'a>(
    database_url: &'a str,
    data_dir: &'a std::path::Path,
    smtp_url: &'a str,
) -> ChildConfig<'a> {
    ChildConfig {
        database_url,
        data_dir,
        smtp_url,
        extra_env: Vec::new(),
    }
}

#[test]
fn serve_demo_seeds_an_empty_database_once_and_everything_it_prints_works() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start();
    let database_url = fresh_database(dir.path());
    let data_dir = dir.path().join("data");
    let smtp_url = smtp.url();
    let config = child_config(&database_url, &data_dir, &smtp_url);
    let mut server = ChildServer::start_with_args(&config, &["--demo"]);
    let printed = wait_for_block(&server);

    // The printed logins work: operator, owner, examiner, program manager, advocate.
    assert_eq!(printed.logins.len(), 5, "{printed:?}");
    let mut tokens = Vec::new();
    for (email, password) in &printed.logins {
        tokens.push(login(&server, email, password));
    }
    let (advocate_email, advocate_password) = printed.logins[4].clone();
    let advocate = tokens[4].clone();

    // Home page and the catalog with both real exams.
    assert_eq!(client().get(server.url("/")).send().unwrap().status(), 200);
    let catalog = get_json(&server, "/api/v1/exams", None);
    for slug in ["postgresql-administration", "git-fundamentals"] {
        let exam = catalog
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["slug"] == slug)
            .unwrap_or_else(|| panic!("{slug} not in the catalog: {catalog}"));
        assert_eq!(exam["question_count"], 40, "{exam}");
        assert_eq!(exam["vendor"], "acme");
    }

    // The certificate pages render and their credentials verify as valid.
    assert_eq!(printed.certificates.len(), 2, "{printed:?}");
    for url in &printed.certificates {
        let path = url
            .strip_prefix(&server.base)
            .expect("a URL of this server");
        let page = client().get(server.url(path)).send().unwrap();
        assert_eq!(page.status(), 200, "{url}");
        assert!(page.text().unwrap().contains("Ada Lindqvist"));
        let id = path.strip_prefix("/c/").unwrap();
        let credential = get_json(&server, &format!("/api/v1/credentials/{id}"), None);
        let verdict: Value = client()
            .post(server.url("/api/v1/verify"))
            .json(&credential)
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(verdict["status"], "valid", "{verdict}");
        assert_eq!(verdict["verified"], true);
    }

    // The advocate's referrals: commissions in every state, a clawback, a positive balance.
    let mine = get_json(&server, "/api/v1/me/referrals", Some(&advocate));
    let enrollment = &mine["enrollments"][0];
    for status in ["pending", "held", "approved", "paid", "reversed"] {
        assert!(
            enrollment["commissions"][status]["count"].as_u64().unwrap() >= 1,
            "no {status} commission: {enrollment:#}"
        );
    }
    let clawback = enrollment["recent_commissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "clawback")
        .unwrap_or_else(|| panic!("no clawback: {enrollment:#}"));
    assert!(clawback["amount_minor"].as_i64().unwrap() < 0);
    assert!(enrollment["balance_minor"].as_i64().unwrap() > 0);
    assert_eq!(enrollment["tier"], "champion");
    assert!(
        enrollment["clicks"].as_i64().unwrap() >= 5,
        "{enrollment:#}"
    );
    assert_eq!(enrollment["customers"], 5);
    assert_eq!(enrollment["payouts"][0]["status"], "paid");
    let code = enrollment["referral_code"].as_str().unwrap();
    assert!(printed.referral_link.ends_with(&format!("/r/{code}")));

    // The referral dashboard page renders with the link and its disclosure; so do the staff's
    // console pages over the demo data.
    let ada = signed_in(&server, &advocate_email, &advocate_password);
    let referrals = page(&ada, &server, "/referrals");
    assert!(referrals.contains(code), "the page shows the referral code");
    assert!(referrals.contains("Disclosure"));
    page(&ada, &server, "/dashboard");
    let (owner_email, owner_password) = &printed.logins[1];
    let owner = signed_in(&server, owner_email, owner_password);
    for path in [
        "/vendor/acme",
        "/vendor/acme/exams",
        "/vendor/acme/credentials",
    ] {
        page(&owner, &server, path);
    }
    let (manager_email, manager_password) = &printed.logins[3];
    let manager = signed_in(&server, manager_email, manager_password);
    for path in [
        "/vendor/acme/program",
        "/vendor/acme/program/commissions",
        "/vendor/acme/program/payouts",
        "/vendor/acme/program/funnel",
    ] {
        page(&manager, &server, path);
    }

    // The printed referral link redirects to the program's landing page with a click id.
    let link_path = printed.referral_link.strip_prefix(&server.base).unwrap();
    let redirect = client()
        .get(server.url(link_path))
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
        )
        .send()
        .unwrap();
    assert_eq!(redirect.status(), 302);
    assert!(redirect.headers()["location"]
        .to_str()
        .unwrap()
        .contains("credo_click="));

    // Restart on the same data: served as it is, nothing seeded twice, no logins printed.
    let users = count_users(&database_url);
    assert_eq!(users, 5);
    server.terminate();
    let server = ChildServer::start_with_args(&config, &["--demo"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.logs().contains("so no demo data was added") {
        assert!(Instant::now() < deadline, "{}", server.logs());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!server.logs().contains(BLOCK_START), "{}", server.logs());
    assert!(!server.logs().contains("password:"));
    assert_eq!(count_users(&database_url), users);
    login(&server, &advocate_email, &advocate_password);
    let catalog = get_json(&server, "/api/v1/exams", None);
    assert_eq!(
        catalog.as_array().unwrap().len(),
        2,
        "no exam imported twice"
    );
}

fn credo(args: &[&str], data_dir: &std::path::Path, database_url: &str) -> Output {
    Command::new(crate::common::credo_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("CREDO_DATA_DIR", data_dir)
        .env("CREDO_DATABASE_URL", database_url)
        .env("CREDO_MASTER_KEY", "42".repeat(32))
        .output()
        .expect("run credo")
}

#[test]
fn credo_demo_seeds_an_empty_database_and_refuses_one_with_accounts() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path());
    let data_dir = dir.path().join("data");

    let first = credo(&["demo"], &data_dir, &database_url);
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let printed = parse_block(&stdout).expect("the demo block");
    assert_eq!(printed.logins.len(), 5);
    assert!(printed
        .logins
        .iter()
        .all(|(_, password)| password == credo::demo::DEMO_PASSWORD));
    assert!(stdout.contains("credo serve"), "says how to start it");
    assert_eq!(count_users(&database_url), 5);

    let second = credo(&["demo"], &data_dir, &database_url);
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("already has 5 account(s)") && stderr.contains("only an empty database"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&second.stdout).contains(BLOCK_START));
    assert_eq!(count_users(&database_url), 5);

    // `credo serve` (without --demo) serves what `credo demo` stored.
    let smtp = SmtpServer::start();
    let smtp_url = smtp.url();
    let server = ChildServer::start(&child_config(&database_url, &data_dir, &smtp_url));
    let (email, password) = &printed.logins[4];
    let token = login(&server, email, password);
    let mine = get_json(&server, "/api/v1/me/referrals", Some(&token));
    assert_eq!(mine["enrollments"][0]["vendor"], "acme");
}

#[actix_web::test]
async fn a_failed_step_stores_nothing_and_names_the_step_so_a_retry_seeds_again() {
    let app = TestApp::start().await;
    let now = app.state.clock.now();
    // A vendor with the demo's slug (and no account) makes the vendor step fail after the
    // accounts were created.
    let vendor_id = app
        .state
        .tx(move |c| {
            credo::accounts::create_vendor(
                c,
                &credo::accounts::VendorInput {
                    slug: credo::demo::VENDOR_SLUG.into(),
                    name: "Someone else".into(),
                    url: "https://else.example".into(),
                },
                &credo::audit::Actor::system("test"),
                now,
            )
            .map(|v| v.id)
        })
        .await
        .unwrap();
    let state = app.state.clone();
    let error = tokio::task::spawn_blocking(move || credo::demo::seed_if_empty(&state))
        .await
        .unwrap()
        .expect_err("the vendor step fails");
    assert_eq!(error.step, "create the demo vendor", "{error}");
    assert!(error.to_string().contains("nothing was stored"));
    let users = app
        .state
        .db(|c| credo::accounts::store::count_users(c).map_err(credo::db::DbError::from))
        .await
        .unwrap();
    assert_eq!(users, 0, "the accounts of earlier steps were rolled back");

    // Without the obstacle, the next run seeds everything.
    app.state
        .tx(move |c| {
            use credo::db::schema::vendors;
            use diesel::prelude::*;
            diesel::delete(vendors::table.filter(vendors::id.eq(vendor_id)))
                .execute(c)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    let state = app.state.clone();
    let outcome = tokio::task::spawn_blocking(move || credo::demo::seed_if_empty(&state))
        .await
        .unwrap()
        .expect("seeded");
    assert!(matches!(outcome, credo::demo::Outcome::Seeded(_)));
    let state = app.state.clone();
    let again = tokio::task::spawn_blocking(move || credo::demo::seed_if_empty(&state))
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(again, credo::demo::Outcome::NotEmpty { users: 5 }));
    app.stop().await;
}
