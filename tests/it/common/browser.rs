//! A real headless Chromium driven through chromedriver (WebDriver) with fantoccini. Each
//! browser gets its own chromedriver process and profile directory; both are killed on drop, even
//! when the test fails, so nothing is left holding the test run open. Every `visit` and `shot`
//! saves a screenshot under `target/screenshots/<test>/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

pub struct Browser {
    pub client: Client,
    pub viewport: Viewport,
    driver: Child,
    driver_port: u16,
    profile: tempfile::TempDir,
    shots: PathBuf,
    counter: std::sync::atomic::AtomicUsize,
}

/// Desktop or phone-sized window.
#[derive(Debug, Clone, Copy)]
pub enum Viewport {
    Desktop,
    Phone,
}

fn binary(name: &str, fallbacks: &[&str]) -> String {
    fallbacks
        .iter()
        .find(|p| std::path::Path::new(p).exists())
        .map(|p| p.to_string())
        .unwrap_or_else(|| name.to_string())
}

impl Browser {
    pub async fn start(test_name: &str, viewport: Viewport) -> Browser {
        credo::install_crypto_provider();
        let port = super::free_port();
        let driver = Command::new(binary("chromedriver", &["/usr/bin/chromedriver"]))
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver (apt-get install chromium chromium-driver; the README's test command does it)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            "--window-size=1280,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        let mut options =
            serde_json::json!({"args": args, "binary": binary("chromium", &["/usr/bin/chromium"])});
        if let Viewport::Phone = viewport {
            // A window can't be narrower than Chromium's minimum; device emulation sets the
            // viewport itself to 375 CSS pixels, as on a phone.
            options["mobileEmulation"] = serde_json::json!({"deviceMetrics": {"width": 375, "height": 812, "pixelRatio": 1.0}});
        }
        capabilities.insert("goog:chromeOptions".into(), options);
        let client = ClientBuilder::rustls()
            .expect("rustls client")
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("connect to chromedriver and start Chromium");
        let shots = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("target/screenshots")
            .join(test_name);
        let _ = std::fs::remove_dir_all(&shots);
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            client,
            viewport,
            driver,
            driver_port: port,
            profile,
            shots,
            counter: Default::default(),
        }
    }

    /// Saves a screenshot named after the step, then checks the page (see [`Browser::check_page`]).
    pub async fn shot(&self, label: &str) {
        self.screenshot(label).await;
        self.check_page(label).await;
    }

    /// Saves a screenshot named after the step, without checking the page.
    pub async fn screenshot(&self, label: &str) {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let png = match self.full_page_png().await {
            Some(png) => png,
            None => self.client.screenshot().await.expect("screenshot"),
        };
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        std::fs::write(self.shots.join(format!("{n:02}-{name}.png")), png).unwrap();
    }

    /// The whole page, not just the window, through chromedriver's DevTools passthrough
    /// (`Page.captureScreenshot` with `captureBeyondViewport`); `None` if that is unavailable.
    async fn full_page_png(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        let session = self.client.session_id().await.ok()??;
        let url = format!(
            "http://127.0.0.1:{}/session/{session}/goog/cdp/execute",
            self.driver_port
        );
        let body = serde_json::json!({
            "cmd": "Page.captureScreenshot",
            "params": {"format": "png", "captureBeyondViewport": true},
        });
        let answer: serde_json::Value = reqwest::Client::new()
            .post(url)
            .json(&body)
            .send()
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let data = answer["value"]["data"].as_str()?;
        base64::engine::general_purpose::STANDARD.decode(data).ok()
    }

    /// Opens a URL, waits for the page, saves a screenshot and checks the page.
    pub async fn visit(&self, url: &str, label: &str) {
        self.client.goto(url).await.expect("navigate");
        self.wait_css("body").await;
        self.shot(label).await;
    }

