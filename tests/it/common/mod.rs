//! Test support, crates.io style: every test starts the real application (the same `build_app`,
//! jobs and config loading as `credo serve`) on a real socket, against a fresh SQLite file or a
//! fresh PostgreSQL database, with a real SMTP server process (aiosmtpd) receiving its mail.
//!
//! The backend comes from `CREDO_TEST_DB` (`sqlite`, the default, or `postgres` with
//! `CREDO_TEST_PG_URL` naming a server where the tests may create databases). The README's test
//! command runs the whole suite once per backend.

pub mod browser;
pub mod credentials;
pub mod exams;
pub mod process;
pub mod referrals;
pub mod smtp;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::Duration;

use credo::config::{Config, Overrides};
use credo::server::Running;
use credo::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
pub use smtp::SmtpServer;

pub const PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    match std::env::var("CREDO_TEST_DB").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("CREDO_TEST_DB must be sqlite or postgres, not {other}"),
    }
}

/// A fresh, empty database for one test: `(database URL, temp dir holding SQLite files)`.
pub fn fresh_database(dir: &std::path::Path) -> String {
    match backend() {
        Backend::Sqlite => format!("sqlite://{}", dir.join("credo.db").display()),
        Backend::Postgres => {
            use diesel::{Connection, RunQueryDsl};
            let admin = std::env::var("CREDO_TEST_PG_URL")
                .expect("CREDO_TEST_DB=postgres needs CREDO_TEST_PG_URL (the README's test command sets it)");
            let name = format!("credo_t_{}", uuid::Uuid::new_v4().simple());
            let mut conn = diesel::PgConnection::establish(&admin)
                .expect("connect to the test PostgreSQL server");
            diesel::sql_query(format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .expect("create test database");
            let base = admin
                .rsplit_once('/')
                .map(|(base, _)| base)
                .unwrap_or(&admin);
            format!("{base}/{name}")
        }
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One running application with its own database, data directory and SMTP server.
pub struct TestApp {
    pub base: String,
    pub state: AppState,
    pub client: reqwest::Client,
    pub smtp: SmtpServer,
    pub database_url: String,
    pub dir: tempfile::TempDir,
    running: Option<Running>,
}

pub struct TestAppBuilder {
    env: Vec<(String, String)>,
}

impl TestAppBuilder {
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub async fn start(self) -> TestApp {
        credo::install_crypto_provider();
        let dir = tempfile::tempdir().unwrap();
        let smtp = SmtpServer::start();
        let database_url = fresh_database(dir.path());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let base = format!("http://127.0.0.1:{port}");
        let mut env: Vec<(String, String)> = vec![
            (
                "CREDO_DATA_DIR".into(),
                dir.path().join("data").display().to_string(),
            ),
            ("CREDO_DATABASE_URL".into(), database_url.clone()),
            ("CREDO_BASE_URL".into(), base.clone()),
            ("CREDO_SMTP_URL".into(), smtp.url()),
            ("CREDO_MASTER_KEY".into(), "42".repeat(32)),
            ("CREDO_JOB_INTERVAL_MS".into(), "50".into()),
            ("CREDO_MAIL_RETRY_BASE_MS".into(), "100".into()),
            ("CREDO_POOL_SIZE".into(), "4".into()),
            // Every test client is 127.0.0.1; the rate-limit tests lower these again.
            ("CREDO_LOGIN_ATTEMPTS_PER_MINUTE".into(), "10000".into()),
            ("CREDO_REGISTRATIONS_PER_HOUR".into(), "10000".into()),
        ];
        env.extend(self.env);
        let config = Config::load_from(&Overrides::default(), &env).expect("test config");
        let state = AppState::open(config).expect("open the application");
        let running = credo::server::start(state.clone(), listener).expect("start the server");
        let client = http_client(false);
        TestApp {
            base,
            state,
            client,
            smtp,
            database_url,
            dir,
            running: Some(running),
        }
    }
}

/// API calls go without cookies (each names its bearer token); `browser()` keeps cookies like a
/// browser does. Neither follows redirects, so tests see them.
fn http_client(cookies: bool) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(cookies)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// An HTTP answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Asserts the status and returns self; shows the body when it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// The problem's field errors as `field` names.
    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A person with a session token.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub token: String,
}

impl TestApp {
    pub fn builder() -> TestAppBuilder {
        TestAppBuilder { env: Vec::new() }
    }

    pub async fn start() -> TestApp {
        Self::builder().start().await
    }

    /// A fresh cookie-keeping client, for page flows.
    pub fn browser(&self) -> reqwest::Client {
        http_client(true)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request sent");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        self.request(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::POST, path, token, Some(body)).await
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: Value) -> Answer {
        self.request(Method::PUT, path, token, Some(body)).await
    }

    /// Sends raw bytes with a content type (bank uploads, malformed bodies).
    pub async fn post_raw(
        &self,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.send_raw(Method::POST, path, token, content_type, body)
            .await
    }

    /// Sends raw bytes with a content type and any method (image uploads).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("request sent");
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap_or_default(),
        }
    }

    /// Registers through the API, follows the mailed link and signs in: the full path.
    pub async fn register_and_verify(&self, email: &str, name: &str) -> User {
        let registered = self
            .post(
                "/api/v1/auth/register",
                None,
                json!({"email": email, "password": PASSWORD, "display_name": name}),
            )
            .await
            .expect(201)
            .json();
        let mail = self
            .smtp
            .wait_for(email, |m| m.subject.contains("Confirm"))
            .await;
        let token = mail
            .link_token("/verify-email")
            .expect("verification link in the mail");
        self.post("/api/v1/auth/verify-email", None, json!({"token": token}))
            .await
            .expect(204);
        let token = self.login(email).await;
        User {
            id: registered["id"].as_str().unwrap().to_string(),
            email: email.to_lowercase(),
            token,
        }
    }

    /// Creates a verified account directly (tests about something else than registration).
    pub async fn user(&self, email: &str, name: &str) -> User {
        self.create_user(email, name, false).await
    }

    pub async fn operator(&self) -> User {
        self.create_user("operator@credo.test", "Operator", true)
            .await
    }

    async fn create_user(&self, email: &str, name: &str, operator: bool) -> User {
        let now = self.state.clock.now();
        let (e, n) = (email.to_string(), name.to_string());
        let password = credo::accounts::password::hash_new(PASSWORD)
            .await
            .expect("hash");
        let id = self
            .state
            .tx(move |conn| {
                credo::accounts::create_verified_user(conn, &e, &password, &n, operator, now)
            })
            .await
            .expect("create user");
        let token = self.login(email).await;
        User {
            id,
            email: email.to_lowercase(),
            token,
        }
    }

    /// A cookie-keeping client signed in through the login page, with the page's CSRF token.
    pub async fn browser_session(&self, email: &str) -> (reqwest::Client, String) {
        let browser = self.browser();
        let page = browser
            .get(self.url("/login"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_token_in(&page);
        let answer = browser
            .post(self.url("/login"))
            .form(&[
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", csrf.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 303, "page login failed");
        (browser, csrf)
    }

    pub async fn login(&self, email: &str) -> String {
        let answer = self
            .post(
                "/api/v1/auth/login",
                None,
                json!({"email": email, "password": PASSWORD}),
            )
            .await
            .expect(200);
        answer.json()["token"].as_str().unwrap().to_string()
    }

    /// A vendor created by an operator, owned by `owner`.
    pub async fn vendor(&self, slug: &str, owner: &User) -> Value {
        let operator = match self
            .state
            .db(|c| {
                credo::accounts::store::find_user_by_email(c, "operator@credo.test")
                    .map_err(credo::db::DbError::from)
            })
            .await
            .unwrap()
        {
            Some(_) => self.login("operator@credo.test").await,
            None => self.operator().await.token,
        };
        let vendor = self
            .post(
                "/api/v1/vendors",
                Some(&operator),
                json!({"slug": slug, "name": format!("{slug} Inc."), "url": format!("https://{slug}.example")}),
            )
            .await
            .expect(201)
            .json();
        self.post(
            &format!("/api/v1/vendors/{slug}/members"),
            Some(&operator),
            json!({"email": owner.email, "role": "owner"}),
        )
        .await
        .expect(201);
        vendor
    }

    /// Adds a staff role to a person (as the vendor's owner).
    pub async fn add_member(&self, vendor: &str, owner: &User, member: &User, role: &str) {
        self.post(
            &format!("/api/v1/vendors/{vendor}/members"),
            Some(&owner.token),
            json!({"email": member.email, "role": role}),
        )
        .await
        .expect(201);
    }

    pub async fn api_key(&self, vendor: &str, owner: &User) -> String {
        self.post(
            &format!("/api/v1/vendors/{vendor}/api-keys"),
            Some(&owner.token),
            json!({"name": "billing system"}),
        )
        .await
        .expect(201)
        .json()["key"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }
}

/// The CSRF token embedded in a page's forms.
/// One pass of every background job, run here and awaited: a test asserting that something did
/// not happen calls this first, so the assertion cannot pass merely because the job has not run.
pub async fn job_pass(app: &TestApp) {
    credo::jobs::run_all_once(&app.state)
        .await
        .expect("one pass of every job");
}

pub fn csrf_token_in(html: &str) -> String {
    html.split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page has a form with a CSRF token")
        .to_string()
}

/// Polls `check` until it returns `Some` or the timeout passes.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if std::time::Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The path of the built `credo` binary, for tests that run it as a child process.
pub fn credo_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_credo"))
}
