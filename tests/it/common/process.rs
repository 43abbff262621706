//! `credo serve` as a child process, for tests about crashes, several nodes and logs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ChildServer {
    pub base: String,
    child: Option<Child>,
    pub log_path: PathBuf,
}

pub struct ChildConfig<'a> {
    pub database_url: &'a str,
    pub data_dir: &'a Path,
    pub smtp_url: &'a str,
    pub extra_env: Vec<(&'a str, String)>,
}

impl ChildServer {
    pub fn start(config: &ChildConfig<'_>) -> Self {
        Self::start_with_args(config, &[])
    }

    /// `credo serve <args…>`, e.g. `&["--demo"]`.
    pub fn start_with_args(config: &ChildConfig<'_>, args: &[&str]) -> Self {
        let port = super::free_port();
        let base = format!("http://127.0.0.1:{port}");
        std::fs::create_dir_all(config.data_dir).unwrap();
        let log_path = config.data_dir.join(format!("serve-{port}.log"));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(super::credo_binary());
        command
            .arg("serve")
            .args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("CREDO_BIND", format!("127.0.0.1:{port}"))
            .env("CREDO_BASE_URL", &base)
            .env("CREDO_DATA_DIR", config.data_dir)
            .env("CREDO_DATABASE_URL", config.database_url)
            .env("CREDO_SMTP_URL", config.smtp_url)
            .env("CREDO_MASTER_KEY", "42".repeat(32))
            .env("CREDO_JOB_INTERVAL_MS", "20")
            .env("CREDO_MAIL_RETRY_BASE_MS", "100")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        for (key, value) in &config.extra_env {
            command.env(key, value);
        }
        let child = command.spawn().expect("start credo serve");
        let mut server = ChildServer {
            base,
            child: Some(child),
            log_path,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = reqwest::blocking::get(format!("{}/readyz", self.base)) {
                if response.status().is_success() {
                    return;
                }
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("credo serve exited at start ({status}):\n{}", self.logs());
            }
            assert!(
                Instant::now() < deadline,
                "credo serve did not become ready:\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// SIGKILL: no chance to clean up, like a crash or an OOM kill.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM and wait: the graceful path.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("credo serve did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}
