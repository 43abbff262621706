use super::data::{embedded_bank, MIN_PAYOUT_MINOR, TIERS};
use super::*;
use rand::SeedableRng;

#[test]
fn the_story_ends_with_a_payable_positive_balance() {
    let balance = expected_balance_minor().unwrap();
    assert!(balance >= MIN_PAYOUT_MINOR, "{balance}");
    // 15 % of 2,000.00 minus 15 % of 1,000.00.
    assert_eq!(balance, 15_000);
}

#[test]
fn embedded_banks_are_the_real_ones_with_forty_questions_per_form() {
    for slug in [POSTGRES_EXAM, GIT_EXAM] {
        let bank = embedded_bank(slug).unwrap();
        let per_form: u32 = bank.domains.iter().map(|d| d.questions_per_form).sum();
        assert_eq!(per_form, 40, "{slug}");
    }
    assert!(embedded_bank("nope").is_err());
}

/// The demo's answers (handles) as the bank's choice ids, for grading without a database.
fn bank_ids(
    form: &crate::exams::Form,
    answers: Vec<(String, Vec<String>)>,
) -> std::collections::HashMap<String, Vec<String>> {
    answers
        .into_iter()
        .map(|(handle, handles)| {
            let question = form.question_id_of(&handle).unwrap().to_owned();
            let ids = form.choice_ids_of(&question, &handles).unwrap();
            (question, ids)
        })
        .collect()
}

#[test]
fn demo_answers_pass_every_form_with_a_believable_score() {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for (slug, wrong_every) in [(POSTGRES_EXAM, 9), (GIT_EXAM, 7)] {
        let bank = embedded_bank(slug).unwrap();
        for _ in 0..20 {
            let form = crate::exams::draw_form(&bank, &mut rng).unwrap();
            let answers = bank_ids(
                &form,
                answers_for(&bank, &form.present(&bank).unwrap(), wrong_every),
            );
            assert_eq!(answers.len(), 40);
            let graded =
                crate::exams::grade(&bank, &form, &answers, bank.exam.pass_percent).unwrap();
            assert!(graded.passed, "{slug}: {}", graded.score_basis_points);
            assert!(
                graded.score_basis_points < 10_000,
                "{slug}: a perfect score looks staged"
            );
        }
        let form = crate::exams::draw_form(&bank, &mut rng).unwrap();
        let answers = bank_ids(&form, answers_for(&bank, &form.present(&bank).unwrap(), 0));
        let graded = crate::exams::grade(&bank, &form, &answers, 70).unwrap();
        assert_eq!(
            graded.score_basis_points, 10_000,
            "{slug}: the key is right"
        );
    }
}

#[test]
fn the_tiers_are_a_valid_program() {
    let rules: Vec<crate::referrals::TierRule> = TIERS
        .iter()
        .map(|(code, rank, rate, exams)| crate::referrals::TierRule {
            code: (*code).to_owned(),
            name: crate::referrals::tiers::default_tier_name(code),
            rank: *rank,
            rate_bps: *rate,
            requires_current_credentials: exams.iter().map(|e| (*e).to_owned()).collect(),
        })
        .collect();
    crate::referrals::tiers::validate_tiers(&rules).unwrap();
}

#[test]
fn the_summary_lists_every_login_with_its_password_and_the_links() {
    let seeded = Seeded {
        base_url: "http://127.0.0.1:8080".into(),
        vendor_console: "http://127.0.0.1:8080/vendor/acme".into(),
        catalog: "http://127.0.0.1:8080/exams".into(),
        certificates: vec![("PostgreSQL".into(), "http://127.0.0.1:8080/c/1".into())],
        credential_ids: vec!["1".into()],
        referral_link: "http://127.0.0.1:8080/r/ADA-ABCDE".into(),
        referral_dashboard: "http://127.0.0.1:8080/referrals".into(),
        spare_voucher: "ABCD-EFGH-JKMN".into(),
    };
    let text = summary(&seeded);
    for account in ACCOUNTS {
        let line = text
            .lines()
            .find(|l| l.contains(account.email))
            .unwrap_or_else(|| panic!("{} missing:\n{text}", account.email));
        assert!(
            line.ends_with(&format!("password: {DEMO_PASSWORD}")),
            "{line}"
        );
    }
    for needle in [
        "http://127.0.0.1:8080/c/1",
        "http://127.0.0.1:8080/r/ADA-ABCDE",
        "ABCD-EFGH-JKMN",
        "/vendor/acme",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    assert_eq!(ACCOUNTS.iter().filter(|a| a.role == "operator").count(), 1);
}

#[test]
fn demo_errors_name_their_step_and_say_nothing_was_stored() {
    let e = DemoError::new("import x.toml", "boom");
    let text = e.to_string();
    assert!(text.contains("import x.toml") && text.contains("boom"));
    assert!(text.contains("nothing was stored"));
}
