use super::*;

#[test]
fn local_names_recognise_our_dids_and_lists() {
    let links = Links::new(Url::parse("http://127.0.0.1:8080").unwrap());
    let local = LocalNames::new(&links).unwrap();
    assert_eq!(
        local.vendor_of_did("did:web:127.0.0.1%3A8080:issuers:acme"),
        Some(Some("acme"))
    );
    assert_eq!(local.vendor_of_did("did:web:127.0.0.1%3A8080"), Some(None));
    assert_eq!(
        local.vendor_of_did("did:web:127.0.0.1%3A8080:issuers:ACME"),
        Some(None)
    );
    assert_eq!(local.vendor_of_did("did:web:127.0.0.1%3A80801"), None);
    assert_eq!(
        local.vendor_of_did("did:web:example.com:issuers:acme"),
        None
    );
    assert_eq!(
        local.status_list_of("http://127.0.0.1:8080/status/acme/3"),
        Some(Some(("acme", 3)))
    );
    assert_eq!(
        local.status_list_of("http://127.0.0.1:8080/status/acme/x"),
        Some(None)
    );
    assert_eq!(
        local.status_list_of("http://127.0.0.1:8080/elsewhere"),
        Some(None)
    );
    assert_eq!(
        local.status_list_of("https://example.com/status/acme/3"),
        None
    );
}
