//! Program tiers. A tier is earned only by holding *current* credentials of the vendor's exams
//! (DESIGN §6 rule 2): never by money spent, never by recruiting. When a credential expires or
//! is revoked, the same function simply selects a lower tier.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::money::{format_percent, MAX_RATE_BPS};
use crate::validation::FieldError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TierRule {
    /// The identifier in the API, enrollments and commission snapshots, e.g. `"silver-plus"`.
    pub code: String,
    /// What advocates and vendors read, e.g. `"Certified partner"`.
    #[serde(default)]
    pub name: String,
    pub rank: i32,
    pub rate_bps: u32,
    /// Exam slugs whose credential must be currently valid; empty for the base tier.
    #[serde(default)]
    pub requires_current_credentials: Vec<String>,
}

/// Longest tier name, in characters.
pub const MAX_NAME_CHARS: usize = 80;

/// The name a tier gets when none is given: its code in words, `"silver-plus"` → `"Silver plus"`
/// (the same rule named the tiers that existed before names did).
pub fn default_tier_name(code: &str) -> String {
    let words = code.trim().replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The code a tier named on a page gets when none is typed: `"Certified partner"` →
/// `"certified-partner"` (letters and digits kept, everything else one dash).
pub fn code_from_name(name: &str) -> String {
    let mut code = String::new();
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            code.extend(c.to_lowercase());
        } else if !code.is_empty() && !code.ends_with('-') {
            code.push('-');
        }
    }
    code.trim_end_matches('-').to_string()
}

impl TierRule {
    fn is_held_with(&self, current_exam_slugs: &HashSet<String>) -> bool {
        self.requires_current_credentials
            .iter()
            .all(|slug| current_exam_slugs.contains(slug))
    }
}

/// The highest-rank tier whose every required exam is currently held; `None` only for an
/// invalid tier set without a base tier.
pub fn select_tier<'a>(
    tiers: &'a [TierRule],
    current_exam_slugs: &HashSet<String>,
) -> Option<&'a TierRule> {
    tiers
        .iter()
        .filter(|tier| tier.is_held_with(current_exam_slugs))
        .max_by_key(|tier| tier.rank)
}

/// The tier right above the one held now, with the exam slugs still missing for it (sorted,
/// for a stable dashboard). `None` when the top tier is already held.
pub fn next_tier<'a>(
    tiers: &'a [TierRule],
    current_exam_slugs: &HashSet<String>,
) -> Option<(&'a TierRule, Vec<&'a str>)> {
    let current_rank = select_tier(tiers, current_exam_slugs).map(|tier| tier.rank);
    let next = tiers
        .iter()
        .filter(|tier| current_rank.is_none_or(|rank| tier.rank > rank))
        .min_by_key(|tier| tier.rank)?;
    let mut missing: Vec<&str> = next
        .requires_current_credentials
        .iter()
        .filter(|slug| !current_exam_slugs.contains(*slug))
        .map(String::as_str)
        .collect();
    missing.sort_unstable();
    missing.dedup();
    Some((next, missing))
}

