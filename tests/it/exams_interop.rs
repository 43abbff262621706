//! Banks from other tools: QTI 3.0, 2.1/2.2 and 1.2 (third-party samples under tests/fixtures/qti, see its
//! README), the QTI 3.0 export and its round trip, and GIFT as Moodle reads it.

use std::io::Write;
use std::path::{Path, PathBuf};

use credo::exams::{parse_qti, ImportedQuestions, Question, QuestionKind};
use serde_json::Value;

use crate::common::exams as ex;
use crate::common::{credo_binary, Answer, TestApp};

fn fixture_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(fixture_path(path)).unwrap()
}

/// A zip of every file under a fixture directory, with paths relative to it.
fn zip_dir(dir: &str) -> Vec<u8> {
    let root = fixture_path(dir);
    let mut files = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for path in files {
        let name = path
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .replace('\\', "/");
        zip.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        zip.write_all(&std::fs::read(&path).unwrap()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fn import(name: &str, bytes: &[u8]) -> ImportedQuestions {
    parse_qti(name, bytes).unwrap_or_else(|errors| panic!("{errors}"))
}

fn keys(question: &Question) -> Vec<&str> {
    question
        .choices
        .iter()
        .filter(|c| c.correct)
        .map(|c| c.id.as_str())
        .collect()
}

fn warnings(import: &ImportedQuestions) -> Vec<String> {
    import.warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn qti_2_2_package_from_1edtech_imports_its_choice_item() {
    let import = import("luggage.zip", &zip_dir("qti/ims-choice-2p2-package"));
    assert!(import.warnings.is_empty(), "{:?}", warnings(&import));
    let [question] = &import.questions[..] else {
        panic!("{:?}", import.questions)
    };
    assert_eq!(question.id, "choice");
    assert_eq!(question.kind, QuestionKind::Single);
    assert_eq!(keys(question), ["ChoiceA"]);
    assert_eq!(
        question
            .choices
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["ChoiceA", "ChoiceB", "ChoiceC"]
    );
    assert!(
        question
            .stem
            .starts_with("<p>Look at the text in the picture.</p>"),
        "{}",
        question.stem
    );
    assert!(
        question.stem.ends_with("<p>What does it say?</p>"),
        "{}",
        question.stem
    );
    assert_eq!(import.domains[0].id, "general");
}

#[test]
fn qti_2_1_multiple_with_mapping_is_partial_credit() {
    let import = import("water.xml", &read("qti/ims-choice-multiple-2p1.xml"));
    let question = &import.questions[0];
    assert_eq!(question.id, "choiceMultiple");
    assert_eq!(question.kind, QuestionKind::Multiple);
    assert!(question.partial_credit);
    assert_eq!(keys(question), ["H", "O"]);
    assert_eq!(question.choices.len(), 6);
    assert_eq!(
        question.stem,
        "<p>Which of the following elements are used to form water?</p>"
    );
}

#[test]
fn qti_3_0_item_imports() {
    let import = import("tom.xml", &read("qti/aqti-tmh-sample-1-3p0.xml"));
    let question = &import.questions[0];
    assert_eq!(question.id, "aqti_tmh_sample_1");
    assert_eq!(question.kind, QuestionKind::Single);
    assert_eq!(keys(question), ["optionA"]);
    assert_eq!(question.choices[0].text, "<p>About 200</p>");
    assert!(question.stem.contains("harmonica"), "{}", question.stem);
}

#[test]
fn qti_2_1_test_with_a_mix_of_interactions_lists_what_it_skips() {
    let import = import("sachsen.zip", &zip_dir("qti/sachsen-mix-2p1"));
    assert_eq!(import.title.as_deref(), Some("Interaction Mix (Sachsen)"));
    assert!(import.blueprint_in_file);
    assert_eq!(import.domains.len(), 1);
    assert_eq!(import.domains[0].id, "Sektion_181865064");
    assert_eq!(import.domains[0].title, "Sektion");
    assert_eq!(import.domains[0].questions_per_form, 4);
    let ids: Vec<&str> = import.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "Choicetruefalse_176040516",
            "Choicesingle_853928446",
            "Choicemultiple_2014410822",
            "Choicemultiple_871212949"
        ]
    );
    assert_eq!(keys(&import.questions[0]), ["choice_1164834606"]);
    assert_eq!(import.questions[2].kind, QuestionKind::Multiple);
    let skipped = warnings(&import);
    assert_eq!(skipped.len(), 9, "{skipped:#?}");
    for (file, interaction) in [
        ("Hotspot_278940407.xml", "hotspotInteraction"),
        ("Order_913967682.xml", "orderInteraction"),
        ("Matchsingle_143114773.xml", "matchInteraction"),
        ("TextEntry_883368511.xml", "textEntryInteraction"),
        ("Hottext_801974120.xml", "hottextInteraction"),
    ] {
        assert!(
            skipped
                .iter()
                .any(|w| w.starts_with(&format!("sachsen.zip/{file}:"))
                    && w.contains(&format!(
                        "skipped: unsupported interaction(s) {interaction}"
                    ))),
            "{file}: {skipped:#?}"
        );
    }
}

#[test]
fn qti_1_2_canvas_export_imports_its_choice_questions() {
    let import = import("canvas.xml", &read("qti/canvas-all-simple-1p2.xml"));
    assert_eq!(import.title.as_deref(), Some("Every Canvas Interaction"));
    let ids: Vec<&str> = import.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ia4813e41c5505cc0eb7fec982226364e",
            "id9d8b63d85a03f2987646622805b61cf",
        ]
    );
    let [choice, true_false] = &import.questions[..] else {
        unreachable!()
    };
    assert_eq!(choice.kind, QuestionKind::Single);
    assert_eq!(keys(choice), ["2799"]);
    assert_eq!(
        choice.stem,
        "<div><p>Question 1, Multiple Choice, Answer is C</p></div>"
    );
    assert_eq!(
        choice.choices[0].feedback.as_deref(),
        Some("<p>Answer feedback for C, correct</p>")
    );
    assert_eq!(
        choice.explanation.as_deref(),
        Some("<p>Item Feedback, Neutral</p>")
    );
    assert_eq!(true_false.kind, QuestionKind::TrueFalse);
    assert_eq!(keys(true_false), ["true"]);
    let skipped = warnings(&import);
    // This export's multiple-answers question has choices without text: listed, not imported.
    assert!(
        skipped.contains(&"canvas.xml:516: question i61c2bf35142c25332962acd201a5bb45: skipped: choice `4403` has no text".to_owned()),
        "{skipped:#?}"
    );
    for kind in [
        "short_answer_question",
        "fill_in_multiple_blanks_question",
        "multiple_dropdowns_question",
        "matching_question",
        "numerical_question",
        "calculated_question",
        "essay_question",
    ] {
        assert!(
            skipped
                .iter()
                .any(|w| w.contains(&format!("unsupported question type `{kind}`"))),
            "{kind}: {skipped:#?}"
        );
    }
    assert_eq!(skipped.len(), 8, "{skipped:#?}");
}