    pub async fn wait_css(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(15))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let field = self.wait_css(css).await;
        field.clear().await.expect("clear");
        field.send_keys(value).await.expect("type");
    }

    /// Clicks the element, scrolled to the middle of the window first (as a person would see it;
    /// sticky bars at the top never cover it).
    pub async fn click(&self, css: &str) {
        let element = self.wait_css(css).await;
        self.client
            .execute(
                "arguments[0].scrollIntoView({block: 'center', inline: 'nearest'});",
                vec![serde_json::to_value(&element).expect("element reference")],
            )
            .await
            .expect("scroll into view");
        element.click().await.expect("click");
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.expect("text")
    }

    pub async fn current_path(&self) -> String {
        self.client
            .current_url()
            .await
            .expect("url")
            .path()
            .to_string()
    }

    /// Waits until the page's visible text contains `needle`. Reads the text by script, so a
    /// navigation in progress (stale elements, no document yet) just means "not yet".
    pub async fn wait_text(&self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let mut last = String::new();
        loop {
            if let Ok(serde_json::Value::String(text)) = self
                .client
                .execute(
                    "return document.body ? document.body.innerText : '';",
                    vec![],
                )
                .await
            {
                if text.contains(needle) {
                    return;
                }
                last = text;
            }
            assert!(
                Instant::now() < deadline,
                "page never showed {needle:?}; it shows:\n{last}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs a script and returns its JSON result.
    pub async fn script(&self, js: &str) -> serde_json::Value {
        self.client.execute(js, vec![]).await.expect("script")
    }

    /// Checks that apply to every page, with the step's name in the failure:
    /// - the page does not scroll sideways (at 375 px as on a desktop; wide tables scroll inside
    ///   their `.table-wrap`);
    /// - every visible form control has a label and every visible button a name;
    /// - every control marked `aria-invalid` points (`aria-describedby`) at a visible message placed
    ///   next to it: in the same field or fieldset, or right below it;
    /// - nothing is clipped or spills out of its box: no element hides content sideways
    ///   (`overflow: hidden`) or lets it run out of a card, a table or a cell; a frame that scrolls
    ///   sideways is a `.table-wrap` (or code in `<pre>`) with its visible scroll cue (the edge
    ///   shadows: a background image); every table fits the window unless such a frame holds it;
    /// - text in SVG charts is drawn at 12 px or more;
    /// - one `<h1>`, and a title of the form "… · Credo";
    /// - no raw JSON, stack traces or template leftovers in the text (code samples aside).
    pub async fn check_page(&self, step: &str) {
        let report = self
            .script(
                r#"
                const visible = el => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length)
                  && getComputedStyle(el).visibility !== 'hidden';
                const controls = [...document.querySelectorAll('input:not([type=hidden]), select, textarea')];
                const unlabeled = controls
                  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                    && !el.getAttribute('aria-labelledby'))
                  .map(el => el.name || el.id || el.outerHTML);
                const nameless = [...document.querySelectorAll('button, a[href]')]
                  .filter(el => visible(el) && !el.textContent.trim() && !el.getAttribute('aria-label'))
                  .map(el => el.outerHTML.slice(0, 120));
                const far = [];
                for (const el of document.querySelectorAll('[aria-invalid=true]')) {
                  const ids = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
                  const messages = ids.map(id => document.getElementById(id)).filter(Boolean);
                  const shown = messages.filter(m => visible(m) && m.textContent.trim());
                  const box = el.getBoundingClientRect();
                  const near = shown.filter(m => {
                    const groups = [el.closest('.field'), el.closest('fieldset')].filter(Boolean);
                    if (groups.some(g => g.contains(m))) return true;
                    const r = m.getBoundingClientRect();
                    return r.top >= box.top && r.top - box.bottom < 48;
                  });
                  if (!near.length) far.push(el.name || el.id);
                }
                const describe = el => el.tagName.toLowerCase()
                  + (el.id ? '#' + el.id : '')
                  + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '')
                  + ' "' + (el.textContent || '').trim().slice(0, 40) + '"';
                const framed = el => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
                const clipped = [];
                const uncued = [];
                const spilled = [];
                for (const el of document.querySelectorAll('body *')) {
                  if (!visible(el) || el.closest('svg, .visually-hidden, select, textarea, input')) continue;
                  if (el.scrollWidth <= el.clientWidth + 1 || el.clientWidth <= 1) continue;
                  const style = getComputedStyle(el);
                  if (['auto', 'scroll'].includes(style.overflowX)) {
                    const cue = el.matches('pre') || (el.matches('.table-wrap') && style.backgroundImage !== 'none');
                    if (!cue) uncued.push(describe(el));
                  } else if (['hidden', 'clip'].includes(style.overflowX)) {
                    clipped.push(describe(el));
                  } else if (el.matches('.card, table, td, th, .table-wrap, .stat, .question')) {
                    spilled.push(describe(el));
                  }
                }
                const width = document.documentElement.clientWidth;
                for (const table of document.querySelectorAll('table')) {
                  if (!visible(table)) continue;
                  let frame = table.parentElement;
                  while (frame && frame !== document.body && !framed(frame)) frame = frame.parentElement;
                  const inFrame = frame && frame !== document.body;
                  const box = table.getBoundingClientRect();
                  if (!inFrame && (box.right > width + 1 || box.left < -1)) clipped.push('table cut at the window: ' + describe(table));
                }
                const small = [...document.querySelectorAll('svg text, svg tspan')]
                  .filter(el => el.getClientRects().length && el.textContent.trim())
                  .map(el => {
                    const m = el.getScreenCTM();
                    const size = parseFloat(getComputedStyle(el).fontSize) * (m ? Math.hypot(m.a, m.b) : 1);
                    return { size, text: el.textContent.trim().slice(0, 30) };
                  })
                  .filter(t => t.size < 11.95)
                  .map(t => t.text + ' at ' + t.size.toFixed(1) + ' px');
                return {
                  clipped,
                  uncued,
                  spilled,
                  small,
                  scroll_width: document.documentElement.scrollWidth,
                  inner_width: window.innerWidth,
                  unlabeled,
                  nameless,
                  far,
                  h1: document.querySelectorAll('h1').length,
                  title: document.title,
                  // Code samples (in the docs) may show JSON; everything else may not.
                  text: (() => {
                    const samples = [...document.querySelectorAll('pre, code')];
                    const shown = samples.map((el) => el.style.display);
                    samples.forEach((el) => { el.style.display = 'none'; });
                    const text = document.body.innerText;
                    samples.forEach((el, i) => { el.style.display = shown[i]; });
                    return text;
                  })(),
                };
                "#,
            )
            .await;
        let list = |key: &str| report[key].as_array().cloned().unwrap_or_default();
        assert!(
            list("unlabeled").is_empty(),
            "{step}: unlabeled controls: {}",
            report["unlabeled"]
        );
        assert!(
            list("nameless").is_empty(),
            "{step}: buttons or links without a name: {}",
            report["nameless"]
        );
        assert!(
            list("far").is_empty(),
            "{step}: invalid fields without their error message next to them: {}",
            report["far"]
        );
        for (key, what) in [
            ("clipped", "content cut off"),
            (
                "uncued",
                "frames that scroll sideways without a visible cue",
            ),
            ("spilled", "content running out of its card, table or cell"),
            ("small", "SVG text under 12 px"),
        ] {
            assert!(
                list(key).is_empty(),
                "{step}: {what} at {:?} size: {}",
                self.viewport,
                report[key]
            );
        }
        // A phone's browser zooms out to fit a page wider than the screen, so its inner width grows
        // with the page: measure against the emulated screen instead.
        let window_width = match self.viewport {
            Viewport::Phone => 375,
            Viewport::Desktop => report["inner_width"].as_i64().unwrap_or(0),
        };
        let overflow = report["scroll_width"].as_i64().unwrap_or(0) - window_width;
        assert!(
            overflow <= 0,
            "{step}: the page scrolls sideways by {overflow} px at {:?} size",
            self.viewport
        );
        assert_eq!(report["h1"], 1, "{step}: a page has exactly one <h1>");
        let title = report["title"].as_str().unwrap_or_default();
        assert!(
            title.ends_with(" · Credo") && title.len() > " · Credo".len(),
            "{step}: page title {title:?}"
        );
        let text = report["text"].as_str().unwrap_or_default();
        for leak in [
            "{\"",
            "panicked",
            "stack backtrace",
            "RUST_BACKTRACE",
            "{{",
            "{%",
        ] {
            assert!(
                !text.contains(leak),
                "{step}: raw internals ({leak}) on the page:\n{text}"
            );
        }
    }

    /// Focuses the first element matching `css` the way a keyboard user gets there (a Tab press,
    /// then focus moving to it) and asserts the focus is visible: `:focus-visible` matches and
    /// the element shows an outline or a focus ring.
    pub async fn assert_focus_visible(&self, css: &str) {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        use fantoccini::key::Key;
        self.wait_css(css).await;
        let tab = KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Tab.into(),
            });
        self.client.perform_actions(tab).await.expect("press Tab");
        let shown = self
            .client
            .execute(
                r#"const el = document.querySelector(arguments[0]); el.focus();
                   const s = getComputedStyle(el);
                   return document.activeElement === el && el.matches(':focus-visible')
                     && (s.boxShadow !== 'none' || (s.outlineStyle !== 'none' && s.outlineWidth !== '0px'));"#,
                vec![serde_json::json!(css)],
            )
            .await
            .expect("focus script");
        assert_eq!(
            shown,
            serde_json::Value::Bool(true),
            "keyboard focus on {css} is not visible"
        );
    }

    /// Puts `text` into a field at once, as pasting does (typing long JSON key by key is slow).
    pub async fn paste(&self, css: &str, text: &str) {
        self.wait_css(css).await;
        self.client
            .execute(
                r#"const el = document.querySelector(arguments[0]); el.focus(); el.value = arguments[1];
                   el.dispatchEvent(new Event('input', {bubbles: true}));"#,
                vec![serde_json::json!(css), serde_json::json!(text)],
            )
            .await
            .expect("paste");
    }

    /// An attribute of the first element matching `css`.
    pub async fn attr(&self, css: &str, name: &str) -> Option<String> {
        self.wait_css(css)
            .await
            .attr(name)
            .await
            .expect("attribute")
    }

    /// Clicks a button that asks `window.confirm` first, and accepts the dialog.
    pub async fn click_and_confirm(&self, css: &str) {
        self.click(css).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.client.accept_alert().await.is_err() {
            assert!(
                Instant::now() < deadline,
                "no confirmation dialog after {css}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs in through the login form and waits for the dashboard.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.visit(&format!("{base}/login"), "sign-in").await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form.form button[type=submit]").await;
        self.wait_css("nav form[action='/logout']").await;
    }

    /// Signs out with the header's button.
    pub async fn sign_out(&self) {
        self.click("nav form[action='/logout'] button[type=submit]")
            .await;
        self.wait_css("nav a[href='/login']").await;
    }

    pub async fn close(mut self) {
        let client = self.client.clone();
        let _ = client.close().await;
        self.kill();
    }

    fn kill(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        // Chromium outlives a killed chromedriver; its profile directory names it.
        let _ = Command::new("pkill")
            .arg("-f")
            .arg(self.profile.path().display().to_string())
            .status();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.kill();
    }
}
