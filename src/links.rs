//! Absolute URLs of public pages, built from the configured base URL (mails, credentials, QR codes),
//! and the one check for places the site redirects to ([`safe_next`]).

use url::Url;

#[derive(Debug, Clone)]
pub struct Links {
    base: Url,
}

impl Links {
    pub fn new(base: Url) -> Self {
        Self { base }
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    /// `base` + an absolute path; the path must start with '/'.
    pub fn url(&self, path: &str) -> String {
        let mut base = self.base.as_str().trim_end_matches('/').to_string();
        base.push_str(path);
        base
    }

    fn with_token(&self, path: &str, token: &str) -> String {
        let mut url = self.base.join(path).unwrap_or_else(|_| self.base.clone());
        url.query_pairs_mut().append_pair("token", token);
        url.to_string()
    }

    pub fn verify_email(&self, token: &str) -> String {
        self.with_token("/verify-email", token)
    }

    pub fn password_reset(&self, token: &str) -> String {
        self.with_token("/password-reset/confirm", token)
    }

    pub fn credential_page(&self, credential_id: &str) -> String {
        self.url(&format!("/c/{credential_id}"))
    }

    pub fn credential_json(&self, credential_id: &str) -> String {
        self.url(&format!("/api/v1/credentials/{credential_id}"))
    }

    /// The Open Badges `Achievement` id of an exam (stable across versions and credentials).
    pub fn achievement(&self, vendor_slug: &str, exam_slug: &str) -> String {
        self.url(&format!("/exams/{vendor_slug}/{exam_slug}"))
    }

    /// An exam's badge image (the achievement's `image`); `extension` is `svg` or `png`
    /// (`badges::Format::as_str`).
    pub fn badge(&self, vendor_slug: &str, exam_slug: &str, extension: &str) -> String {
        self.url(&format!("/badges/{vendor_slug}/{exam_slug}.{extension}"))
    }

    /// A vendor's issuer DID document (`did:web:<host>:issuers:<vendor>`).
    pub fn issuer_did_document(&self, vendor_slug: &str) -> String {
        self.url(&format!("/issuers/{vendor_slug}/did.json"))
    }

    /// A vendor's `BitstringStatusListCredential` number `number`.
    pub fn status_list(&self, vendor_slug: &str, number: i32) -> String {
        self.url(&format!("/status/{vendor_slug}/{number}"))
    }

    /// The issuer profile page of a vendor.
    pub fn issuer_profile(&self, vendor_slug: &str) -> String {
        self.url(&format!("/issuers/{vendor_slug}"))
    }

    /// The paste/upload verification page.
    pub fn verify_page(&self) -> String {
        self.url("/verify")
    }

    pub fn attempt_result(&self, attempt_id: &str) -> String {
        self.url(&format!("/attempts/{attempt_id}/result"))
    }

    pub fn dashboard(&self) -> String {
        self.url("/dashboard")
    }

    /// A referral link: `/r/<code>` records the click and redirects to the vendor's landing page.
    pub fn referral(&self, code: &str) -> String {
        self.url(&format!("/r/{code}"))
    }

    /// The public page of an advocate program (terms, tiers, enroll form).
    pub fn program_page(&self, program_id: &str) -> String {
        self.url(&format!("/programs/{program_id}"))
    }

    /// The public yearly earnings disclosure of an advocate program.
    pub fn program_disclosure(&self, program_id: &str) -> String {
        self.url(&format!("/programs/{program_id}/disclosure"))
    }

    /// The practitioner's referral dashboard.
    pub fn referrals_dashboard(&self) -> String {
        self.url("/referrals")
    }
}

/// `target` if it is a path on this site, else `None`. Every redirect target taken from a request
/// (`next`, form fields) passes here. Refused, also after any number of percent-decodings: anything
/// not starting with one `/` (schemes, `//host`, `/\host`), control characters (browsers strip tabs
/// and newlines, so `/\t/evil` becomes `//evil`), backslashes, and anything a URL parser would read
/// as another host or with user info.
pub fn safe_next(target: &str) -> Option<&str> {
    const PROBE: &str = "http://credo.invalid/";
    let probe = Url::parse(PROBE).ok()?;
    let mut current = std::borrow::Cow::Borrowed(target);
    // Each round decodes once more; a target that still changes after a few rounds is refused.
    for _ in 0..4 {
        let text = current.as_ref();
        let refused = !text.starts_with('/')
            || text.starts_with("//")
            || text.chars().any(|c| c.is_control() || c == '\\')
            || probe.join(text).map_or(true, |u| {
                u.host_str() != probe.host_str()
                    || u.scheme() != probe.scheme()
                    || !u.username().is_empty()
                    || u.password().is_some()
            });
        if refused {
            return None;
        }
        let decoded = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
        if decoded == text {
            return Some(target);
        }
        current = std::borrow::Cow::Owned(decoded.into_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_safe_targets() {
        for good in [
            "/dashboard",
            "/exams/acme/cloud?tab=1",
            "/attempts/0193/result#top",
            "/c/x%20y",
            "/search?q=a%2Fb",
        ] {
            assert_eq!(safe_next(good), Some(good), "{good}");
        }
    }

    #[test]
    fn hostile_targets_are_refused() {
        for bad in [
            "",
            "dashboard",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/%09/evil.example",
            "/%0a/evil.example",
            "/%0d%0a/evil.example",
            "/%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "/%252F%252Fevil.example",
            "/%5Cevil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "/%00/evil.example",
            " /evil",
            "http:/evil.example",
            "//user@evil.example",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn tokens_are_query_encoded() {
        let links = Links::new(Url::parse("https://credo.example:8443/").unwrap());
        assert_eq!(
            links.verify_email("a+b/c"),
            "https://credo.example:8443/verify-email?token=a%2Bb%2Fc"
        );
        assert_eq!(links.credential_page("x"), "https://credo.example:8443/c/x");
    }
}
