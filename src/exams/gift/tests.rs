use super::*;

const MIXED: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/exams/gift/mixed.gift"
));

fn import(text: &str) -> ImportedQuestions {
    parse_gift("test.gift", text).unwrap_or_else(|errors| panic!("{errors}"))
}

fn errors(text: &str) -> Vec<String> {
    match parse_gift("bad.gift", text) {
        Ok(import) => panic!("should fail, got {import:?}"),
        Err(errors) => errors.errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn mixed_file_imports_supported_questions() {
    let import = import(MIXED);
    let ids: Vec<&str> = import.questions.iter().map(|q| q.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "capital-of-france",
            "q-002",
            "colours",
            "sky",
            "earth-flat",
            "q-010",
            "html-q",
            "md-q",
            "plain-q",
            "colours-2"
        ]
    );
    assert_eq!(
        import.domains,
        vec![
            Domain {
                id: "general".into(),
                title: "General".into(),
                questions_per_form: 2
            },
            Domain {
                id: "geography-basics".into(),
                title: "Geography Basics".into(),
                questions_per_form: 5
            },
            Domain {
                id: "formats".into(),
                title: "Formats".into(),
                questions_per_form: 3
            },
            Domain {
                id: "empty".into(),
                title: "Empty".into(),
                questions_per_form: 0
            },
        ]
    );

    let france = &import.questions[0];
    assert_eq!(france.kind, QuestionKind::Single);
    assert_eq!(france.domain, "general");
    assert_eq!(france.stem, "What is the capital of France?");
    assert_eq!(france.stem_format, TextFormat::Html);
    let texts: Vec<(&str, &str, bool)> = france
        .choices
        .iter()
        .map(|c| (c.id.as_str(), c.text.as_str(), c.correct))
        .collect();
    assert_eq!(
        texts,
        [
            ("a", "Paris", true),
            ("b", "London", false),
            ("c", "Berlin", false)
        ]
    );
    assert_eq!(
        france.choices[1].feedback.as_deref(),
        Some("That is the UK.")
    );
    assert_eq!(
        france.explanation.as_deref(),
        Some("Paris has been the capital since 508.")
    );

    let escaped = &import.questions[1];
    assert_eq!(
        escaped.stem,
        "Which is true: 1 + 1 = 2 {always}<br>\nor # never: ~ ?"
    );
    assert_eq!(escaped.choices[0].text, "a = b");
    assert!(escaped.choices[0].correct);

    let colours = &import.questions[2];
    assert_eq!(colours.kind, QuestionKind::Multiple);
    assert!(colours.partial_credit);
    assert_eq!(colours.domain, "geography-basics");
    assert_eq!(
        colours
            .choices
            .iter()
            .map(|c| c.correct)
            .collect::<Vec<_>>(),
        [true, true, false, false]
    );

    let sky = &import.questions[3];
    assert_eq!(sky.kind, QuestionKind::TrueFalse);
    assert_eq!(sky.choices[0].id, "true");
    assert!(sky.choices[0].correct);
    assert_eq!(
        sky.choices[0].feedback.as_deref(),
        Some("Yes, Rayleigh scattering.")
    );
    assert_eq!(sky.choices[1].feedback.as_deref(), Some("Look up."));

    let flat = &import.questions[4];
    assert_eq!(flat.kind, QuestionKind::TrueFalse);
    assert!(
        flat.choices[1].correct,
        "FALSE makes `false` the right choice"
    );

    let missing_word = &import.questions[5];
    assert_eq!(
        missing_word.stem,
        "The Seine flows through _____ in France."
    );
    assert_eq!(missing_word.correct_count(), 1);

    assert_eq!(import.questions[6].stem_format, TextFormat::Html);
    assert_eq!(import.questions[6].stem, "<p>Pick <b>bold</b></p>");
    assert_eq!(import.questions[7].stem_format, TextFormat::Markdown);
    assert_eq!(import.questions[7].stem, "Pick **one**:\n\n- list");
    assert_eq!(import.questions[8].stem_format, TextFormat::Plain);
    assert_eq!(import.questions[8].stem, "Is 3 < 5?");

    let all_or_nothing = &import.questions[9];
    assert_eq!(all_or_nothing.kind, QuestionKind::Multiple);
    assert!(
        !all_or_nothing.partial_credit,
        "one right answer worth 100%"
    );
}

#[test]
fn mixed_file_lists_every_skipped_question_with_line_and_type() {
    let import = import(MIXED);
    let warnings: Vec<String> = import.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
            warnings,
            [
                "test.gift:26: question essay: skipped: unsupported question type \"essay\"",
                "test.gift:28: question q-007: skipped: unsupported question type \"matching\"",
                "test.gift:30: question pi: skipped: unsupported question type \"numerical\"",
                "test.gift:32: question q-009: skipped: unsupported question type \"short answer\"",
                "test.gift:36: question q-011: skipped: unsupported question type \"description\"",
                "test.gift:47: question colours-2: question id `colours` is already used in this file; this question was imported as `colours-2`",
            ]
        );
}

