//! The exam-taking page in headless Chromium (chromedriver): a click autosaves the answer through the API
//! (with the CSRF header), the page says "Saved" and marks the navigator, the countdown runs, a reload shows
//! the saved answer checked, and the submit button (after its confirmation) leads to the score report.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::exams::{self as ex, BankSpec};
use common::{eventually, free_port, PASSWORD};
use fantoccini::{ClientBuilder, Locator};
use serde_json::json;

/// chromedriver for one test. Dropping it asks chromedriver to shut down (which also quits the browser it
/// started, even when the test failed before closing its session), then ends the chromedriver process.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        use std::io::{Read, Write};
        if let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = stream.write_all(
                b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            );
            let _ = stream.read(&mut [0u8; 512]);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn browser() -> (Driver, fantoccini::Client) {
    let port = free_port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver is installed (scripts/test installs it)");
    let driver = Driver { child, port };
    let url = format!("http://127.0.0.1:{port}");
    eventually(
        "chromedriver to listen",
        Duration::from_secs(20),
        || async { std::net::TcpStream::connect(("127.0.0.1", port)).ok() },
    )
    .await;
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=375,900"]}),
    );
    let client = ClientBuilder::rustls()
        .unwrap()
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a headless Chromium session");
    (driver, client)
}

#[actix_web::test]
async fn answers_autosave_and_survive_a_reload() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    ex::publish(&app, &v, &BankSpec::free("demo")).await;
    let pat = app.user("pat@example.org", "Pat").await;
    let (_driver, page) = browser().await;

    page.goto(&app.url("/login")).await.unwrap();
    page.find(Locator::Id("email"))
        .await
        .unwrap()
        .send_keys(&pat.email)
        .await
        .unwrap();
    page.find(Locator::Id("password"))
        .await
        .unwrap()
        .send_keys(PASSWORD)
        .await
        .unwrap();
    page.find(Locator::Css("form.form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.wait()
        .for_element(Locator::Css("a[href='/dashboard']"))
        .await
        .unwrap();

    page.goto(&app.url("/exams/acme/demo")).await.unwrap();
    page.find(Locator::Css("#start button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.wait()
        .for_element(Locator::Id("exam-form"))
        .await
        .unwrap();
    let url = page.current_url().await.unwrap();
    let attempt = url.path().trim_start_matches("/attempts/").to_string();
    assert!(!attempt.is_empty() && !attempt.contains('/'), "{url}");

    // Click the first choice of the first question: the script saves it through the API.
    let first = page.find(Locator::Id("q-1-1")).await.unwrap();
    let question = page
        .find(Locator::Css("#q-1"))
        .await
        .unwrap()
        .attr("data-question")
        .await
        .unwrap()
        .unwrap();
    let choice = first.attr("value").await.unwrap().unwrap();
    first.click().await.unwrap();
    let saved = eventually("the autosave", Duration::from_secs(10), || async {
        let view = app
            .get(&format!("/api/v1/attempts/{attempt}"), Some(&pat.token))
            .await
            .json();
        view["answers"].get(&question).cloned()
    })
    .await;
    assert_eq!(saved, json!([choice]));
    let state = page
        .find(Locator::Css(&format!("[data-save-state='{question}']")))
        .await
        .unwrap();
    eventually("the saved indicator", Duration::from_secs(5), || async {
        (state.text().await.unwrap_or_default() == "Saved").then_some(())
    })
    .await;
    let nav = page
        .find(Locator::Css(&format!("[data-nav='{question}']")))
        .await
        .unwrap();
    assert!(nav
        .attr("class")
        .await
        .unwrap()
        .unwrap_or_default()
        .contains("answered"));
    let timer = page
        .find(Locator::Css(".exam-side [data-timer-text]"))
        .await
        .unwrap();
    let shown = timer.prop("textContent").await.unwrap().unwrap_or_default();
    assert!(
        shown.len() == 5 && shown.as_bytes()[2] == b':' && shown.starts_with(['2', '3']),
        "timer shows {shown:?}"
    );

    // A reload shows the saved answer checked.
    page.refresh().await.unwrap();
    let first = page.wait().for_element(Locator::Id("q-1-1")).await.unwrap();
    assert_eq!(
        first.prop("checked").await.unwrap().as_deref(),
        Some("true")
    );

    // Submitting (the confirmation accepted) leads to the score report.
    page.execute("window.confirm = function () { return true; };", vec![])
        .await
        .unwrap();
    page.find(Locator::Css("button[value=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    page.wait()
        .for_element(Locator::Css(".result-verdict"))
        .await
        .unwrap();
    assert!(page
        .current_url()
        .await
        .unwrap()
        .path()
        .ends_with("/result"));
    page.close().await.unwrap();
    app.stop().await;
}
