//! Where mail goes: `.eml` files or an SMTP server (`smtp_url`).

use std::path::PathBuf;

use url::Url;

#[derive(Clone, PartialEq, Eq)]
pub enum MailTransport {
    /// Mails are written as `.eml` files under `<data_dir>/mail` (local runs and demos).
    Files(PathBuf),
    Smtp(SmtpConfig),
}

#[derive(Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    None,
    StartTls,
    Implicit,
}

#[derive(Clone)]
pub struct MailConfig {
    pub transport: MailTransport,
    pub from: String,
}

impl std::fmt::Debug for MailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match &self.transport {
            MailTransport::Files(dir) => format!("files({})", dir.display()),
            MailTransport::Smtp(s) => format!("smtp({}:{}, {:?})", s.host, s.port, s.tls),
        };
        f.debug_struct("MailConfig")
            .field("transport", &transport)
            .field("from", &self.from)
            .finish()
    }
}
/// `smtp://host:port` (plain, or `?tls=starttls`), `smtps://user:pass@host:465` (implicit TLS).
pub(super) fn parse_smtp_url(text: &str) -> Result<SmtpConfig, String> {
    let url = Url::parse(text).map_err(|_| "not a URL like smtp://host:25".to_string())?;
    let implicit = match url.scheme() {
        "smtp" => false,
        "smtps" => true,
        other => return Err(format!("scheme `{other}` is not smtp or smtps")),
    };
    let host = url
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or("the URL has no host")?
        .to_string();
    let mut tls = if implicit {
        SmtpTls::Implicit
    } else {
        SmtpTls::None
    };
    for (key, value) in url.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("tls", "starttls") if !implicit => tls = SmtpTls::StartTls,
            ("tls", "none") if !implicit => tls = SmtpTls::None,
            ("tls", other) => return Err(format!("tls={other} is not starttls or none")),
            (other, _) => return Err(format!("unknown parameter `{other}`")),
        }
    }
    let port = url.port().unwrap_or(if implicit { 465 } else { 25 });
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let username = (!url.username().is_empty()).then(|| decode(url.username()));
    let password = url.password().map(decode);
    Ok(SmtpConfig {
        host,
        port,
        tls,
        username,
        password,
    })
}
