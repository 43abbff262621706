//! `credo bank validate` and `credo bank import` as child processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::credo_binary;
use crate::common::exams as ex;

pub(crate) fn manifest(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs `credo` in `dir` with nothing from the environment but PATH and `env`.
pub(crate) fn credo(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = Command::new(credo_binary());
    command
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().expect("run credo")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn validate_prints_every_problem_with_file_line_and_question() {
    let dir = tempfile::tempdir().unwrap();
    let bad = manifest("tests/fixtures/exams/bad/single_correct.toml");
    let bad = bad.to_str().unwrap();
    let output = credo(dir.path(), &["bank", "validate", bad], &[]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout(&output),
        format!(
            "{bad}:22: question q1: `single` question has 2 correct choices; mark exactly one (or make it `multiple`)\n\
             {bad}:33: question q2: `single` question has no correct choice; mark exactly one with `correct = true`\n\
             {bad}: 2 problem(s)\n"
        )
    );
    // No configuration, database or data directory was needed or created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn validate_reports_each_rule_of_the_bad_fixtures() {
    let dir = tempfile::tempdir().unwrap();
    // One fixture per validation rule, each with the question it names (if any).
    let cases: &[(&str, &str)] = &[
        (
            "unknown_fields.toml",
            ":7: unknown field `duraton_minutes` in [exam]; did you mean `duration_minutes`?",
        ),
        (
            "duplicate_question.toml",
            ":32: question q1: duplicate question id `q1`",
        ),
        (
            "unknown_domain.toml",
            ":26: question q2: unknown domain `tuning`",
        ),
        (
            "short_domain.toml",
            ":17: domain `extra` has 1 question(s) but each form draws 2",
        ),
        (
            "single_correct.toml",
            ":22: question q1: `single` question has 2 correct choices",
        ),
        (
            "multiple_none.toml",
            ":22: question q1: `multiple` question has no correct choice",
        ),
        (
            "choice_texts.toml",
            ":24: question q1: choices 1 and 2 have the same text \"Alpha\"",
        ),
        ("choice_texts.toml", ":34: question q2: `text` is empty"),
        ("empty_stem.toml", ":21: question q1: `stem` is empty"),
        (
            "negative_duration.toml",
            ":5: `duration_minutes` must be a whole number of minutes greater than 0; it is -30",
        ),
        (
            "exam_numbers.toml",
            ":9: `amount_minor` must be 0 (free) or more, in minor units (cents); it is -100",
        ),
    ];
    for (file, expected) in cases {
        let path = manifest(&format!("tests/fixtures/exams/bad/{file}"));
        let path = path.to_str().unwrap();
        let output = credo(dir.path(), &["bank", "validate", path], &[]);
        assert_eq!(output.status.code(), Some(1), "{file}");
        let out = stdout(&output);
        assert!(
            out.lines()
                .any(|line| line.starts_with(&format!("{path}{expected}"))),
            "{file}: `{expected}` not in\n{out}"
        );
    }

    // Several files at once: every file is checked, the valid ones say so, the status is 1.
    let good = manifest("tests/fixtures/exams/good/complete.toml");
    let bad = manifest("tests/fixtures/exams/bad/many_problems.toml");
    let missing = dir.path().join("missing.toml");
    let output = credo(
        dir.path(),
        &[
            "bank",
            "validate",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            missing.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "{}: ok: exam postgresql-administration",
            good.display()
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}: 7 problem(s)", bad.display())),
        "{out}"
    );
    assert!(
        out.contains(&format!("{}: cannot read the file", missing.display())),
        "{out}"
    );
    assert!(out.ends_with("2 of 3 file(s) are not valid\n"), "{out}");
}

#[test]
fn validate_accepts_the_real_banks_and_checks_gift() {
    let dir = tempfile::tempdir().unwrap();
    let pg = manifest("exam-banks/postgresql/postgresql-administration.toml");
    let git = manifest("exam-banks/git/git-fundamentals.toml");
    let output = credo(
        dir.path(),
        &[
            "bank",
            "validate",
            pg.to_str().unwrap(),
            git.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output)
            .lines()
            .filter(|l| l.contains(": ok: exam "))
            .count(),
        2
    );

    let gift = manifest("tests/fixtures/exams/gift/mixed.gift");
    let output = credo(
        dir.path(),
        &["bank", "validate", gift.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(0));
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "{}:26: question essay: warning: skipped: unsupported question type \"essay\"",
            gift.display()
        )),
        "{out}"
    );
    assert!(out.contains("ok: 10 question(s) in 3 domain(s)"), "{out}");

    let broken = dir.path().join("broken.gift");
    std::fs::write(&broken, "::a:: Question {=yes ~no\n").unwrap();
    let output = credo(
        dir.path(),
        &["bank", "validate", broken.to_str().unwrap()],
        &[],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("broken.gift:1: question a: `{` is never closed"),
        "{}",
        stdout(&output)
    );
}

