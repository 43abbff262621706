//! The page checks every browser test runs (`Browser::check_page`) can fail: a page made to scroll
//! sideways, a table column cut off inside its card and chart text under 12 px are each caught, at
//! 375 px, on a page that passes the checks as served.

use std::panic::AssertUnwindSafe;

use futures_util::FutureExt;

use crate::common::browser::{Browser, Viewport};
use crate::common::TestApp;

/// The failure message of `check_page` after the script `defect` changed the page, if it failed.
/// Defects are built with the DOM and CSSOM: the page's CSP rightly ignores inline `style`.
async fn failure_with(browser: &Browser, url: &str, defect: &str) -> Option<String> {
    browser.visit(url, "docs").await;
    browser.check_page("the page as served").await;
    browser
        .script(&format!(
            "const main = document.querySelector('main'); {defect} return null;"
        ))
        .await;
    let outcome = AssertUnwindSafe(browser.check_page("with the defect"))
        .catch_unwind()
        .await;
    outcome.err().map(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

#[actix_web::test]
async fn page_checks_catch_sideways_scroll_clipped_columns_and_small_chart_text() {
    let app = TestApp::start().await;
    let browser = Browser::start("page_checks_catch_defects", Viewport::Phone).await;
    let url = app.url("/docs");
    for (defect, expected) in [
        (
            "const wide = document.createElement('div');
             wide.style.width = '1400px'; wide.style.height = '4px';
             main.append(wide);",
            "the page scrolls sideways",
        ),
        (
            "const card = document.createElement('div');
             card.className = 'card'; card.style.overflow = 'hidden';
             card.innerHTML = '<table><tr><td>median</td><td>90th percentile of the earnings</td></tr></table>';
             for (const cell of card.querySelectorAll('td')) {
               cell.style.whiteSpace = 'nowrap'; cell.style.padding = '0 200px 0 0';
             }
             main.append(card);",
            "content cut off",
        ),
        (
            "const chart = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
             chart.setAttribute('viewBox', '0 0 200 30'); chart.setAttribute('width', '200');
             const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
             label.setAttribute('x', '0'); label.setAttribute('y', '20');
             label.setAttribute('font-size', '8'); label.textContent = 'median';
             chart.append(label); main.append(chart);",
            "SVG text under 12 px",
        ),
    ] {
        let failure = failure_with(&browser, &url, defect).await;
        let message = failure.unwrap_or_else(|| panic!("the checks passed a page with: {defect}"));
        assert!(message.contains(expected), "{defect}: {message}");
    }
    browser.close().await;
    app.stop().await;
}
