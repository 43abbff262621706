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