#[test]
fn qti_1_2_canvas_multiple_answers_keep_the_and_not_key() {
    let import = import("ma.xml", &read("qti/canvas-multiple-answer-1p2.xml"));
    let [question] = &import.questions[..] else {
        panic!("{:?}", warnings(&import))
    };
    assert_eq!(question.kind, QuestionKind::Multiple);
    assert!(!question.partial_credit);
    // `<and>` of the right `varequal`s and `<not>` of the wrong ones: A, C and D.
    assert_eq!(keys(question), ["4155", "6991", "1939"]);
    assert_eq!(
        question.stem,
        "<div><p>Multiple Answer pick A C and D</p></div>"
    );
}

#[test]
fn wrong_namespaces_and_broken_xml_are_refused_with_their_line() {
    let errors = parse_qti("wrong.xml", &read("qti/empty-test-wrong-namespace.xml")).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "wrong.xml:2: `assessmentTest` is in namespace `http://www.imsglobal.org/xsd/imsqti_unknown_version`; QTI expects `http://www.imsglobal.org/xsd/imsqti_v2p1` (QTI 2.1), `…/imsqti_v2p2` (2.2) or `http://www.imsglobal.org/xsd/imsqtiasi_v3p0` (3.0)"
    );
    let errors = parse_qti(
        "broken.xml",
        b"<?xml version=\"1.0\"?>\n<assessmentItem>\n<p>\n</assessmentItem>",
    )
    .unwrap_err();
    assert_eq!(errors.errors[0].line, 4, "{errors}");
    let errors = parse_qti("other.xml", b"<html/>").unwrap_err();
    assert!(
        errors
            .to_string()
            .contains("the root element `html` is not QTI"),
        "{errors}"
    );
}

/// GET with a bearer token, the body as bytes.
async fn get_bytes(app: &TestApp, path: &str, token: &str) -> (u16, Option<String>, Vec<u8>) {
    let response = reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// The item files of a package by name.
fn items_of(package: &[u8]) -> Vec<(String, String)> {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(package)).unwrap();
    let mut items = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).unwrap();
        let name = file.name().to_owned();
        if name.starts_with("items/") {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut file, &mut text).unwrap();
            items.push((name, text));
        }
    }
    items
}

