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
    driver: Child,
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
            driver,
            profile,
            shots,
            counter: Default::default(),
        }
    }

    /// Saves a screenshot named after the step.
    pub async fn shot(&self, label: &str) {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let png = self.client.screenshot().await.expect("screenshot");
        let name: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        std::fs::write(self.shots.join(format!("{n:02}-{name}.png")), png).unwrap();
    }

    /// Opens a URL, waits for the page and saves a screenshot.
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

    pub async fn click(&self, css: &str) {
        self.wait_css(css).await.click().await.expect("click");
    }

    pub async fn text(&self, css: &str) -> String {
        self.wait_css(css).await.text().await.expect("text")
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
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