#[test]
fn malformed_questions_are_errors_with_lines() {
    let text = "::a:: Open {=x ~y\n\nok {T}\n\n::unclosed Title {T}\n\nStray } brace\n\nTwo {T} blocks {F}\n\nNested {=a {~b}\n\n{=x ~y} here\n\nW {~%abc%x =y}\n\nE {= ~y}\n\nT {bad ~x =y}\n";
    assert_eq!(
            errors(text),
            [
                "bad.gift:1: question a: `{` is never closed with `}`; close the answer block or escape a literal brace as `\\{`",
                "bad.gift:5: question name `::…` is not closed with `::`",
                "bad.gift:7: question q-004: `}` without an opening `{`; escape a literal brace as `\\}`",
                "bad.gift:9: question q-005: a second answer block or a stray brace after the answer block; a question has one `{…}` (escape literal braces as `\\{` `\\}`)",
                "bad.gift:11: question q-006: `{` inside an answer block; escape a literal brace as `\\{`",
                "bad.gift:15: question q-008: answer weight `%abc%` is not a percentage between -100 and 100",
                "bad.gift:17: question q-009: an answer is empty; write its text after `=` or `~` (escape a literal `=`, `~` or `#` with `\\`)",
                "bad.gift:19: question q-010: text before the first answer; start each answer with `=` (right) or `~` (wrong)",
            ]
        );
}

#[test]
fn unusable_choice_questions_are_skipped_with_warnings() {
    let import = import(
            "Two right {=a =b ~c}\n\nNo right {~%-50%a ~b}\n\nSame {=a ~a}\n\nOne {=a}\n\nHalf {=a ~%50%b ~c}\n\nOdd {~%40%a ~%40%b ~c}\n",
        );
    let warnings: Vec<String> = import
        .warnings
        .iter()
        .map(|w| format!("{}: {}", w.line, w.message))
        .collect();
    assert_eq!(
            warnings,
            [
                "3: skipped: no answer is right; mark one with `=` or give right answers a positive weight like `~%50%`",
                "5: skipped: two answers have the same text \"a\"",
                "7: skipped: unsupported question type \"short answer\"",
                "9: partial weight 50% on \"b\" is not supported in a single-answer question; it scores 0",
                "11: the positive weights add up to 80%, not 100%; every positively weighted answer counts as right",
            ]
        );
    assert_eq!(import.questions.len(), 3);
    // Two `=` answers: one question, either answer accepted (Moodle's rule).
    assert_eq!(import.questions[0].kind, QuestionKind::Single);
    assert_eq!(import.questions[0].correct_count(), 2);
    assert_eq!(import.questions[1].kind, QuestionKind::Single);
    assert_eq!(import.questions[1].correct_count(), 1);
    assert_eq!(import.questions[2].correct_count(), 2);
    assert!(import.questions[2].partial_credit);
}

proptest::proptest! {
    #[test]
    fn any_input_yields_valid_questions_or_located_errors(text in "[=~#{}:%\\\\ \nTFab>/$-]{0,200}") {
        let line_count = text.lines().count().max(1);
        match parse_gift("fuzz.gift", &text) {
            Ok(import) => {
                let mut ids = HashSet::new();
                for question in &import.questions {
                    proptest::prop_assert!(crate::exams::model::is_valid_id(&question.id), "{}", question.id);
                    proptest::prop_assert!(ids.insert(question.id.clone()), "duplicate {}", question.id);
                    proptest::prop_assert!(question.choices.len() >= 2);
                    proptest::prop_assert!(import.domains.iter().any(|d| d.id == question.domain));
                    let correct = question.correct_count();
                    match question.kind {
                        QuestionKind::TrueFalse => proptest::prop_assert_eq!(correct, 1),
                        _ => proptest::prop_assert!(correct >= 1),
                    }
                }
                for warning in &import.warnings {
                    proptest::prop_assert!((1..=line_count).contains(&warning.line), "{}", warning);
                }
            }
            Err(errors) => {
                proptest::prop_assert!(!errors.errors.is_empty());
                for error in &errors.errors {
                    proptest::prop_assert!((1..=line_count).contains(&error.line), "{}", error);
                }
            }
        }
    }
}