#[actix_web::test]
async fn import_stores_versions_with_progress_and_needs_the_vendor() {
    let app = ex::start_app().await;
    let owner = app.user("owner@pg.example.org", "Owner").await;
    app.vendor("postgresql", &owner).await;
    let data = tempfile::tempdir().unwrap();
    let env = vec![
        ("CREDO_DATABASE_URL", app.database_url.clone()),
        ("CREDO_DATA_DIR", data.path().display().to_string()),
        ("CREDO_MASTER_KEY", "42".repeat(32)),
    ];
    let pg = manifest("exam-banks/postgresql/postgresql-administration.toml");
    let git = manifest("exam-banks/git/git-fundamentals.toml");
    let bad = manifest("tests/fixtures/exams/bad/single_correct.toml");
    let (pg, git, bad) = (
        pg.to_str().unwrap().to_string(),
        git.to_str().unwrap().to_string(),
        bad.to_str().unwrap().to_string(),
    );

    let run = |args: Vec<String>| {
        let env = env.clone();
        let dir = data.path().to_path_buf();
        async move {
            tokio::task::spawn_blocking(move || {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                credo(&dir, &args, &env)
            })
            .await
            .unwrap()
        }
    };
    let args = |files: &[&str], vendor: &str| {
        let mut a = vec!["bank".to_string(), "import".to_string()];
        a.extend(files.iter().map(|f| f.to_string()));
        a.extend(["--vendor".to_string(), vendor.to_string()]);
        a
    };

    let output = run(args(&[&pg, &git], "postgresql")).await;
    let out = stdout(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(out.contains(&format!("[1/2] {pg}: read ")), "{out}");
    assert!(
        out.contains(&format!(
            "[1/2] {pg}: 80 question(s) in 6 domain(s) are valid; storing…"
        )),
        "{out}"
    );
    assert!(out.contains("exam postgresql/postgresql-administration stored as new version 1 (80 question(s), 40 per form)"), "{out}");
    assert!(
        out.contains("[2/2]")
            && out.contains("exam postgresql/git-fundamentals stored as new version 1"),
        "{out}"
    );
    let catalog = app.get("/api/v1/exams", None).await.expect(200).json();
    assert_eq!(catalog.as_array().unwrap().len(), 2);

    // Again: unchanged. With a bad file: it is reported, the others still import, the status is 1.
    let output = run(args(&[&bad, &pg], "postgresql")).await;
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "{bad}:22: question q1: `single` question has 2 correct choices"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("[1/2] {bad}: not imported: 2 problem(s)")),
        "{out}"
    );
    assert!(
        out.contains("unchanged: same content as version 1"),
        "{out}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 of 2 file(s) were not imported"));

    // The vendor must exist.
    let output = run(args(&[&pg], "nobody")).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("there is no vendor `nobody`"));

    // GIFT into an exam.
    let gift = manifest("tests/fixtures/exams/gift/mixed.gift");
    let output = run(vec![
        "bank".into(),
        "import-gift".into(),
        gift.to_str().unwrap().into(),
        "--vendor".into(),
        "postgresql".into(),
        "--exam".into(),
        "geo".into(),
    ])
    .await;
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(out.contains("question essay: warning: skipped"), "{out}");
    assert!(
        out.contains("exam postgresql/geo stored as new version 1 (10 question(s)"),
        "{out}"
    );
    app.stop().await;
}
