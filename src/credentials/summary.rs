//! What a credential says about whom and what — holder, achievement, issuer, dates — read from
//! its JSON for people who verify it (the verify page, `POST /api/v1/verify`, the certificate
//! page). Callers show it only when the signature verified: an unsigned or altered document's
//! claims are nobody's word.

use serde::Serialize;
use serde_json::Value;

/// The claims a verifier wants to see, as written in the credential.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The holder's name, when the credential discloses it (an unhashed `name` identifier).
    pub holder: Option<String>,
    /// The achievement's name (the exam's title).
    pub achievement: Option<String>,
    pub issuer: IssuerSummary,
    /// `validFrom` as written (`YYYY-MM-DDTHH:MM:SSZ`).
    pub valid_from: Option<String>,
    /// `validUntil` as written; absent when the credential does not expire.
    pub valid_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IssuerSummary {
    pub id: Option<String>,
    pub name: Option<String>,
    pub url: Option<String>,
}

fn text(vc: &Value, pointer: &str) -> Option<String> {
    vc.pointer(pointer)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The holder's disclosed name: the first `identifier` of type `name` that is not hashed.
pub fn holder_name(vc: &Value) -> Option<&str> {
    vc.pointer("/credentialSubject/identifier")?
        .as_array()?
        .iter()
        .find(|i| i["identityType"] == "name" && i["hashed"] == false)
        .and_then(|i| i["identityHash"].as_str())
}

pub fn summarize(vc: &Value) -> Summary {
    let issuer_id = match vc.get("issuer") {
        Some(Value::String(id)) => Some(id.clone()),
        _ => text(vc, "/issuer/id"),
    };
    Summary {
        holder: holder_name(vc).map(str::to_owned),
        achievement: text(vc, "/credentialSubject/achievement/name"),
        issuer: IssuerSummary {
            id: issuer_id,
            name: text(vc, "/issuer/name"),
            url: text(vc, "/issuer/url"),
        },
        valid_from: text(vc, "/validFrom"),
        valid_until: text(vc, "/validUntil"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_holder_achievement_issuer_and_dates() {
        let vc = json!({
            "issuer": {"id": "did:web:example.org:issuers:acme", "name": "Acme", "url": "https://acme.example"},
            "validFrom": "2026-01-02T03:04:05Z",
            "credentialSubject": {
                "identifier": [
                    {"identityType": "emailAddress", "hashed": true, "identityHash": "sha256$00"},
                    {"identityType": "name", "hashed": false, "identityHash": "Ada Lovelace"}
                ],
                "achievement": {"name": "PostgreSQL Associate"}
            }
        });
        let s = summarize(&vc);
        assert_eq!(s.holder.as_deref(), Some("Ada Lovelace"));
        assert_eq!(s.achievement.as_deref(), Some("PostgreSQL Associate"));
        assert_eq!(
            s.issuer.id.as_deref(),
            Some("did:web:example.org:issuers:acme")
        );
        assert_eq!(s.issuer.name.as_deref(), Some("Acme"));
        assert_eq!(s.valid_from.as_deref(), Some("2026-01-02T03:04:05Z"));
        assert_eq!(s.valid_until, None);
    }

    #[test]
    fn a_hashed_name_and_a_string_issuer() {
        let vc = json!({
            "issuer": "did:key:z6Mk",
            "credentialSubject": {"identifier": [{"identityType": "name", "hashed": true, "identityHash": "sha256$1"}]}
        });
        let s = summarize(&vc);
        assert_eq!(s.holder, None);
        assert_eq!(s.issuer.id.as_deref(), Some("did:key:z6Mk"));
        assert_eq!(s.issuer.name, None);
    }
}
