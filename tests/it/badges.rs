//! Badge images (issue 10 items 5–6, issue 14 item 6): generated and uploaded exam badges, the
//! achievement's `image`, baked PNG/SVG downloads that un-bake to the exact stored credential
//! through `POST /api/v1/verify`, the verify page and `credo verify`, the instance-level issuer's
//! `/.well-known/did.json`, and the printed certificate on one A4 and one Letter page.

use std::path::Path;

use serde_json::{json, Value};

use crate::common::browser::{Browser, Viewport};
use crate::common::credentials::{self as cred, certify};
use crate::common::{csrf_token_in, TestApp};

/// GET with the raw bytes of the answer.
async fn get_bytes(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let answer = app.client.get(app.url(path)).send().await.unwrap();
    let status = answer.status().as_u16();
    let headers = answer.headers().clone();
    (status, headers, answer.bytes().await.unwrap().to_vec())
}

async fn put_bytes(
    app: &TestApp,
    path: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Value) {
    let answer = app
        .client
        .put(app.url(path))
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(json!(text)))
}

/// CRC-32 (ISO-HDLC) written out here, independently of the server's.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The chunks of a PNG as (type, data), checking the signature and every CRC.
fn png_chunks(png: &[u8]) -> Vec<(String, Vec<u8>)> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    let mut at = 8;
    let mut chunks = Vec::new();
    while at < png.len() {
        let length = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        let data = &png[at + 8..at + 8 + length];
        let crc = u32::from_be_bytes(png[at + 8 + length..at + 12 + length].try_into().unwrap());
        assert_eq!(crc, crc32(&png[at + 4..at + 8 + length]), "CRC of a chunk");
        chunks.push((String::from_utf8_lossy(kind).into_owned(), data.to_vec()));
        at += 12 + length;
    }
    assert_eq!(at, png.len());
    chunks
}

/// The text of the `openbadgecredential` iTXt chunk, read per the PNG spec.
fn itxt_credential(png: &[u8]) -> Option<String> {
    png_chunks(png)
        .into_iter()
        .filter(|(kind, _)| kind == "iTXt")
        .find_map(|(_, data)| {
            let rest = data.strip_prefix(b"openbadgecredential\0")?;
            assert_eq!(&rest[..2], [0, 0], "uncompressed");
            let rest = &rest[2..];
            let language_end = rest.iter().position(|b| *b == 0).unwrap();
            let rest = &rest[language_end + 1..];
            let translated_end = rest.iter().position(|b| *b == 0).unwrap();
            Some(String::from_utf8(rest[translated_end + 1..].to_vec()).unwrap())
        })
}

/// A PNG chunk with its length and CRC.
fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut out = (data.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(&[kind.as_slice(), data].concat()).to_be_bytes());
    out
}

fn ihdr_size(png: &[u8]) -> (u32, u32) {
    let (_, ihdr) = &png_chunks(png)[0];
    (
        u32::from_be_bytes(ihdr[0..4].try_into().unwrap()),
        u32::from_be_bytes(ihdr[4..8].try_into().unwrap()),
    )
}

