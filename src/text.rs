//! Wording shared by domain messages and pages.

/// A count with its noun, singular for one: `plural(1, "day", "days")` is `1 day`, `plural(3, …)`
/// `3 days` (give the verb too when it agrees: `plural(n, "question is", "questions are")`).
pub fn plural(count: impl Into<i64>, one: &str, many: &str) -> String {
    let count = count.into();
    format!("{count} {}", if count == 1 { one } else { many })
}

#[cfg(test)]
mod tests {
    use super::plural;

    #[test]
    fn one_is_singular_everything_else_plural() {
        assert_eq!(plural(1, "day", "days"), "1 day");
        assert_eq!(plural(0, "day", "days"), "0 days");
        assert_eq!(plural(14, "day", "days"), "14 days");
        assert_eq!(plural(-1, "day", "days"), "-1 days");
    }
}
