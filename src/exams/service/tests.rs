use super::vouchers::VOUCHER_ALPHABET;
use super::*;
use crate::exams::parse_gift;
use crate::exams::store::AttemptHistory;
use rand::SeedableRng;

fn at(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn attempt(started: &str, graded: Option<&str>, passed: Option<bool>) -> AttemptHistory {
    AttemptHistory {
        started_at: at(started),
        graded_at: graded.map(at),
        passed,
    }
}

fn policy(cooldown: i32, max: i32, wait: i32) -> RetakeView {
    RetakeView {
        cooldown_days: cooldown,
        max_attempts_per_year: max,
        wait_after_pass_days: wait,
    }
}

#[test]
fn no_policy_and_no_history_allow_an_attempt() {
    let now = at("2026-06-01 12:00");
    assert_eq!(next_attempt_allowed(&policy(0, 0, 0), &[], now), None);
    let history = [attempt(
        "2026-05-31 10:00",
        Some("2026-05-31 11:00"),
        Some(false),
    )];
    assert_eq!(next_attempt_allowed(&policy(0, 0, 0), &history, now), None);
}

#[test]
fn cooldown_after_a_fail_only() {
    let now = at("2026-06-02 12:00");
    let failed = [attempt(
        "2026-06-01 10:00",
        Some("2026-06-01 11:00"),
        Some(false),
    )];
    let (until, reason) = next_attempt_allowed(&policy(14, 0, 0), &failed, now).unwrap();
    assert_eq!(until, at("2026-06-15 11:00"));
    assert!(reason.contains("14 day"), "{reason}");
    assert_eq!(
        next_attempt_allowed(&policy(14, 0, 0), &failed, at("2026-06-15 11:00")),
        None
    );
    let passed = [attempt(
        "2026-06-01 10:00",
        Some("2026-06-01 11:00"),
        Some(true),
    )];
    assert_eq!(next_attempt_allowed(&policy(14, 0, 0), &passed, now), None);
}

#[test]
fn wait_after_pass_and_latest_block_wins() {
    let now = at("2026-06-02 12:00");
    let history = [
        attempt("2026-05-01 10:00", Some("2026-05-01 11:00"), Some(false)),
        attempt("2026-06-01 10:00", Some("2026-06-01 11:00"), Some(true)),
    ];
    let (until, reason) = next_attempt_allowed(&policy(14, 0, 30), &history, now).unwrap();
    assert_eq!(until, at("2026-07-01 11:00"));
    assert!(reason.contains("passed"), "{reason}");
}

#[test]
fn max_attempts_in_any_twelve_months() {
    let history = [
        attempt("2025-07-01 10:00", Some("2025-07-01 11:00"), Some(false)),
        attempt("2026-01-01 10:00", Some("2026-01-01 11:00"), Some(false)),
        attempt("2026-03-01 10:00", Some("2026-03-01 11:00"), Some(false)),
    ];
    let now = at("2026-06-01 12:00");
    // Three in the window, max 3: the oldest leaves the window on 2026-07-01 10:00.
    let (until, _) = next_attempt_allowed(&policy(0, 3, 0), &history, now).unwrap();
    assert_eq!(until, at("2026-07-01 10:00"));
    // Max 2: two must leave, the second oldest leaves on 2027-01-01.
    let (until, _) = next_attempt_allowed(&policy(0, 2, 0), &history, now).unwrap();
    assert_eq!(until, at("2027-01-01 10:00"));
    assert_eq!(next_attempt_allowed(&policy(0, 4, 0), &history, now), None);
    assert_eq!(
        next_attempt_allowed(&policy(0, 3, 0), &history, at("2026-07-01 10:01")),
        None
    );
}

#[test]
fn voucher_codes_are_readable_and_normalized() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let code = new_voucher_code(&mut rng);
    assert_eq!(code.len(), 14);
    assert_eq!(code.matches('-').count(), 2);
    assert!(code
        .chars()
        .all(|c| c == '-' || VOUCHER_ALPHABET.contains(&(c as u8))));
    let typed = code.to_lowercase().replace('-', " ");
    assert_eq!(normalize_voucher_code(&typed), code);
    assert_eq!(normalize_voucher_code(" ab-c "), "ABC");
}