#[actix_web::test]
async fn exam_badges_are_generated_uploaded_checked_and_served() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "cloud", 12, None).await;
    let owner = &vendor.owner.token;

    // Generated: the vendor, the title and the level, as an inert SVG and a rendered PNG.
    let (status, headers, svg) = get_bytes(&app, "/badges/acme/cloud.svg").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .starts_with("default-src 'none'"));
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let svg = String::from_utf8(svg).unwrap();
    assert!(
        svg.contains(&format!("<title>acme Inc.: {}</title>", exam.title)),
        "{svg}"
    );
    assert!(svg.contains(">ACME INC.<"), "{svg}");
    assert!(svg.contains(">CERTIFIED<"), "{svg}");
    let (status, headers, png) = get_bytes(&app, "/badges/acme/cloud.png").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(ihdr_size(&png), (512, 512));
    assert_eq!(get_bytes(&app, "/badges/acme/nope.png").await.0, 404);
    assert_eq!(get_bytes(&app, "/badges/acme/cloud.gif").await.0, 404);

    // Uploading needs the vendor's owner.
    let path = "/api/v1/vendors/acme/exams/cloud/badge";
    let stranger = app.user("stranger@example.org", "Stranger").await;
    let mine = r##"<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100" viewBox="0 0 200 100"><rect width="200" height="100" fill="#123456"/><text x="10" y="50">Mine</text></svg>"##;
    let (status, _) = put_bytes(&app, path, &stranger.token, "image/svg+xml", mine.into()).await;
    assert_eq!(status, 403);

    // A safe SVG is stored as sent and served; its PNG is rendered from it.
    let (status, answer) = put_bytes(&app, path, owner, "image/svg+xml", mine.into()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["format"], "svg");
    assert_eq!(answer["png"], app.url("/badges/acme/cloud.png"));
    let (_, _, served) = get_bytes(&app, "/badges/acme/cloud.svg").await;
    assert_eq!(served, mine.as_bytes());
    let (_, _, png) = get_bytes(&app, "/badges/acme/cloud.png").await;
    assert_eq!(ihdr_size(&png), (512, 256));

    // Active or outside content is refused with the reason, and nothing changes.
    for (bad, reason) in [
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#,
            "<script>",
        ),
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg"><rect onload="alert(1)"/></svg>"#,
            "event handler",
        ),
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg"><foreignObject/></svg>"#,
            "foreignObject",
        ),
        (
            r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><image xlink:href="https://evil.example/x.png"/></svg>"#,
            "evil.example",
        ),
        ("<svg xmlns=\"http://www.w3.org/2000/svg\">", "well-formed"),
    ] {
        let (status, answer) = put_bytes(&app, path, owner, "image/svg+xml", bad.into()).await;
        assert_eq!(status, 422, "{bad}: {answer}");
        let detail = answer["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(detail.contains(reason), "{bad}: {answer}");
        assert_eq!(answer["errors"][0]["field"], "image");
    }
    assert_eq!(
        get_bytes(&app, "/badges/acme/cloud.svg").await.2,
        mine.as_bytes()
    );

    // PNGs: the signature, the CRCs and the size are checked; a good one is served as sent.
    let (status, answer) = put_bytes(&app, path, owner, "image/png", b"GIF89a....".to_vec()).await;
    assert_eq!(status, 422, "{answer}");
    let mut damaged = png.clone();
    damaged[40] ^= 0xff;
    let (status, answer) = put_bytes(&app, path, owner, "image/png", damaged).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("CRC"), "{answer}");
    let (status, _) = put_bytes(&app, path, owner, "image/png", vec![0; 600 * 1024]).await;
    assert_eq!(status, 413);
    let (status, _) = put_bytes(&app, path, owner, "image/gif", png.clone()).await;
    assert_eq!(status, 415);
    let (status, answer) = put_bytes(&app, path, owner, "image/png", png.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(get_bytes(&app, "/badges/acme/cloud.png").await.2, png);
    let (_, _, wrapped) = get_bytes(&app, "/badges/acme/cloud.svg").await;
    assert!(String::from_utf8(wrapped)
        .unwrap()
        .contains("data:image/png;base64,"));

    // Removing it brings the generated badge back.
    let removed = app
        .client
        .delete(app.url(path))
        .bearer_auth(owner)
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status().as_u16(), 204);
    let (_, _, svg) = get_bytes(&app, "/badges/acme/cloud.svg").await;
    assert!(String::from_utf8(svg)
        .unwrap()
        .contains("<title>acme Inc.:"));
    app.stop().await;
}

