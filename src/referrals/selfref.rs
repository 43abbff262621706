//! Self-referral detection (DESIGN §6 rule 3): a customer whose e-mail address, or whose e-mail
//! domain, equals the advocate's is probably the advocate buying through their own link. Such a
//! commission is created `held` with the reason, and a program manager reviews it.
//!
//! Domains of public mail providers don't count as "the same domain": two different people with
//! gmail.com addresses are not self-referral. The list is short on purpose (the providers most
//! people use); anything else is treated as an organisation's own domain.

/// Public mail providers whose domain alone says nothing about who is behind an address.
pub const PUBLIC_MAIL_DOMAINS: &[&str] = &[
    "163.com",
    "aol.com",
    "fastmail.com",
    "gmail.com",
    "gmx.com",
    "gmx.de",
    "gmx.net",
    "googlemail.com",
    "hey.com",
    "hotmail.com",
    "icloud.com",
    "live.com",
    "mac.com",
    "mail.com",
    "mail.ru",
    "me.com",
    "msn.com",
    "outlook.com",
    "pm.me",
    "proton.me",
    "protonmail.com",
    "qq.com",
    "t-online.de",
    "tutanota.com",
    "web.de",
    "yahoo.com",
    "yandex.com",
    "yandex.ru",
    "ymail.com",
    "zoho.com",
];

/// Why a commission must be held for review, or `None` when the addresses look unrelated.
/// Comparison is case-insensitive; a missing customer address is never self-referral.
pub fn self_referral_reason(advocate_email: &str, customer_email: Option<&str>) -> Option<String> {
    let customer = customer_email?.trim().to_ascii_lowercase();
    let advocate = advocate_email.trim().to_ascii_lowercase();
    if customer.is_empty() || advocate.is_empty() {
        return None;
    }
    if customer == advocate {
        return Some(
            "possible self-referral: the customer's e-mail address is the advocate's".into(),
        );
    }
    let domain_of = |email: &str| email.rsplit_once('@').map(|(_, d)| d.to_string());
    match (domain_of(&advocate), domain_of(&customer)) {
        (Some(a), Some(c)) if a == c && !a.is_empty() && !is_public_mail_domain(&a) => Some(
            format!("possible self-referral: the customer's e-mail domain ({c}) is the advocate's"),
        ),
        _ => None,
    }
}

pub fn is_public_mail_domain(domain: &str) -> bool {
    PUBLIC_MAIL_DOMAINS.contains(&domain.trim().to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_address_is_held() {
        let reason = self_referral_reason("Ana@Acme.io", Some(" ana@acme.io "));
        assert!(reason.unwrap().contains("address"));
        let reason = self_referral_reason("ana@gmail.com", Some("ANA@gmail.com"));
        assert!(
            reason.is_some(),
            "same public address is still the same person"
        );
    }

    #[test]
    fn same_organisation_domain_is_held() {
        let reason = self_referral_reason("ana@acme.io", Some("bob@acme.io")).unwrap();
        assert!(reason.contains("acme.io"), "{reason}");
    }

    #[test]
    fn public_domains_and_other_domains_are_not() {
        assert_eq!(
            self_referral_reason("ana@gmail.com", Some("bob@gmail.com")),
            None
        );
        assert_eq!(
            self_referral_reason("ana@outlook.com", Some("bob@Outlook.com")),
            None
        );
        assert_eq!(
            self_referral_reason("ana@acme.io", Some("bob@other.io")),
            None
        );
        // A subdomain is another domain.
        assert_eq!(
            self_referral_reason("ana@acme.io", Some("bob@eu.acme.io")),
            None
        );
        assert_eq!(self_referral_reason("ana@acme.io", None), None);
        assert_eq!(self_referral_reason("ana@acme.io", Some("")), None);
    }

    #[test]
    fn list_is_sorted_lower_case() {
        for pair in PUBLIC_MAIL_DOMAINS.windows(2) {
            assert!(pair[0] < pair[1], "{} before {}", pair[0], pair[1]);
        }
        assert!(PUBLIC_MAIL_DOMAINS
            .iter()
            .all(|d| *d == d.to_ascii_lowercase()));
    }
}
