use super::questions::default_choice_id;
use super::*;
use crate::exams::model::{Choice, QuestionKind, TextFormat};

const GOOD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/exams/good/complete.toml"
));

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/exams/bad/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Parses a bad fixture and returns its errors as displayed lines.
fn errors_of(name: &str) -> Vec<String> {
    match parse_bank(name, &fixture(name)) {
        Ok(_) => panic!("{name} should not parse"),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

/// Asserts the bad fixture yields exactly one error, equal to `expected`.
fn assert_single_error(name: &str, expected: &str) {
    let errors = errors_of(name);
    assert_eq!(errors, vec![expected.to_owned()], "errors of {name}");
}

#[test]
fn good_bank_parses_into_the_normalized_model() {
    let bank = parse_bank("complete.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(bank.exam.slug, "postgresql-administration");
    assert_eq!(bank.exam.version, "2026.1");
    assert_eq!(bank.exam.duration_minutes, 90);
    assert_eq!(bank.exam.pass_percent, 70);
    assert_eq!(bank.exam.validity_months, 24);
    assert!(bank.exam.allow_review);
    assert_eq!(
        bank.exam.renewal_exam.as_deref(),
        Some("postgresql-administration")
    );
    assert_eq!(
        bank.exam.price,
        Price {
            amount_minor: 15000,
            currency: "USD".into()
        }
    );
    assert_eq!(
        bank.exam.retake,
        RetakePolicy {
            cooldown_days: 14,
            max_attempts_per_year: 3,
            wait_after_pass_days: 365
        }
    );
    assert_eq!(
        bank.exam.description.as_deref(),
        Some("Installing, configuring, securing, backing up and tuning PostgreSQL servers.")
    );
    assert_eq!(bank.domains.len(), 2);
    assert_eq!(bank.domains[0].questions_per_form, 2);
    assert_eq!(bank.questions.len(), 5);

    let single = &bank.questions[0];
    assert_eq!(single.kind, QuestionKind::Single);
    assert_eq!(single.stem_format, TextFormat::Markdown);
    assert!(single.stem.starts_with("Which process"));
    assert_eq!(
        single
            .choices
            .iter()
            .map(|c| c.id.as_str())
            .collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    assert!(single.choices[0].correct && !single.choices[1].correct);
    assert_eq!(single.references.len(), 1);
    assert!(single.explanation.is_some());

    let multiple = &bank.questions[1];
    assert_eq!(multiple.kind, QuestionKind::Multiple);
    assert!(multiple.partial_credit);
    assert_eq!(multiple.correct_count(), 2);
    assert_eq!(multiple.choices[2].id, "binaries");
    assert_eq!(
        multiple.choices[2].feedback.as_deref(),
        Some("They live under the installation prefix.")
    );

    let true_false = &bank.questions[2];
    assert_eq!(true_false.kind, QuestionKind::TrueFalse);
    assert_eq!(true_false.choices, Choice::true_false(true));
}

#[test]
fn identical_content_hashes_identically_despite_formatting() {
    let reformatted = GOOD
        .replace("# the blueprint", "# reworded comment")
        .replace("duration_minutes = 90", "duration_minutes   =   90");
    let a = parse_bank("a.toml", GOOD).unwrap_or_else(|e| panic!("{e}"));
    let b = parse_bank("b.toml", &reformatted).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(GOOD, reformatted);
    assert_eq!(a.content_hash(), b.content_hash());
    let changed = GOOD.replace("pass_percent = 70", "pass_percent = 71");
    let c = parse_bank("c.toml", &changed).unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(a.content_hash(), c.content_hash());
}

#[test]
fn free_exam_without_price_gets_no_currency_code() {
    let text = GOOD.replace(
        "[exam.price]\namount_minor = 15000\ncurrency = \"USD\"\n",
        "",
    );
    assert_ne!(text, GOOD);
    let bank = parse_bank("free.toml", &text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        bank.exam.price,
        Price {
            amount_minor: 0,
            currency: "XXX".into()
        }
    );
    assert!(bank.exam.price.is_free());
}

#[test]
fn syntax_error_reports_the_toml_line() {
    let errors = errors_of("syntax.toml");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("syntax.toml:4: TOML syntax error: "),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_fields_are_named_with_their_lines() {
    assert_eq!(
            errors_of("unknown_fields.toml"),
            vec![
                "unknown_fields.toml:1: unknown field `extra` in the file; allowed fields: `exam`, `domains`, `questions`",
                "unknown_fields.toml:7: unknown field `duraton_minutes` in [exam]; did you mean `duration_minutes`?",
                "unknown_fields.toml:13: unknown field `weight` in [[domains]]; allowed fields: `id`, `title`, `questions_per_form`",
                "unknown_fields.toml:23: question q1: unknown field `hint` in choice 2; allowed fields: `id`, `text`, `correct`, `feedback`",
                "unknown_fields.toml:27: question q2: unknown field `explaination` in [[questions]]; did you mean `explanation`?",
            ]
        );
}

#[test]
fn duplicate_question_id_points_at_the_second() {
    assert_single_error(
            "duplicate_question.toml",
            "duplicate_question.toml:32: question q1: duplicate question id `q1`: question ids must be unique in the file",
        );
}

#[test]
fn unknown_domain_lists_the_declared_ones() {
    assert_single_error(
        "unknown_domain.toml",
        "unknown_domain.toml:26: question q2: unknown domain `tuning`; declared domains: `basics`",
    );
}

#[test]
fn domain_with_too_few_questions_points_at_the_domain() {
    assert_single_error(
            "short_domain.toml",
            "short_domain.toml:17: domain `extra` has 1 question(s) but each form draws 2 (`questions_per_form`); add questions to it or lower `questions_per_form`",
        );
}

#[test]
fn single_needs_exactly_one_correct_choice() {
    assert_eq!(
            errors_of("single_correct.toml"),
            vec![
                "single_correct.toml:22: question q1: `single` question has 2 correct choices; mark exactly one (or make it `multiple`)",
                "single_correct.toml:33: question q2: `single` question has no correct choice; mark exactly one with `correct = true`",
            ]
        );
}

#[test]
fn multiple_needs_a_correct_choice() {
    assert_single_error(
            "multiple_none.toml",
            "multiple_none.toml:22: question q1: `multiple` question has no correct choice; mark at least one with `correct = true`",
        );
}

#[test]
fn choice_texts_must_be_unique_after_trimming_and_non_empty() {
    assert_eq!(
            errors_of("choice_texts.toml"),
            vec![
                "choice_texts.toml:24: question q1: choices 1 and 2 have the same text \"Alpha\"; make each choice different",
                "choice_texts.toml:34: question q2: `text` is empty; write the choice's text",
            ]
        );
}

#[test]
fn fewer_than_two_choices() {
    assert_single_error(
        "one_choice.toml",
        "one_choice.toml:22: question q1: a `single` question needs at least two choices; it has 1",
    );
}

#[test]
fn empty_stem() {
    assert_single_error(
        "empty_stem.toml",
        "empty_stem.toml:21: question q1: `stem` is empty; write the question text (Markdown)",
    );
}

#[test]
fn exam_numbers_are_range_checked() {
    assert_eq!(
            errors_of("exam_numbers.toml"),
            vec![
                "exam_numbers.toml:5: `duration_minutes` must be a whole number of minutes greater than 0; it is 0",
                "exam_numbers.toml:6: `pass_percent` must be between 1 and 100; it is 101",
                "exam_numbers.toml:9: `amount_minor` must be 0 (free) or more, in minor units (cents); it is -100",
            ]
        );
}

#[test]
fn negative_duration_and_zero_pass_percent() {
    assert_eq!(
            errors_of("negative_duration.toml"),
            vec![
                "negative_duration.toml:5: `duration_minutes` must be a whole number of minutes greater than 0; it is -30",
                "negative_duration.toml:6: `pass_percent` must be between 1 and 100; it is 0",
            ]
        );
}

#[test]
fn bad_slug() {
    assert_single_error(
            "bad_slug.toml",
            "bad_slug.toml:2: `slug` \"PostgreSQL Admin\" is not valid: use 1–64 lower-case letters, digits and '-'",
        );
}

#[test]
fn bad_currencies() {
    assert_single_error(
            "bad_currency.toml",
            "bad_currency.toml:10: `currency` \"ABC\" is not an ISO 4217 currency code; use three upper-case letters such as \"USD\" or \"EUR\"",
        );
    assert_single_error(
        "lowercase_currency.toml",
        "lowercase_currency.toml:10: `currency` must be upper case: write \"EUR\"",
    );
}

#[test]
fn true_false_with_choices_or_without_answer() {
    assert_eq!(
            errors_of("true_false.toml"),
            vec![
                "true_false.toml:23: question q1: `true_false` questions take `answer = true` or `answer = false`, not `choices`; remove `choices`",
                "true_false.toml:25: question q2: missing `answer` in [[questions]]: add `answer = true` or `answer = false`",
            ]
        );
}

#[test]
fn partial_credit_only_on_multiple() {
    assert_single_error(
            "partial_credit.toml",
            "partial_credit.toml:22: question q1: `partial_credit` applies to `multiple` questions only; remove it",
        );
}

#[test]
fn duplicate_domain_ids() {
    assert_single_error(
            "duplicate_domain.toml",
            "duplicate_domain.toml:18: duplicate domain id `basics`: domain ids must be unique in the file",
        );
}

#[test]
fn wrong_types_and_missing_fields_are_reported_together() {
    let errors = errors_of("many_problems.toml");
    assert_eq!(
            errors,
            vec![
                "many_problems.toml:1: missing `version` in [exam]: add a version label, e.g. `version = \"2026.1\"`",
                "many_problems.toml:4: `duration_minutes` must be a whole number, not a string",
                "many_problems.toml:5: `allow_review` must be `true` or `false`, not a string",
                "many_problems.toml:16: question q1: unknown question type \"choice\"; use \"single\", \"multiple\" or \"true_false\"",
                "many_problems.toml:18: question q1: reference \"www.example.com\" is not a URL; write a full http:// or https:// address",
                "many_problems.toml:20: question q2: missing `choices` in [[questions]]: add at least two choices, e.g. `choices = [{ text = \"…\", correct = true }, { text = \"…\" }]`",
                "many_problems.toml:25: question q2: `answer` is only for `true_false` questions; mark the correct choices of a `single` question with `correct = true`",
            ]
        );
}

#[test]
fn empty_file_reports_each_missing_section_once() {
    let errors = parse_bank("empty.toml", "# nothing yet\n").unwrap_err();
    assert_eq!(
        errors.to_string(),
        "empty.toml:1: missing [exam] table: add the exam's metadata\n\
             empty.toml:1: no [[domains]]: declare at least one domain (the blueprint)\n\
             empty.toml:1: no [[questions]]: add the questions"
    );
}

#[test]
fn array_of_tables_written_as_a_table_is_explained() {
    let text = "[exam]\nslug = \"x\"\n\n[domains]\nid = \"a\"\n";
    let errors = parse_bank("t.toml", text).unwrap_err();
    let lines: Vec<String> = errors.errors.iter().map(ToString::to_string).collect();
    assert!(
            lines.contains(&"t.toml:4: `domains` must be an array of tables: write each entry as a [[domains]] section, not a table".to_owned()),
            "{lines:#?}"
        );
}

proptest::proptest! {
    #[test]
    fn damaged_files_give_errors_on_existing_lines(start in 0usize..4000, length in 1usize..200, insert in ".{0,3}") {
        let mut text: Vec<char> = GOOD.chars().collect();
        let start = start.min(text.len());
        let end = (start + length).min(text.len());
        text.splice(start..end, insert.chars());
        let text: String = text.into_iter().collect();
        let line_count = text.lines().count().max(1);
        if let Err(errors) = parse_bank("damaged.toml", &text) {
            proptest::prop_assert!(!errors.errors.is_empty());
            for error in &errors.errors {
                proptest::prop_assert!((1..=line_count + 1).contains(&error.line), "{} of {} lines", error, line_count);
            }
        }
    }
}

#[test]
fn default_choice_ids_continue_past_z() {
    assert_eq!(default_choice_id(0), "a");
    assert_eq!(default_choice_id(25), "z");
    assert_eq!(default_choice_id(26), "aa");
    assert_eq!(default_choice_id(27), "ab");
}
