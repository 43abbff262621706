//! Account pages in a real headless Chromium: register (mistakes shown next to the fields),
//! confirm by the mailed link, sign in, dashboard, sign out, reset a forgotten password by the
//! mailed link — on a desktop window and at 375 px.
//! Every page passes `Browser::check_page` (run by each `visit` and `shot`).

use crate::common::browser::{Browser, Viewport};
use crate::common::{TestApp, PASSWORD};

async fn journey(test_name: &str, viewport: Viewport) {
    let app = TestApp::start().await;
    let browser = Browser::start(test_name, viewport).await;

    browser.visit(&app.url("/"), "home").await;
    browser.visit(&app.url("/register"), "register").await;

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
    browser.assert_focus_visible("#email").await;
    browser.fill("#email", "grace@example.org").await;
    browser.fill("#password", PASSWORD).await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Hello, Grace Hopper").await;
    assert_eq!(browser.current_path().await, "/dashboard");
    browser.shot("dashboard").await;

    // Keyboard focus is visible on links, buttons and fields.
    browser.assert_focus_visible("a.brand").await;
    browser
        .assert_focus_visible("nav form button[type=submit]")
        .await;

    browser.click("nav form button[type=submit]").await;
    browser.wait_text("Sign in").await;
    browser.shot("signed-out").await;
    assert_eq!(browser.current_path().await, "/");
    browser
        .visit(&app.url("/dashboard"), "dashboard-after-signout")
        .await;
    assert_eq!(browser.current_path().await, "/login");

    // A forgotten password: the form (a mistake shown next to its field), the mailed link, a new
    // password, and signing in with it.
    browser.click("main a[href='/password-reset']").await;
    browser.wait_css("#email").await;
    browser.shot("password-reset").await;
    browser.fill("#email", "not an address").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_css("#email-error").await;
    browser.shot("password-reset-error").await;
    browser.fill("#email", "grace@example.org").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Check your mail").await;
    browser.shot("password-reset-sent").await;
    let mail = app
        .smtp
        .wait_for("grace@example.org", |m| m.subject.contains("Reset"))
        .await;
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.contains("/password-reset/confirm?token="))
        .expect("reset link in the mail")
        .to_string();
    browser.visit(&link, "password-reset-confirm").await;
    browser.fill("#password", "short").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_css("#password-error").await;
    browser.shot("password-reset-too-short").await;
    browser.fill("#password", "a brand new passphrase").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Your password is changed").await;
    browser.shot("password-changed").await;
    browser.click("main a[href='/login']").await;
    browser.fill("#email", "grace@example.org").await;
    browser.fill("#password", "a brand new passphrase").await;
    browser.click("form.form button[type=submit]").await;
    browser.wait_text("Hello, Grace Hopper").await;

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
