//! Field-level validation errors shared by every domain; the HTTP layer turns them into the
//! `errors: [{field, message}]` of a 422 problem, the pages show them next to the fields.

use serde::Serialize;

/// One problem of the input: which field (`email`, `items[2].text`, `line:12` for bank files)
/// and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// Collects every problem of an input before answering, so people fix them all at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.into(),
            message: message.into(),
        });
    }

    pub fn check(&mut self, ok: bool, field: &str, message: &str) {
        if !ok {
            self.add(field, message);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was added.
    pub fn finish(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }

    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// A slug usable in URLs and did:web identifiers: 1–64 of `[a-z0-9-]`, not starting or ending
/// with '-'. Vendors and exams share this rule.
pub fn is_slug(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !text.starts_with('-')
        && !text.ends_with('-')
}

/// One-field error list, for the common single-problem case.
pub fn field_error(field: &str, message: impl Into<String>) -> Vec<FieldError> {
    vec![FieldError {
        field: field.to_string(),
        message: message.into(),
    }]
}

/// Normalizes and checks an e-mail address: trimmed, lower-cased, RFC 5321 syntax (via lettre)
/// and a dot in the domain, which catches most typos.
pub fn normalize_email(input: &str) -> Result<String, &'static str> {
    let email = input.trim().to_lowercase();
    if email.is_empty() {
        return Err("enter your e-mail address");
    }
    if email.len() > 254 {
        return Err("an e-mail address has at most 254 characters");
    }
    let parsed: lettre::Address = email
        .parse()
        .map_err(|_| "this is not an e-mail address like name@example.com")?;
    if !parsed.domain().contains('.') || parsed.domain().starts_with('[') {
        return Err("this is not an e-mail address like name@example.com");
    }
    Ok(email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lower_cased_and_checked() {
        assert_eq!(
            normalize_email("  Ada@Example.ORG ").unwrap(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.org",
            "ada@localhost",
            "a b@example.org",
            "ada@@x.org",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn collects_all_errors() {
        let mut errors = FieldErrors::new();
        errors.check(true, "a", "never");
        errors.check(false, "b", "bad b");
        errors.add("c", "bad c");
        assert_eq!(errors.message_for("b"), Some("bad b"));
        let list = errors.finish().unwrap_err();
        assert_eq!(list.len(), 2);
    }
}