/// Checks a tier set before it is saved; reports every problem at once.
///
/// Rules: at least one tier; codes non-empty and unique; names non-empty, at most
/// [`MAX_NAME_CHARS`]; ranks unique; rates ≤ 10000 bps;
/// required exam slugs non-empty; exactly one tier without requirements (the base tier) and it
/// has the lowest rank; rates never decrease as rank rises (a higher tier never pays less).
pub fn validate_tiers(tiers: &[TierRule]) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    if tiers.is_empty() {
        errors.push(FieldError::new(
            "tiers",
            "add at least the base tier (a tier without required credentials)",
        ));
        return Err(errors);
    }

    let mut first_index_by_code: HashMap<&str, usize> = HashMap::new();
    let mut first_index_by_rank: HashMap<i32, usize> = HashMap::new();
    for (index, tier) in tiers.iter().enumerate() {
        let code = tier.code.trim();
        if code.is_empty() {
            errors.push(FieldError::new(
                format!("tiers[{index}].code"),
                "give the tier a code, e.g. \"silver\"",
            ));
        } else if let Some(first) = first_index_by_code.insert(code, index) {
            errors.push(FieldError::new(
                format!("tiers[{index}].code"),
                format!("code \"{code}\" is already used by tiers[{first}]; codes must be unique"),
            ));
        }
        let name = tier.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_CHARS
            || name.chars().any(char::is_control)
        {
            errors.push(FieldError::new(
                format!("tiers[{index}].name"),
                format!("name the tier for people (1 to {MAX_NAME_CHARS} characters), e.g. \"Certified partner\""),
            ));
        }
        if let Some(first) = first_index_by_rank.insert(tier.rank, index) {
            errors.push(FieldError::new(
                format!("tiers[{index}].rank"),
                format!(
                    "level {} is already used by tiers[{first}]; each tier needs its own level",
                    tier.rank
                ),
            ));
        }
        if tier.rate_bps > MAX_RATE_BPS {
            errors.push(FieldError::new(
                format!("tiers[{index}].rate_bps"),
                format!(
                    "rate {} is above 100 %; use 0 % to 100 %",
                    format_percent(tier.rate_bps)
                ),
            ));
        }
        for (slug_index, slug) in tier.requires_current_credentials.iter().enumerate() {
            if slug.trim().is_empty() {
                errors.push(FieldError::new(
                    format!("tiers[{index}].requires_current_credentials[{slug_index}]"),
                    "use an exam slug, e.g. \"cloud-practitioner\"",
                ));
            }
        }
    }

    let base_tiers: Vec<usize> = tiers
        .iter()
        .enumerate()
        .filter(|(_, tier)| tier.requires_current_credentials.is_empty())
        .map(|(index, _)| index)
        .collect();
    match base_tiers.as_slice() {
        [] => errors.push(FieldError::new(
            "tiers",
            "exactly one tier must have no required credentials (the base tier every advocate starts in)",
        )),
        [base] => {
            let base_rank = tiers[*base].rank;
            if tiers.iter().any(|tier| tier.rank < base_rank) {
                errors.push(FieldError::new(
                    format!("tiers[{base}].rank"),
                    "the base tier (no required credentials) must have the lowest level",
                ));
            }
        }
        [_, extra @ ..] => {
            for index in extra {
                errors.push(FieldError::new(
                    format!("tiers[{index}].requires_current_credentials"),
                    "only one tier may have no required credentials; add the exams this tier needs",
                ));
            }
        }
    }

    let mut by_rank: Vec<(usize, &TierRule)> = tiers.iter().enumerate().collect();
    by_rank.sort_by_key(|(_, tier)| tier.rank);
    for pair in by_rank.windows(2) {
        let ((lower_index, lower), (higher_index, higher)) = (pair[0], pair[1]);
        if higher.rank != lower.rank && higher.rate_bps < lower.rate_bps {
            errors.push(FieldError::new(
                format!("tiers[{higher_index}].rate_bps"),
                format!(
                    "rate {} is below the {} of the lower tiers[{lower_index}]; a higher tier never pays less",
                    format_percent(higher.rate_bps),
                    format_percent(lower.rate_bps)
                ),
            ));
        }
    }

    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tier(code: &str, rank: i32, rate_bps: u32, requires: &[&str]) -> TierRule {
        TierRule {
            code: code.to_owned(),
            name: default_tier_name(code),
            rank,
            rate_bps,
            requires_current_credentials: requires.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn held(slugs: &[&str]) -> HashSet<String> {
        slugs.iter().map(|s| (*s).to_owned()).collect()
    }

    fn program() -> Vec<TierRule> {
        vec![
            tier("gold", 30, 2000, &["cloud-architect", "cloud-security"]),
            tier("member", 0, 500, &[]),
            tier("silver", 10, 1000, &["cloud-practitioner"]),
            tier("silver-plus", 20, 1500, &["cloud-architect"]),
        ]
    }

    fn field_names(result: Result<(), Vec<FieldError>>) -> Vec<String> {
        result
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    #[test]
    fn program_fixture_is_valid() {
        assert_eq!(validate_tiers(&program()), Ok(()));
    }

    #[test]
    fn selects_highest_tier_fully_held() {
        let tiers = program();
        let code = |slugs: &[&str]| select_tier(&tiers, &held(slugs)).map(|t| t.code.as_str());
        assert_eq!(code(&[]), Some("member"));
        assert_eq!(code(&["cloud-practitioner"]), Some("silver"));
        assert_eq!(code(&["cloud-architect"]), Some("silver-plus"));
        // Gold needs both; one of two is not enough.
        assert_eq!(code(&["cloud-security"]), Some("member"));
        assert_eq!(
            code(&["cloud-practitioner", "cloud-architect", "cloud-security"]),
            Some("gold")
        );
        assert_eq!(select_tier(&[], &held(&[])), None);
    }

    #[test]
    fn tier_falls_when_a_credential_is_no_longer_current() {
        let tiers = program();
        let before = held(&["cloud-architect", "cloud-security"]);
        let after = held(&["cloud-architect"]);
        assert_eq!(select_tier(&tiers, &before).map(|t| t.rank), Some(30));
        assert_eq!(select_tier(&tiers, &after).map(|t| t.rank), Some(20));
    }

    #[test]
    fn next_tier_lists_missing_exams() {
        let tiers = program();
        let next = |slugs: &[&str]| {
            next_tier(&tiers, &held(slugs)).map(|(t, missing)| (t.code.clone(), missing.join(",")))
        };
        assert_eq!(
            next(&[]),
            Some(("silver".to_owned(), "cloud-practitioner".to_owned()))
        );
        assert_eq!(
            next(&["cloud-practitioner"]),
            Some(("silver-plus".to_owned(), "cloud-architect".to_owned()))
        );
        assert_eq!(
            next(&["cloud-architect"]),
            Some(("gold".to_owned(), "cloud-security".to_owned()))
        );
        assert_eq!(
            next(&["cloud-architect", "cloud-security"]),
            None,
            "top tier has no next"
        );
        // Without a base tier nothing is held: the lowest tier is next, all its exams missing.
        let no_base = vec![tier("x", 5, 100, &["b", "a"])];
        assert_eq!(
            next_tier(&no_base, &held(&[])).map(|(t, m)| (t.rank, m)),
            Some((5, vec!["a", "b"]))
        );
    }

    #[test]
    fn rejects_empty_set() {
        assert_eq!(field_names(validate_tiers(&[])), vec!["tiers"]);
    }

    #[test]
    fn reports_each_problem_with_its_field() {
        let tiers = vec![
            tier("member", 0, 500, &[]),
            tier(" ", 10, 1000, &["a"]),
            tier("member", 20, 1500, &["b"]),
            tier("top", 20, 10_001, &["c", ""]),
        ];
        assert_eq!(
            field_names(validate_tiers(&tiers)),
            vec![
                "tiers[1].code",
                "tiers[1].name",
                "tiers[2].code",
                "tiers[3].rank",
                "tiers[3].rate_bps",
                "tiers[3].requires_current_credentials[1]",
            ]
        );
    }

    #[test]
    fn requires_exactly_one_base_tier_at_the_lowest_rank() {
        let none = vec![tier("a", 0, 500, &["x"]), tier("b", 1, 600, &["y"])];
        assert_eq!(field_names(validate_tiers(&none)), vec!["tiers"]);

        let two = vec![tier("a", 0, 500, &[]), tier("b", 1, 600, &[])];
        assert_eq!(
            field_names(validate_tiers(&two)),
            vec!["tiers[1].requires_current_credentials"]
        );

        let base_not_lowest = vec![tier("a", 0, 500, &["x"]), tier("base", 1, 500, &[])];
        assert_eq!(
            field_names(validate_tiers(&base_not_lowest)),
            vec!["tiers[1].rank"]
        );
    }

    #[test]
    fn rates_must_not_decrease_with_rank() {
        let tiers = vec![
            tier("base", 0, 1000, &[]),
            tier("high", 20, 900, &["b"]),
            tier("mid", 10, 1000, &["a"]),
        ];
        let result = validate_tiers(&tiers);
        assert_eq!(field_names(result.clone()), vec!["tiers[1].rate_bps"]);
        let message = result.err().unwrap_or_default().remove(0).message;
        assert!(message.contains("tiers[2]"), "{message}");

        let equal_rates = vec![tier("base", 0, 1000, &[]), tier("next", 1, 1000, &["a"])];
        assert_eq!(validate_tiers(&equal_rates), Ok(()));
    }

    #[test]
    fn names_and_codes_from_each_other() {
        assert_eq!(default_tier_name("silver-plus"), "Silver plus");
        assert_eq!(default_tier_name("gold_tier"), "Gold tier");
        assert_eq!(default_tier_name(""), "");
        assert_eq!(code_from_name("Certified partner"), "certified-partner");
        assert_eq!(code_from_name("  Gold — 2026! "), "gold-2026");
        assert_eq!(code_from_name("Été"), "été");
        assert_eq!(code_from_name("!!"), "");
    }

    #[test]
    fn a_tier_needs_a_readable_name() {
        let mut tiers = vec![tier("member", 0, 500, &[]), tier("pro", 1, 600, &["a"])];
        tiers[1].name = " ".to_owned();
        assert_eq!(field_names(validate_tiers(&tiers)), vec!["tiers[1].name"]);
        tiers[1].name = "x".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(field_names(validate_tiers(&tiers)), vec!["tiers[1].name"]);
    }

    #[test]
    fn deserializes_the_api_shape() -> Result<(), serde_json::Error> {
        let tiers: Vec<TierRule> = serde_json::from_str(
            r#"[{"code":"member","name":"Member","rank":0,"rate_bps":500},
                {"code":"pro","name":"Pro","rank":1,"rate_bps":1000,"requires_current_credentials":["exam-a"]}]"#,
        )?;
        assert!(tiers[0].requires_current_credentials.is_empty());
        assert_eq!(tiers[1].requires_current_credentials, vec!["exam-a"]);
        assert_eq!(validate_tiers(&tiers), Ok(()));
        Ok(())
    }
}