#[actix_web::test]
async fn export_imports_back_to_the_identical_bank() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let outsider = ex::vendor_with_examiner(&app, "other").await;
    let practitioner = app.user("pat@example.org", "Pat").await;
    // A real bank with every question type, explanations and references; then a GIFT import with feedback.
    let toml = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("exam-banks/git/git-fundamentals.toml"),
    )
    .unwrap();
    let stored = ex::upload_toml(&app, &v.examiner.token, "acme", &toml)
        .await
        .expect(201)
        .json();
    let slug = stored["exam"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/vendors/acme/exams/{slug}/versions/latest/qti");

    let (status, content_type, package) = get_bytes(&app, &path, &v.examiner.token).await;
    assert_eq!(status, 200);
    assert_eq!(content_type.as_deref(), Some("application/zip"));
    let (status, _, by_number) =
        get_bytes(&app, &path.replace("latest", "1"), &v.owner.token).await;
    assert_eq!((status, &by_number), (200, &package));
    assert_eq!(get_bytes(&app, &path, &practitioner.token).await.0, 403);
    assert_eq!(
        get_bytes(&app, &path, &outsider.examiner.token).await.0,
        403
    );
    assert_eq!(
        get_bytes(&app, &path.replace("latest", "7"), &v.examiner.token)
            .await
            .0,
        404
    );
    assert_eq!(
        get_bytes(&app, &path.replace("latest", "first"), &v.examiner.token)
            .await
            .0,
        422
    );

    // Into the same exam: the identical bank, so nothing new is stored.
    let again = app
        .post_raw(
            &format!("/api/v1/vendors/acme/banks?exam={slug}&filename=export.zip"),
            Some(&v.examiner.token),
            "application/zip",
            package.clone(),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(again["created"], Value::Bool(false), "{again}");
    assert_eq!(again["version"], 1);
    assert_eq!(again["warnings"], Value::Array(vec![]));

    // Into a new exam: the same questions, domains and blueprint; its export has the same items.
    let copy = app
        .post_raw(
            "/api/v1/vendors/acme/banks?exam=git-copy",
            Some(&v.examiner.token),
            "application/zip",
            package.clone(),
        )
        .await
        .expect(201)
        .json();
    assert_eq!(copy["questions"], stored["questions"]);
    assert_eq!(copy["domains"], stored["domains"]);
    assert_eq!(copy["questions_per_form"], stored["questions_per_form"]);
    let (_, _, copied) = get_bytes(
        &app,
        "/api/v1/vendors/acme/exams/git-copy/versions/latest/qti",
        &v.examiner.token,
    )
    .await;
    assert_eq!(items_of(&copied), items_of(&package));

    // A GIFT bank with Moodle formats and feedback round-trips too.
    app.post_raw(
        "/api/v1/vendors/acme/banks?exam=gift-formats",
        Some(&v.examiner.token),
        "text/plain; format=gift",
        read("gift/formats.gift"),
    )
    .await
    .expect(201);
    let (_, _, gift_package) = get_bytes(
        &app,
        "/api/v1/vendors/acme/exams/gift-formats/versions/latest/qti",
        &v.examiner.token,
    )
    .await;
    let again = app
        .post_raw(
            "/api/v1/vendors/acme/banks?exam=gift-formats",
            Some(&v.examiner.token),
            "application/zip",
            gift_package,
        )
        .await
        .expect(200)
        .json();
    assert_eq!(again["created"], Value::Bool(false), "{again}");
    app.stop().await;
}

async fn upload(
    app: &TestApp,
    token: &str,
    content_type: &str,
    exam: &str,
    body: Vec<u8>,
) -> Answer {
    app.post_raw(
        &format!("/api/v1/vendors/acme/banks?exam={exam}&filename=upload"),
        Some(token),
        content_type,
        body,
    )
    .await
}

#[actix_web::test]
async fn qti_uploads_go_through_the_bank_endpoint() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let mix = upload(
        &app,
        &v.examiner.token,
        "application/zip",
        "mix",
        zip_dir("qti/sachsen-mix-2p1"),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(mix["questions"], 4);
    assert_eq!(mix["domains"], 1);
    assert_eq!(mix["warnings"].as_array().unwrap().len(), 9, "{mix}");
    assert_eq!(
        mix["warnings"][0]["file"], "upload/Hotspot_278940407.xml",
        "{mix}"
    );

    let canvas = upload(
        &app,
        &v.examiner.token,
        "application/xml",
        "canvas",
        read("qti/canvas-all-simple-1p2.xml"),
    )
    .await
    .expect(201)
    .json();
    assert_eq!(canvas["questions"], 2);

    let wrong = upload(
        &app,
        &v.examiner.token,
        "text/xml",
        "wrong",
        read("qti/empty-test-wrong-namespace.xml"),
    )
    .await
    .expect(422);
    assert_eq!(wrong.error_fields(), ["line:2"]);
    // Unsupported items only: refused, listing them.
    let only_unsupported = upload(
        &app,
        &v.examiner.token,
        "application/xml",
        "order",
        read("qti/sachsen-mix-2p1/Order_913967682.xml"),
    )
    .await
    .expect(422);
    assert!(
        only_unsupported.text.contains("orderInteraction"),
        "{}",
        only_unsupported.text
    );
    upload(
        &app,
        &v.examiner.token,
        "application/zip",
        "junk",
        b"not a zip".to_vec(),
    )
    .await
    .expect(422);
    let no_exam = upload(
        &app,
        &v.examiner.token,
        "application/zip",
        "",
        zip_dir("qti/ims-choice-2p2-package"),
    )
    .await
    .expect(422);
    assert_eq!(no_exam.error_fields(), ["exam"]);
    app.stop().await;
}

#[actix_web::test]
async fn gift_missing_word_and_several_accepted_answers_import() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    for (file, questions, warnings) in [
        ("gift/missing-word.gift", 3, 0),
        ("gift/several-equals.gift", 1, 1),
        ("gift/escapes.gift", 3, 0),
    ] {
        let stored = app
            .post_raw(
                &format!(
                    "/api/v1/vendors/acme/banks?exam={}",
                    file.trim_start_matches("gift/").trim_end_matches(".gift")
                ),
                Some(&v.examiner.token),
                "text/plain; format=gift",
                read(file),
            )
            .await
            .expect(201)
            .json();
        assert_eq!(stored["questions"], questions, "{file}: {stored}");
        assert_eq!(
            stored["warnings"].as_array().unwrap().len(),
            warnings,
            "{file}: {stored}"
        );
    }
    app.stop().await;
}

