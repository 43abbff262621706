//! A real SMTP server for tests: aiosmtpd in its own process, storing each message in a Maildir
//! that the test reads back. Killed when dropped.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct SmtpServer {
    pub port: u16,
    pub maildir: PathBuf,
    _dir: tempfile::TempDir,
    child: Option<Child>,
}

/// One received message, decoded.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    pub text: String,
    pub attachments: Vec<(String, Vec<u8>)>,
}

impl Mail {
    /// The `token` query parameter of the first link to `path` in the body.
    pub fn link_token(&self, path: &str) -> Option<String> {
        let start = self.text.find(&format!("{path}?token="))?;
        let rest = &self.text[start..];
        let link = rest.split_whitespace().next()?;
        let url = url::Url::parse(&format!("http://x{link}")).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == "token")
            .map(|(_, v)| v.into_owned())
    }
}

impl SmtpServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_on(super::free_port())
    }

    pub fn start_on(port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let maildir = dir.path().join("maildir");
        let mut server = SmtpServer {
            port,
            maildir,
            _dir: dir,
            child: None,
        };
        server.resume();
        server
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// (Re)starts the server process on the same port and mailbox.
    pub fn resume(&mut self) {
        assert!(self.child.is_none(), "the SMTP server is already running");
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&self.maildir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd (python3 -m pip install aiosmtpd; the README's test command does it)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("aiosmtpd exited at start ({status}); is aiosmtpd installed?");
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not start listening"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Stops the server process; mail sent meanwhile is refused at the socket.
    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
            assert!(Instant::now() < deadline, "aiosmtpd did not stop");
            std::thread::sleep(Duration::from_millis(30));
        }
    }

    /// Every message received so far.
    pub fn messages(&self) -> Vec<Mail> {
        let mut files: Vec<PathBuf> = ["new", "cur"]
            .iter()
            .flat_map(|sub| read_dir(&self.maildir.join(sub)))
            .collect();
        files.sort();
        files.iter().filter_map(|f| parse(f)).collect()
    }

    pub fn messages_to(&self, address: &str) -> Vec<Mail> {
        let address = address.to_lowercase();
        self.messages()
            .into_iter()
            .filter(|m| m.to == address)
            .collect()
    }

    /// Waits for a message to `address` matching `pred`.
    pub async fn wait_for(&self, address: &str, pred: impl Fn(&Mail) -> bool) -> Mail {
        super::eventually(
            &format!("a mail to {address}"),
            Duration::from_secs(20),
            || {
                let found = self.messages_to(address).into_iter().find(|m| pred(m));
                async move { found }
            },
        )
        .await
    }
}

fn read_dir(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn parse(path: &Path) -> Option<Mail> {
    use mail_parser::MimeHeaders;
    let bytes = std::fs::read(path).ok()?;
    let message = mail_parser::MessageParser::default().parse(&bytes)?;
    let to = message
        .to()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or_default()
        .to_lowercase();
    let attachments = message
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    Some(Mail {
        to,
        subject: message.subject().unwrap_or_default().to_string(),
        message_id: message.message_id().unwrap_or_default().to_string(),
        text: message
            .body_text(0)
            .map(|t| t.into_owned())
            .unwrap_or_default(),
        attachments,
    })
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.pause();
    }
}
