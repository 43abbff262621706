//! The `[exam]` table: the exam's metadata, its price and its retake policy.

use super::{Report, Table, U32_MAX};
use crate::exams::model::{is_known_currency, ExamMeta, Price, RetakePolicy};

const EXAM_FIELDS: &[&str] = &[
    "slug",
    "title",
    "version",
    "description",
    "duration_minutes",
    "pass_percent",
    "validity_months",
    "allow_review",
    "renewal_exam",
    "price",
    "retake",
];
const PRICE_FIELDS: &[&str] = &["amount_minor", "currency"];
const RETAKE_FIELDS: &[&str] = &[
    "cooldown_days",
    "max_attempts_per_year",
    "wait_after_pass_days",
];

pub(super) fn read_exam(report: &mut Report, table: &Table) -> ExamMeta {
    table.reject_unknown(report, EXAM_FIELDS);
    let slug = table
        .required_string(report, "slug", "the exam's slug, e.g. `slug = \"postgresql-administration\"`")
        .and_then(|(slug, span)| {
            if crate::validation::is_slug(&slug) {
                Some(slug)
            } else {
                report.at(
                    &span,
                    None,
                    format!("`slug` \"{slug}\" is not valid: use 1–64 lower-case letters, digits and '-'"),
                );
                None
            }
        })
        .unwrap_or_default();
    let title = table
        .required_text(report, "title", "the exam's title")
        .unwrap_or_default();
    let version = table
        .required_text(
            report,
            "version",
            "a version label, e.g. `version = \"2026.1\"`",
        )
        .unwrap_or_default();
    let description = table.optional_text(report, "description");
    if table.get("duration_minutes").is_none() {
        table.missing(report, "duration_minutes", "the time limit in minutes");
    }
    let duration_minutes = table
        .bounded(
            report,
            "duration_minutes",
            1,
            U32_MAX,
            "a whole number of minutes greater than 0",
        )
        .unwrap_or(0);
    if table.get("pass_percent").is_none() {
        table.missing(
            report,
            "pass_percent",
            "the pass mark, e.g. `pass_percent = 70`",
        );
    }
    let pass_percent = table
        .bounded(report, "pass_percent", 1, 100, "between 1 and 100")
        .unwrap_or(0);
    let validity_months = table
        .bounded(
            report,
            "validity_months",
            0,
            U32_MAX,
            "0 (never expires) or more",
        )
        .unwrap_or(0);
    let allow_review = table
        .boolean(report, "allow_review")
        .map(|(flag, _)| flag)
        .unwrap_or(false);
    let renewal_exam = table.string(report, "renewal_exam").and_then(|(slug, span)| {
        if crate::validation::is_slug(&slug) {
            Some(slug)
        } else {
            report.at(
                &span,
                None,
                format!("`renewal_exam` \"{slug}\" is not an exam slug: use 1–64 lower-case letters, digits and '-'"),
            );
            None
        }
    });
    let price = match table.sub_table(report, "price", "[exam.price]") {
        Some(price) => read_price(report, &price),
        None => Price {
            amount_minor: 0,
            currency: Price::NO_CURRENCY.to_owned(),
        },
    };
    let retake = match table.sub_table(report, "retake", "[exam.retake]") {
        Some(retake) => read_retake(report, &retake),
        None => RetakePolicy::default(),
    };
    ExamMeta {
        slug,
        title,
        version,
        description,
        duration_minutes,
        pass_percent,
        validity_months,
        allow_review,
        renewal_exam,
        price,
        retake,
    }
}

fn read_price(report: &mut Report, table: &Table) -> Price {
    table.reject_unknown(report, PRICE_FIELDS);
    let amount_minor = table
        .bounded(
            report,
            "amount_minor",
            0,
            i64::MAX,
            "0 (free) or more, in minor units (cents)",
        )
        .unwrap_or(0);
    let currency = match table.string(report, "currency") {
        Some((code, span)) => {
            if is_known_currency(&code) || (code == Price::NO_CURRENCY && amount_minor == 0) {
                code
            } else {
                let upper = code.to_ascii_uppercase();
                let message = if code == Price::NO_CURRENCY {
                    "`currency` \"XXX\" means no currency and is only allowed for free exams; give the currency of the price".to_owned()
                } else if is_known_currency(&upper) {
                    format!("`currency` must be upper case: write \"{upper}\"")
                } else {
                    format!("`currency` \"{code}\" is not an ISO 4217 currency code; use three upper-case letters such as \"USD\" or \"EUR\"")
                };
                report.at(&span, None, message);
                code
            }
        }
        None => {
            if amount_minor > 0 && table.get("currency").is_none() {
                table.missing(
                    report,
                    "currency",
                    "the price's ISO 4217 currency, e.g. `currency = \"USD\"`",
                );
            }
            Price::NO_CURRENCY.to_owned()
        }
    };
    Price {
        amount_minor,
        currency,
    }
}

fn read_retake(report: &mut Report, table: &Table) -> RetakePolicy {
    table.reject_unknown(report, RETAKE_FIELDS);
    let mut days = |key: &str| {
        table
            .bounded(report, key, 0, U32_MAX, "0 or more")
            .unwrap_or(0)
    };
    RetakePolicy {
        cooldown_days: days("cooldown_days"),
        max_attempts_per_year: days("max_attempts_per_year"),
        wait_after_pass_days: days("wait_after_pass_days"),
    }
}