#[test]
fn cli_validates_qti_files_without_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let canvas = fixture_path("qti/canvas-all-simple-1p2.xml");
    let output = std::process::Command::new(credo_binary())
        .args(["bank", "validate", canvas.to_str().unwrap()])
        .current_dir(dir.path())
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: skipped: unsupported question type `essay_question`"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("ok: 2 question(s) in 1 domain(s), 8 warning(s) (skipped or adjusted questions, text that gives answers away)\n"),
        "{stdout}"
    );
}

/// Runs `credo` against the test app's database, off the async runtime.
async fn credo_on(app: &TestApp, dir: &Path, args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (dir, database) = (dir.to_path_buf(), app.database_url.clone());
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(credo_binary())
            .args(&args)
            .current_dir(&dir)
            .env_clear()
            .env("CREDO_DATABASE_URL", database)
            .env("CREDO_DATA_DIR", dir.join("data"))
            .env("CREDO_MASTER_KEY", "42".repeat(32))
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

#[actix_web::test]
async fn cli_exports_and_imports_qti() {
    let app = ex::start_app().await;
    let v = ex::vendor_with_examiner(&app, "acme").await;
    let dir = tempfile::tempdir().unwrap();
    let package = fixture_path("qti/ims-choice-2p2-package");
    let zip = dir.path().join("luggage.zip");
    std::fs::write(&zip, zip_dir("qti/ims-choice-2p2-package")).unwrap();
    assert!(package.is_dir());
    let zip = zip.to_str().unwrap();

    let output = credo_on(
        &app,
        dir.path(),
        &[
            "bank",
            "import-qti",
            zip,
            "--vendor",
            "acme",
            "--exam",
            "luggage",
        ],
    )
    .await;
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        out.contains("exam acme/luggage stored as new version 1 (1 question(s)"),
        "{out}"
    );

    let output = credo_on(
        &app,
        dir.path(),
        &[
            "bank",
            "export-qti",
            "--vendor",
            "acme",
            "--exam",
            "luggage",
        ],
    )
    .await;
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported = dir.path().join("luggage-v1-qti.zip");
    let (_, _, over_http) = get_bytes(
        &app,
        "/api/v1/vendors/acme/exams/luggage/versions/1/qti",
        &v.examiner.token,
    )
    .await;
    assert_eq!(std::fs::read(&exported).unwrap(), over_http);

    // `bank import` recognises the package by its extension; the content is unchanged.
    let output = credo_on(
        &app,
        dir.path(),
        &[
            "bank",
            "import",
            exported.to_str().unwrap(),
            "--vendor",
            "acme",
            "--exam",
            "luggage",
        ],
    )
    .await;
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(
        out.contains("unchanged: same content as version 1"),
        "{out}"
    );

    let openapi = app.get("/api/openapi.json", None).await.expect(200).json();
    assert!(
        openapi["paths"]["/api/v1/vendors/{vendor}/exams/{exam}/versions/{version}/qti"]["get"]
            .is_object()
    );
    app.stop().await;
}