fn fixture(name: &str) -> ImportedQuestions {
    let path = format!("{}/tests/fixtures/gift/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    import(&text)
}

fn texts(question: &Question) -> Vec<(&str, bool, Option<&str>)> {
    question
        .choices
        .iter()
        .map(|c| (c.text.as_str(), c.correct, c.feedback.as_deref()))
        .collect()
}

#[test]
fn backslash_escapes_read_as_moodle_reads_them() {
    let import = fixture("escapes.gift");
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    let [separator, tricky, literals] = &import.questions[..] else {
        panic!("{:?}", import.questions)
    };
    assert_eq!(
        texts(separator),
        [("\\", true, None), ("/", false, None), (":", false, None)]
    );
    assert_eq!(tricky.kind, QuestionKind::Single);
    assert_eq!(texts(tricky), [("a\\", true, None), ("b", false, None)]);
    assert_eq!(literals.stem, "Is {x} = 1 # 2 ~ 3: true?");
    assert_eq!(literals.kind, QuestionKind::TrueFalse);
}

#[test]
fn format_markers_on_answers_and_feedback_set_their_format() {
    let import = fixture("formats.gift");
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    let same = &import.questions[0];
    assert_eq!(same.stem_format, TextFormat::Html);
    assert_eq!(
        texts(same),
        [
            ("<b>b</b>", true, Some("<i>Right</i>")),
            ("<u>u</u>", false, Some("<i>That underlines</i>"))
        ]
    );
    assert_eq!(
        same.explanation.as_deref(),
        Some("<p>See the HTML spec.</p>")
    );

    // Markdown question with HTML, plain and Markdown texts: all become HTML.
    let mixed = &import.questions[1];
    assert_eq!(mixed.stem_format, TextFormat::Html);
    assert_eq!(mixed.stem, "<p>Pick the <strong>right</strong> one</p>");
    assert_eq!(
        texts(mixed),
        [
            ("yes", true, Some("<b>Right</b>, well done")),
            (
                "no &lt;way&gt;",
                false,
                Some("<p><em>Not</em> this one</p>")
            )
        ]
    );
    assert_eq!(
        mixed.explanation.as_deref(),
        Some("<p>General feedback</p>")
    );
}

#[test]
fn missing_word_questions_get_a_blank() {
    let import = fixture("missing-word.gift");
    assert!(import.warnings.is_empty(), "{:?}", import.warnings);
    let stems: Vec<&str> = import.questions.iter().map(|q| q.stem.as_str()).collect();
    assert_eq!(
        stems,
        [
            "Grant is _____ in Grant's tomb.",
            "The moon is _____ of the Earth.",
            "The sun is a star."
        ]
    );
    assert_eq!(
        texts(&import.questions[0]),
        [
            ("buried", false, None),
            ("entombed", true, None),
            ("living", false, None)
        ]
    );
}

#[test]
fn several_equals_answers_are_several_accepted_answers() {
    let import = fixture("several-equals.gift");
    let primes = &import.questions[0];
    assert_eq!(primes.kind, QuestionKind::Single);
    assert_eq!(primes.correct_count(), 2);
    let warnings: Vec<String> = import.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
            warnings,
            ["test.gift:6: question grants-tomb: skipped: unsupported question type \"short answer\""]
        );
}

#[test]
fn slugs_and_categories() {
    assert_eq!(slug("  Capital of France?! "), "capital-of-france");
    assert_eq!(slug("日本"), "");
    let import = import("$CATEGORY: $course$/top/Big Things\n\n::Q::Big? {T}\n\n$CATEGORY: other/big-things\nSame domain? {F}\n");
    assert_eq!(import.domains.len(), 1);
    assert_eq!(import.domains[0].id, "big-things");
    assert_eq!(import.domains[0].title, "Big Things");
    assert_eq!(import.domains[0].questions_per_form, 2);
    assert_eq!(import.questions[1].domain, "big-things");
    assert_eq!(import.questions[1].id, "q-002");
}

#[test]
fn imported_html_renders_safely() {
    let import = import("[html]<p onclick=\"x()\">Hi<script>alert(1)</script></p> {=<b>yes</b> ~<img src\\=javascript:alert(1)>no}\n");
    let question = &import.questions[0];
    let html = crate::exams::markdown::render_text(&question.stem, question.stem_format);
    assert_eq!(html, "<p>Hi</p>");
    let choice =
        crate::exams::markdown::render_text_inline(&question.choices[1].text, question.stem_format);
    assert!(!choice.contains("javascript"), "{choice}");
}