fn run_credo(args: &[&Path], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = std::process::Command::new(crate::common::credo_binary());
    command.args(args).env_clear();
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[actix_web::test]
async fn baked_badges_unbake_to_the_exact_stored_credential_and_verify() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "cloud", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let stored = app
        .get(&format!("/api/v1/credentials/{id}"), None)
        .await
        .text;
    let vc: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(
        vc["credentialSubject"]["achievement"]["image"],
        json!({"id": app.url("/badges/acme/cloud.png"), "type": "Image"})
    );

    // The certificate page shows the badge and offers the baked downloads.
    let page = app.get(&format!("/c/{id}"), None).await.expect(200).text;
    assert!(
        page.contains(&format!("src=\"/c/{id}/badge.svg\"")),
        "{page}"
    );
    assert!(page.contains(&format!("href=\"/c/{id}/badge.png\"")));

    // PNG: one iTXt chunk `openbadgecredential` right before IEND, holding the stored JSON.
    let (status, headers, baked_png) = get_bytes(&app, &format!("/c/{id}/badge.png")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/png");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains(&format!("credential-{id}.png")));
    let chunks = png_chunks(&baked_png);
    let kinds: Vec<&str> = chunks.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(kinds.last(), Some(&"IEND"));
    assert_eq!(kinds[kinds.len() - 2], "iTXt");
    assert_eq!(kinds.iter().filter(|k| **k == "iTXt").count(), 1);
    assert_eq!(
        itxt_credential(&baked_png).as_deref(),
        Some(stored.as_str())
    );

    // SVG: the namespace on the root and the JSON in CDATA.
    let (status, headers, baked_svg) = get_bytes(&app, &format!("/c/{id}/badge.svg")).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/svg+xml");
    let baked_svg_text = String::from_utf8(baked_svg.clone()).unwrap();
    assert!(baked_svg_text.contains(r#"xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0""#));
    assert!(baked_svg_text.contains(&format!(
        "<openbadges:credential><![CDATA[{stored}]]></openbadges:credential>"
    )));
    assert_eq!(get_bytes(&app, "/c/nope/badge.png").await.0, 404);

    // POST /api/v1/verify takes the images.
    for (content_type, body) in [
        ("image/png", baked_png.clone()),
        ("image/svg+xml", baked_svg.clone()),
    ] {
        let answer = app
            .post_raw("/api/v1/verify", None, content_type, body)
            .await
            .expect(200)
            .json();
        assert_eq!(answer["verified"], true, "{content_type}: {answer}");
        assert_eq!(answer["status"], "valid");
        assert_eq!(answer["credential_id"], id);
    }
    // A PNG without the chunk: a clear 4xx.
    let (_, _, plain) = get_bytes(&app, "/badges/acme/cloud.png").await;
    let answer = app
        .post_raw("/api/v1/verify", None, "image/png", plain.clone())
        .await
        .expect(422);
    assert!(
        answer.text.contains("openbadgecredential"),
        "{}",
        answer.text
    );
    // A baked PNG whose credential was altered (CRC recomputed): not verified.
    let tampered_json = stored.replace(&exam.title, "Rocket Science");
    assert_ne!(tampered_json, stored);
    let mut tampered = Vec::new();
    tampered.extend_from_slice(b"\x89PNG\r\n\x1a\n");
    for (kind, data) in png_chunks(&plain) {
        let kind: [u8; 4] = kind.as_bytes().try_into().unwrap();
        if &kind == b"IEND" {
            let data = [
                b"openbadgecredential\0\0\0\0\0".as_slice(),
                tampered_json.as_bytes(),
            ]
            .concat();
            tampered.extend(chunk(b"iTXt", &data));
        }
        tampered.extend(chunk(&kind, &data));
    }
    let answer = app
        .post_raw("/api/v1/verify", None, "image/png", tampered.clone())
        .await
        .expect(200)
        .json();
    assert_eq!(answer["verified"], false, "{answer}");
    assert_eq!(answer["status"], "invalid");

    // The verify page's upload takes a baked image.
    let browser = app.browser();
    let form = browser
        .get(app.url("/verify"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = csrf_token_in(&form);
    let upload = |file: Vec<u8>, name: &'static str| {
        let browser = browser.clone();
        let url = app.url("/verify");
        let token = token.clone();
        async move {
            let boundary = "badge-test-boundary";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&file);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            let answer = browser
                .post(url)
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body)
                .send()
                .await
                .unwrap();
            (answer.status().as_u16(), answer.text().await.unwrap())
        }
    };
    let (status, html) = upload(baked_png.clone(), "badge.png").await;
    assert_eq!(status, 200);
    assert!(html.contains("status-banner valid"), "{html}");
    let (status, html) = upload(baked_svg.clone(), "badge.svg").await;
    assert_eq!(status, 200);
    assert!(html.contains("status-banner valid"), "{html}");
    let (status, html) = upload(plain.clone(), "plain.png").await;
    assert_eq!(status, 422);
    assert!(html.contains("openbadgecredential"), "{html}");
    // Over the upload limit (a badge image and a credential): 413, said next to the field.
    let (status, html) = upload(vec![b'x'; 800 * 1024], "huge.png").await;
    assert_eq!(status, 413);
    assert!(html.contains("this is larger than 256 KB"), "{html}");

    // `credo verify` un-bakes files too.
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let did = save(
        "did.json",
        app.get("/issuers/acme/did.json", None)
            .await
            .text
            .as_bytes(),
    );
    let list = save(
        "list.json",
        app.get("/status/acme/1", None).await.text.as_bytes(),
    );
    app.stop().await;
    let (png_file, svg_file) = (save("badge.png", &baked_png), save("badge.svg", &baked_svg));
    let flags = |file: &Path| -> (i32, String, String) {
        run_credo(
            &[
                Path::new("verify"),
                file,
                Path::new("--did"),
                &did,
                Path::new("--status-list"),
                &list,
            ],
            &[],
        )
    };
    for file in [&png_file, &svg_file] {
        let (code, out, err) = flags(file);
        assert_eq!(code, 0, "{}: {out}{err}", file.display());
        assert!(out.contains("status: valid"), "{out}");
    }
    let (code, out, _) = flags(&save("tampered.png", &tampered));
    assert_eq!(code, 1, "{out}");
    let (code, _, err) = flags(&save("plain.png", &plain));
    assert_eq!(code, 2);
    assert!(err.contains("openbadgecredential"), "{err}");
}

#[actix_web::test]
async fn the_instance_issuer_did_document_is_published_when_enabled() {
    // Off by default.
    let app = TestApp::start().await;
    assert_eq!(app.get("/.well-known/did.json", None).await.status, 404);
    app.stop().await;

    let app = TestApp::builder()
        .env("CREDO_INSTANCE_ISSUER", "true")
        .start()
        .await;
    // No key yet: not found, saying how to make one.
    let answer = app.get("/.well-known/did.json", None).await.expect(404);
    assert!(
        answer.text.contains("instance issuer key"),
        "{}",
        answer.text
    );

    let data_dir = app.dir.path().join("data").display().to_string();
    let env = [
        ("CREDO_DATA_DIR", data_dir.as_str()),
        ("CREDO_DATABASE_URL", app.database_url.as_str()),
        ("CREDO_BASE_URL", app.base.as_str()),
        ("CREDO_MASTER_KEY", &"42".repeat(32)),
    ];
    let rotate = || {
        run_credo(
            &[
                Path::new("keys"),
                Path::new("rotate"),
                Path::new("--instance"),
            ],
            &env,
        )
    };
    let (code, out, err) = rotate();
    assert_eq!(code, 0, "{out}{err}");
    let port = app.base.rsplit(':').next().unwrap();
    let did = format!("did:web:127.0.0.1%3A{port}");
    assert!(out.contains(&format!("{did}#z6Mk")), "{out}");

    let answer = app.get("/.well-known/did.json", None).await.expect(200);
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/did+json")
    );
    let document = answer.json();
    assert_eq!(document["id"], did);
    assert_eq!(document["assertionMethod"].as_array().unwrap().len(), 1);
    assert_eq!(document["verificationMethod"][0]["controller"], did);

    // Rotation keeps the old key listed; the vendor documents are untouched.
    let (code, out, err) = rotate();
    assert_eq!(code, 0, "{out}{err}");
    let document = app
        .get("/.well-known/did.json", None)
        .await
        .expect(200)
        .json();
    assert_eq!(document["assertionMethod"].as_array().unwrap().len(), 2);
    let (code, out, _) = run_credo(
        &[
            Path::new("keys"),
            Path::new("list"),
            Path::new("--instance"),
        ],
        &env,
    );
    assert_eq!(code, 0);
    assert_eq!(out.matches("active").count(), 1, "{out}");
    assert_eq!(out.matches("retired").count(), 1, "{out}");
    // A credential issued under the instance's own name (signed with its active key) verifies
    // against the instance DID document held here.
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "cloud", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = cred::credential_json(&app, &certify(&app, &exam, &holder).await).await;
    let ctx = app.state.issue_context();
    let key_did = did.clone();
    let key = app
        .state
        .db(move |conn| {
            let row = credo::credentials::store::instance_keys(conn)?
                .into_iter()
                .find(|row| row.retired_at.is_none())
                .expect("an active instance key");
            Ok::<_, credo::credentials::CredentialError>(
                credo::credentials::IssuerKey::open(
                    &key_did,
                    &ctx.master_key,
                    &row.id,
                    &row.sealed_seed,
                )
                .unwrap(),
            )
        })
        .await
        .unwrap();
    let mut unsigned = vc.clone();
    let doc = unsigned.as_object_mut().unwrap();
    doc.remove("proof");
    doc.remove("credentialStatus");
    doc.insert(
        "issuer".into(),
        json!({"id": did, "type": ["Profile"], "name": "The operator"}),
    );
    let signed = key.sign(&unsigned, chrono::Utc::now()).unwrap();
    let answer = cred::verify(&app, &signed).await;
    for name in ["proof", "verification_method", "controller"] {
        assert_eq!(cred::check(&answer, name)["ok"], true, "{name}: {answer}");
    }
    // --vendor and --instance exclude each other; one is required.
    let (code, _, _) = run_credo(&[Path::new("keys"), Path::new("rotate")], &env);
    assert_eq!(code, 2);
    app.stop().await;
}

/// Pages in a PDF, from its page objects (`/Type /Page`, not `/Pages`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    let compact = text.replace("/Type /Page", "/Type/Page");
    compact
        .match_indices("/Type/Page")
        .filter(|(at, m)| !compact[at + m.len()..].starts_with('s'))
        .count()
}

