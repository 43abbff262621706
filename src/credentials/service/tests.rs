use super::*;

#[test]
fn scores_print_without_floats() {
    assert_eq!(format_score(8450), "84.5");
    assert_eq!(format_score(7000), "70");
    assert_eq!(format_score(10_000), "100");
    assert_eq!(format_score(6667), "66.67");
    assert_eq!(format_score(5), "0.05");
}

#[test]
fn reasons_are_trimmed_and_bounded() {
    assert_eq!(validate_reason("  fraud ").unwrap(), "fraud");
    assert!(matches!(
        validate_reason("   "),
        Err(CredentialError::Validation(_))
    ));
    assert!(validate_reason(&"é".repeat(500)).is_ok());
    assert!(matches!(
        validate_reason(&"x".repeat(501)),
        Err(CredentialError::Validation(_))
    ));
}

#[test]
fn stored_status_precedence() {
    let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
    let now = t("2026-01-01 00:00:00");
    assert_eq!(stored_status(None, None, now), "valid");
    assert_eq!(stored_status(None, Some(now), now), "expired");
    assert_eq!(stored_status(Some(now), None, now), "revoked");
    assert_eq!(
        stored_status(None, Some(t("2026-01-01 00:00:01")), now),
        "valid"
    );
}

#[test]
fn opened_keys_are_kept_by_id_and_opened_again_for_another_did_or_public_key() {
    use crate::credentials::keys::IssuerKey;
    use crate::credentials::multibase::encode_multikey;
    use crate::credentials::store::IssuerKeyRow;

    let master = MasterKey::from_bytes([7; 32]);
    let key = IssuerKey::generate("did:web:a", &mut rand_core::OsRng);
    let row = IssuerKeyRow {
        id: "key-1".into(),
        vendor_id: None,
        public_key_multibase: encode_multikey(&key.verifying_key()),
        sealed_seed: key.seal(&master, "key-1", &mut rand_core::OsRng).unwrap(),
        created_at: NaiveDateTime::default(),
        retired_at: None,
    };
    let opened = OpenedKeys::default();
    let first = opened.open("did:web:a", &master, &row).unwrap();
    assert_eq!(first.verifying_key(), key.verifying_key());

    // From memory: the seal is not opened again (a broken one would fail)…
    let unopenable = IssuerKeyRow {
        sealed_seed: "not a sealed seed".into(),
        ..row.clone()
    };
    let again = opened.open("did:web:a", &master, &unopenable).unwrap();
    assert_eq!(again.verifying_key(), key.verifying_key());
    // …but another DID or another public key for the id is opened from the row.
    assert!(opened.open("did:web:b", &master, &unopenable).is_err());
    let other_key = IssuerKeyRow {
        public_key_multibase: encode_multikey(
            &IssuerKey::generate("did:web:a", &mut rand_core::OsRng).verifying_key(),
        ),
        ..unopenable
    };
    assert!(opened.open("did:web:a", &master, &other_key).is_err());
    let renamed = opened.open("did:web:b", &master, &row).unwrap();
    assert_eq!(renamed.did(), "did:web:b");
    assert_eq!(renamed.verifying_key(), key.verifying_key());
}
