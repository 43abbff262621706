//! Account pages in a real headless Chromium: register, confirm by the mailed link, sign in,
//! dashboard, sign out — on a desktop window and at 375 px.

mod common;

use common::browser::{Browser, Viewport};
use common::{TestApp, PASSWORD};

/// Checks that apply to every page: no horizontal scrolling, every visible form control has a
/// label, no raw JSON or stack traces.
async fn check_page(browser: &Browser, viewport: Viewport) {
    let report = browser
        .script(
            r#"
            const unlabeled = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
              .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
              .map(el => el.name || el.id);
            return {
              overflow: document.documentElement.scrollWidth - window.innerWidth,
              unlabeled,
              text: document.body.innerText,
            };
            "#,
        )
        .await;
    assert!(
        report["unlabeled"].as_array().unwrap().is_empty(),
        "unlabeled controls: {}",
        report["unlabeled"]
    );
    if matches!(viewport, Viewport::Phone) {
        assert!(
            report["overflow"].as_i64().unwrap() <= 0,
            "the page scrolls sideways at 375 px"
        );
    }
    let text = report["text"].as_str().unwrap();
    assert!(
        !text.contains("{\"") && !text.contains("panicked"),
        "raw internals on the page:\n{text}"
    );
}

async fn journey(test_name: &str, viewport: Viewport) {
    let app = TestApp::start().await;
    let browser = Browser::start(test_name, viewport).await;

    browser.visit(&app.url("/"), "home").await;
    check_page(&browser, viewport).await;
    browser.visit(&app.url("/register"), "register").await;
    check_page(&browser, viewport).await;

    // Mistakes are shown next to the fields.
    browser.fill("#display_name", "Grace Hopper").await;
    browser.fill("#email", "not an address").await;
    browser.fill("#password", "short").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_css("#email-error").await;
    browser.shot("register-errors").await;
    assert!(browser
        .text("#password-error")
        .await
        .contains("10 characters"));
    check_page(&browser, viewport).await;

    browser.fill("#email", "grace@example.org").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Check your mail").await;
    browser.shot("registered").await;

    // The link from the real mail.
    let mail = app
        .smtp
        .wait_for("grace@example.org", |m| m.subject.contains("Confirm"))
        .await;
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/verify-email?token="))
        .expect("link in the mail")
        .to_string();
    browser.visit(&link, "verified").await;
    browser.wait_text("is confirmed").await;

    browser.visit(&app.url("/login"), "login").await;
    check_page(&browser, viewport).await;
    browser.fill("#email", "grace@example.org").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Hello, Grace Hopper").await;
    assert_eq!(browser.current_path().await, "/dashboard");
    browser.shot("dashboard").await;
    check_page(&browser, viewport).await;

    // Keyboard focus is visible: a focused link gets a box-shadow or outline.
    let focus = browser
        .script(
            r#"const a = document.querySelector('a.brand'); a.focus();
               const s = getComputedStyle(a); return s.boxShadow !== 'none' || s.outlineStyle !== 'none';"#,
        )
        .await;
    assert_eq!(
        focus,
        serde_json::Value::Bool(true),
        "focused links show no focus ring"
    );

    browser.click("nav form button[type=submit]").await;
    browser.wait_text("Sign in").await;
    browser.shot("signed-out").await;
    assert_eq!(browser.current_path().await, "/");
    browser
        .visit(&app.url("/dashboard"), "dashboard-after-signout")
        .await;
    assert_eq!(browser.current_path().await, "/login");

    browser.close().await;
    app.stop().await;
}

#[actix_web::test]
async fn account_journey_on_a_desktop() {
    journey("account_journey_on_a_desktop", Viewport::Desktop).await;
}

#[actix_web::test]
async fn account_journey_at_375_px() {
    journey("account_journey_at_375_px", Viewport::Phone).await;
}