#[actix_web::test]
async fn the_certificate_prints_on_one_a4_and_one_letter_page() {
    use fantoccini::wd::{PrintConfiguration, PrintSize};
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "cloud", 12, None).await;
    let holder = app
        .user("holder@example.org", "Maria Holder-With-A-Long-Name")
        .await;
    let id = certify(&app, &exam, &holder).await;
    let browser = Browser::start(
        "the_certificate_prints_on_one_a4_and_one_letter_page",
        Viewport::Desktop,
    )
    .await;
    browser
        .visit(&app.url(&format!("/c/{id}")), "certificate")
        .await;
    // The badge image loaded.
    let loaded = browser
        .script("const i = document.querySelector('img.badge-image'); return i.complete && i.naturalWidth > 0;")
        .await;
    assert_eq!(loaded, json!(true));
    for size in [PrintSize::A4, PrintSize::US_LETTER] {
        let pdf = browser
            .client
            .print(
                PrintConfiguration::builder()
                    .size(size.clone())
                    .build()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"));
        assert_eq!(pdf_pages(&pdf), 1, "{size:?}");
        std::fs::write(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/screenshots/the_certificate_prints_on_one_a4_and_one_letter_page")
                .join(format!("certificate-{}.pdf", size.width)),
            &pdf,
        )
        .unwrap();
    }
    browser.close().await;
    app.stop().await;
}