#[test]
fn expiry_accepts_times_and_dates() {
    assert_eq!(
        parse_expiry("2027-01-31"),
        Some(at("2027-01-31 23:59") + chrono::Duration::seconds(59))
    );
    assert_eq!(
        parse_expiry("2027-01-31T10:00:00+02:00"),
        Some(at("2027-01-31 08:00"))
    );
    assert_eq!(parse_expiry("next week"), None);
}

#[test]
fn gift_bank_defaults_and_existing_blueprint() {
    let text = "$CATEGORY: Basics\n::a:: A? {=y ~n}\n\n::b:: B? {=y ~n}\n\n$CATEGORY: Extra\n::c:: C? {T}\n\n$CATEGORY: Empty\n";
    let import = parse_gift("x.gift", text).unwrap();
    let (bank, warnings) = imported_bank("x.gift", "git-basics", import.clone(), None).unwrap();
    assert_eq!(bank.exam.title, "Git basics");
    assert_eq!(bank.exam.duration_minutes, GIFT_DEFAULT_DURATION_MINUTES);
    assert!(bank.exam.price.is_free());
    assert_eq!(
        bank.domains
            .iter()
            .map(|d| (d.id.as_str(), d.questions_per_form))
            .collect::<Vec<_>>(),
        [("basics", 2), ("extra", 1)]
    );
    assert!(warnings.iter().any(|w| w.message.contains("Empty")));

    let mut previous = bank.clone();
    previous.exam.title = "Kept title".into();
    previous.exam.duration_minutes = 15;
    previous.domains[0].questions_per_form = 1;
    previous.domains[0].title = "Kept domain".into();
    let (next, _) = imported_bank("x.gift", "git-basics", import.clone(), Some(&previous)).unwrap();
    assert_eq!(next.exam.title, "Kept title");
    assert_eq!(next.exam.duration_minutes, 15);
    assert_eq!(next.domains[0].questions_per_form, 1);
    assert_eq!(next.domains[0].title, "Kept domain");
    assert_eq!(next.domains[1].questions_per_form, 1);

    previous.domains[0].questions_per_form = 5;
    let errors = imported_bank("x.gift", "git-basics", import, Some(&previous)).unwrap_err();
    assert!(errors.errors[0].message.contains("draws 5"), "{errors}");

    let nothing = parse_gift("n.gift", "::e:: Essay {}\n").unwrap();
    let errors = imported_bank("n.gift", "x", nothing, None).unwrap_err();
    assert_eq!(errors.errors.len(), 2, "{errors}");
    assert!(errors.errors[1].message.contains("essay"), "{errors}");
}

#[test]
fn form_fields_become_answers_per_question() {
    let ids = vec!["q1".to_owned(), "q2".to_owned(), "q3".to_owned()];
    let fields = vec![
        ("csrf_token".to_owned(), "x".to_owned()),
        ("q_q1".to_owned(), "a".to_owned()),
        ("q_q2".to_owned(), "b".to_owned()),
        ("q_q2".to_owned(), "c".to_owned()),
        ("q_q2".to_owned(), "c".to_owned()),
    ];
    assert_eq!(
        answers_from_fields(&ids, &fields),
        vec![
            ("q1".to_owned(), vec!["a".to_owned()]),
            ("q2".to_owned(), vec!["b".to_owned(), "c".to_owned()]),
            ("q3".to_owned(), vec![]),
        ]
    );
}

#[test]
fn retake_policy_sentence() {
    assert_eq!(policy(0, 0, 0).describe(), "No restrictions on retakes.");
    assert_eq!(
            policy(14, 3, 365).describe(),
            "Wait 14 days after a failed attempt; at most 3 attempts in any 12 months; no new attempt for 365 days after a pass."
        );
    assert_eq!(
            policy(1, 1, 1).describe(),
            "Wait 1 day after a failed attempt; at most 1 attempt in any 12 months; no new attempt for 1 day after a pass."
        );
}
