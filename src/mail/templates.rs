//! The transactional mails, as plain text. Links are absolute; nothing secret but the one-time
//! link the mail exists to deliver.

use super::{Attachment, AttachmentContent, Email};

fn email(to: &str, subject: impl Into<String>, text: String) -> Email {
    Email {
        to: to.to_string(),
        subject: subject.into(),
        text,
        attachments: Vec::new(),
        one_time_link: false,
    }
}

/// A mail whose body carries a one-time link.
fn with_one_time_link(mail: Email) -> Email {
    Email {
        one_time_link: true,
        ..mail
    }
}

pub fn verify_email(to: &str, name: &str, link: &str) -> Email {
    with_one_time_link(email(
        to,
        "Confirm your e-mail address for Credo",
        format!(
            "Hello {name},\n\nplease confirm your e-mail address by opening this link:\n\n{link}\n\n\
             The link works for 48 hours. If you did not create a Credo account, ignore this mail.\n"
        ),
    ))
}

pub fn password_reset(to: &str, name: &str, link: &str) -> Email {
    with_one_time_link(email(
        to,
        "Reset your Credo password",
        format!(
            "Hello {name},\n\nsomeone (hopefully you) asked to reset your Credo password. \
             Choose a new one here:\n\n{link}\n\n\
             The link works for one hour and only once. If you did not ask, ignore this mail: \
             your password stays as it is.\n"
        ),
    ))
}

/// Sent instead of a second account when someone registers an address that has one, so the
/// registration answer itself reveals nothing. No token: the reset page asks for the address.
pub fn registration_exists(to: &str, name: &str, login: &str, reset: &str) -> Email {
    email(
        to,
        "You already have a Credo account",
        format!(
            "Hello {name},\n\nsomeone (hopefully you) tried to register a Credo account with this \
             address. You already have one, so nothing was created.\n\n\
             Sign in: {login}\n\
             Forgot your password? Choose a new one: {reset}\n\n\
             If this was not you, ignore this mail; your account is unchanged.\n"
        ),
    )
}

pub struct ExamResult<'a> {
    pub exam_title: &'a str,
    pub passed: bool,
    pub score: &'a str,
    pub pass_percent: i32,
    pub result_link: &'a str,
}

pub fn exam_result(to: &str, name: &str, r: &ExamResult<'_>) -> Email {
    let verdict = if r.passed { "passed" } else { "did not pass" };
    email(
        to,
        format!("Your result: {}", r.exam_title),
        format!(
            "Hello {name},\n\nyou {verdict} {title} with a score of {score}% (pass mark {pass}%).\n\n\
             Your score report by domain: {link}\n",
            title = r.exam_title,
            score = r.score,
            pass = r.pass_percent,
            link = r.result_link,
        ),
    )
}

pub struct CredentialIssued<'a> {
    pub achievement: &'a str,
    pub issuer: &'a str,
    pub page_link: &'a str,
    pub valid_until: Option<&'a str>,
    pub credential_id: &'a str,
}

pub fn credential_issued(to: &str, name: &str, c: &CredentialIssued<'_>) -> Email {
    let expiry = c
        .valid_until
        .map(|d| format!("It is valid until {d}.\n"))
        .unwrap_or_default();
    let mut mail = email(
        to,
        format!("Your certificate: {}", c.achievement),
        format!(
            "Hello {name},\n\ncongratulations: {issuer} certifies you as \"{achievement}\".\n{expiry}\n\
             Share it or add it to LinkedIn from its page: {link}\n\n\
             The signed credential is attached as JSON; anyone can verify it with a standard \
             Verifiable Credentials verifier.\n",
            issuer = c.issuer,
            achievement = c.achievement,
            link = c.page_link,
        ),
    );
    mail.attachments.push(Attachment {
        filename: format!("credential-{}.json", c.credential_id),
        content_type: "application/json".into(),
        content: AttachmentContent::Credential(c.credential_id.to_owned()),
    });
    mail
}

pub fn credential_revoked(
    to: &str,
    name: &str,
    achievement: &str,
    reason: &str,
    page_link: &str,
) -> Email {
    email(
        to,
        format!("Your certificate was revoked: {achievement}"),
        format!(
            "Hello {name},\n\nyour certificate \"{achievement}\" was revoked.\nReason given: {reason}\n\n\
             Its page now shows it as revoked: {page_link}\n"
        ),
    )
}

pub fn expiry_reminder(
    to: &str,
    name: &str,
    achievement: &str,
    days: u32,
    expires: &str,
    page_link: &str,
) -> Email {
    email(
        to,
        format!("Your certificate expires in {days} days: {achievement}"),
        format!(
            "Hello {name},\n\nyour certificate \"{achievement}\" expires on {expires}. \
             Pass the renewal exam before then to keep it current.\n\nCertificate: {page_link}\n"
        ),
    )
}

pub fn commission_approved(
    to: &str,
    name: &str,
    amount: &str,
    program: &str,
    dashboard: &str,
) -> Email {
    email(
        to,
        format!("Commission approved: {amount}"),
        format!(
            "Hello {name},\n\na commission of {amount} from {program}'s advocate program was approved \
             and will be included in your next payout.\n\nYour referral dashboard: {dashboard}\n"
        ),
    )
}

pub fn payout_sent(to: &str, name: &str, amount: &str, reference: &str, dashboard: &str) -> Email {
    email(
        to,
        format!("Payout sent: {amount}"),
        format!(
            "Hello {name},\n\na payout of {amount} was sent to you (reference {reference}).\n\n\
             Your referral dashboard: {dashboard}\n"
        ),
    )
}
