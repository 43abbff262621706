//! Crashes, SMTP outages, several nodes and logs — with `credo serve` as a real child process
//! where the question is about processes.

use std::collections::HashMap;
use std::time::Duration;

use crate::common::process::{ChildConfig, ChildServer};
use crate::common::{eventually, fresh_database, job_pass, SmtpServer, TestApp, PASSWORD};
use diesel::prelude::*;
use serde_json::json;

fn register_body(email: &str) -> serde_json::Value {
    json!({"email": email, "password": PASSWORD, "display_name": "Burst"})
}

#[actix_web::test]
async fn mail_waits_in_the_outbox_while_smtp_is_down_and_is_delivered_once() {
    let mut app = TestApp::start().await;
    app.smtp.pause();
    app.post(
        "/api/v1/auth/register",
        None,
        register_body("patient@example.org"),
    )
    .await
    .expect(201);

    // The sender tries, fails and keeps the mail.
    eventually("a failed delivery attempt", Duration::from_secs(10), || {
        let state = app.state.clone();
        async move {
            let rows: Vec<(String, i32)> = state
                .db(|conn| {
                    use credo::db::schema::outbox::dsl::*;
                    outbox
                        .select((status, attempts))
                        .load(conn)
                        .map_err(credo::db::DbError::from)
                })
                .await
                .unwrap();
            (rows.len() == 1 && rows[0].0 == "pending" && rows[0].1 >= 1).then_some(())
        }
    })
    .await;
    assert!(app.smtp.messages().is_empty());

    app.smtp.resume();
    app.smtp.wait_for("patient@example.org", |_| true).await;
    // More sender passes: nothing may be sent twice.
    job_pass(&app).await;
    job_pass(&app).await;
    assert_eq!(app.smtp.messages_to("patient@example.org").len(), 1);
    let status: String = app
        .state
        .db(|conn| {
            use credo::db::schema::outbox::dsl::*;
            outbox
                .select(status)
                .first(conn)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(status, "sent");
    app.stop().await;
}

#[test]
fn two_nodes_on_one_database_deliver_every_mail_exactly_once() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start();
    let database_url = fresh_database(dir.path());
    let node = |name: &str| {
        ChildServer::start(&ChildConfig {
            database_url: &database_url,
            data_dir: &dir.path().join(name),
            smtp_url: &smtp.url(),
            extra_env: vec![("CREDO_REGISTRATIONS_PER_HOUR", "1000".into())],
        })
    };
    let mut nodes = [node("a"), node("b")];
    let client = reqwest::blocking::Client::new();
    let count = 40;
    for i in 0..count {
        let node = &nodes[i % 2];
        let answer = client
            .post(node.url("/api/v1/auth/register"))
            .json(&register_body(&format!("user{i}@example.org")))
            .send()
            .unwrap();
        assert_eq!(answer.status(), 201);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while smtp.messages().len() < count {
        assert!(
            std::time::Instant::now() < deadline,
            "only {} of {count} mails arrived",
            smtp.messages().len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every mail is marked sent (by the node holding its lease, once the SMTP server took it);
    // then both nodes stop (SIGTERM, waiting for them to exit), so nothing is in flight any more
    // and what the SMTP server holds is final.
    let target = credo::db::DatabaseTarget::parse(&database_url).unwrap();
    let pool = credo::db::connect(&target, 1, credo::db::SqliteSync::Normal).unwrap();
    let unsent = || {
        use credo::db::schema::outbox;
        outbox::table
            .filter(outbox::status.ne("sent"))
            .count()
            .get_result::<i64>(&mut pool.get().unwrap())
            .unwrap()
    };
    while unsent() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "{} mails are not marked sent",
            unsent()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for node in &mut nodes {
        node.terminate();
    }
    let mails = smtp.messages();
    assert_eq!(mails.len(), count, "some mail was delivered twice");
    let mut per_address: HashMap<String, usize> = HashMap::new();
    for mail in &mails {
        *per_address.entry(mail.to.clone()).or_default() += 1;
    }
    assert!(per_address.values().all(|n| *n == 1), "{per_address:?}");
    // Both nodes did part of the work (each logs the mails it sent).
    for node in &nodes {
        assert!(
            node.logs().contains("mail sent"),
            "a node sent nothing:\n{}",
            node.logs()
        );
    }
}

#[test]
fn a_crash_mid_burst_loses_no_acknowledged_registration_and_leaves_nothing_half_written() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start();
    let database_url = fresh_database(dir.path());
    let config = ChildConfig {
        database_url: &database_url,
        data_dir: &dir.path().join("data"),
        smtp_url: &smtp.url(),
        extra_env: vec![("CREDO_REGISTRATIONS_PER_HOUR", "100000".into())],
    };
    let mut server = ChildServer::start(&config);
    let url = server.url("/api/v1/auth/register");

    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..6)
        .map(|w| {
            let url = url.clone();
            let acknowledged = acknowledged.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .unwrap();
                for i in 0.. {
                    let email = format!("w{w}-{i}@example.org");
                    match client.post(&url).json(&register_body(&email)).send() {
                        Ok(answer) if answer.status() == 201 => {
                            acknowledged.lock().unwrap().push(email)
                        }
                        Ok(_) => {}
                        Err(_) => break, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Let the burst run, then kill the process without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while acknowledged.lock().unwrap().len() < 30 {
        assert!(
            std::time::Instant::now() < deadline,
            "the burst did not get going"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    server.kill();
    for worker in workers {
        worker.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 30);

    // Restart on the same data: every acknowledged registration is there, complete.
    let server = ChildServer::start(&config);
    let target = credo::db::DatabaseTarget::parse(&database_url).unwrap();
    let pool = credo::db::connect(&target, 1, credo::db::SqliteSync::Normal).unwrap();
    let mut conn = pool.get().unwrap();
    use credo::db::schema::{email_tokens, outbox, users};
    let emails: Vec<String> = users::table.select(users::email).load(&mut conn).unwrap();
    for email in &acknowledged {
        assert!(
            emails.contains(email),
            "{email} got 201 but is gone after the crash"
        );
    }
    // Nothing half-written: each user has its verification token and its queued mail.
    let tokens: i64 = email_tokens::table.count().get_result(&mut conn).unwrap();
    let mails: i64 = outbox::table.count().get_result(&mut conn).unwrap();
    assert_eq!(tokens, emails.len() as i64);
    assert_eq!(mails, emails.len() as i64);
    let addressed: Vec<String> = outbox::table
        .select(outbox::to_address)
        .load(&mut conn)
        .unwrap();
    for email in &emails {
        assert!(
            addressed.contains(email),
            "{email} has no verification mail"
        );
    }
    drop(server);
}

#[test]
fn secrets_never_reach_the_logs() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start();
    let database_url = fresh_database(dir.path());
    let data_dir = dir.path().join("data");
    let mut server = ChildServer::start(&ChildConfig {
        database_url: &database_url,
        data_dir: &data_dir,
        smtp_url: &smtp.url(),
        extra_env: vec![("CREDO_LOG", "debug".into())],
    });
    let client = reqwest::blocking::Client::new();
    let password = "a very secret passphrase 123";
    let post = |path: &str, token: Option<&str>, body: serde_json::Value| {
        let mut request = client.post(server.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().unwrap()
    };
    assert_eq!(
        post(
            "/api/v1/auth/register",
            None,
            json!({"email": "secret@example.org", "password": password, "display_name": "S"})
        )
        .status(),
        201
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mail = loop {
        if let Some(mail) = smtp.messages_to("secret@example.org").pop() {
            break mail;
        }
        assert!(std::time::Instant::now() < deadline, "no verification mail");
        std::thread::sleep(Duration::from_millis(50));
    };
    let verify_token = mail.link_token("/verify-email").unwrap();
    // Through the page link too, so the token travels in a query string.
    let page = client
        .get(format!("{}/verify-email?token={verify_token}", server.base))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    let login: serde_json::Value = post(
        "/api/v1/auth/login",
        None,
        json!({"email": "secret@example.org", "password": password}),
    )
    .json()
    .unwrap();
    let session = login["token"].as_str().unwrap().to_string();
    assert_eq!(
        post(
            "/api/v1/auth/login",
            None,
            json!({"email": "secret@example.org", "password": "wrong secret guess"})
        )
        .status(),
        401
    );

    // An operator, a vendor and an API key, used once.
    let status = std::process::Command::new(crate::common::credo_binary())
        .args([
            "admin",
            "create-user",
            "--email",
            "op@example.org",
            "--operator",
            "--password-stdin",
        ])
        .env("CREDO_DATABASE_URL", &database_url)
        .env("CREDO_DATA_DIR", &data_dir)
        .env("CREDO_MASTER_KEY", "42".repeat(32))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(b"operator passphrase 1")?;
            child.wait()
        })
        .unwrap();
    assert!(status.success());
    let operator: serde_json::Value = post(
        "/api/v1/auth/login",
        None,
        json!({"email": "op@example.org", "password": "operator passphrase 1"}),
    )
    .json()
    .unwrap();
    let operator = operator["token"].as_str().unwrap();
    assert_eq!(
        post(
            "/api/v1/vendors",
            Some(operator),
            json!({"slug": "acme", "name": "Acme", "url": "https://acme.example"})
        )
        .status(),
        201
    );
    let key: serde_json::Value = post(
        "/api/v1/vendors/acme/api-keys",
        Some(operator),
        json!({"name": "billing"}),
    )
    .json()
    .unwrap();
    let api_key = key["key"].as_str().unwrap().to_string();
    let answer = client
        .get(server.url("/api/v1/me"))
        .bearer_auth(&api_key)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 403);

    server.terminate();
    let logs = server.logs();
    assert!(
        logs.contains("request"),
        "the log captured nothing:\n{logs}"
    );
    for (what, secret) in [
        ("password", password),
        ("operator password", "operator passphrase 1"),
        ("verification token", verify_token.as_str()),
        ("session token", session.as_str()),
        ("API key", api_key.as_str()),
        ("master key", &"42".repeat(32)),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
    }
}

#[test]
fn sigterm_stops_gracefully() {
    credo::install_crypto_provider();
    let dir = tempfile::tempdir().unwrap();
    let smtp = SmtpServer::start();
    let database_url = fresh_database(dir.path());
    let mut server = ChildServer::start(&ChildConfig {
        database_url: &database_url,
        data_dir: &dir.path().join("data"),
        smtp_url: &smtp.url(),
        extra_env: vec![],
    });
    let status = server.terminate();
    assert!(status.success(), "exit status {status}:\n{}", server.logs());
}
