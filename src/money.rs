//! Money: integer minor units, rates in basis points, ISO 4217 currencies. Used by exam prices and
//! by commissions.
//!
//! No floats anywhere: every amount is an `i64` of minor units (cents, fils, yen) and every
//! division rounds half to even so that many small commissions do not drift in one direction.
//! People type and read amounts in currency units ("150.00 USD") and rates in percent ("12.5 %");
//! [`parse_amount`], [`parse_percent`], [`format_minor`] and [`format_percent`] are the one way
//! between those texts and the stored integers.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 100 % expressed in basis points.
pub const MAX_RATE_BPS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("rate {rate_bps} bps is above 100 % (10000 bps); use a rate between 0 and 10000")]
    RateTooHigh { rate_bps: u32 },
    #[error("the commission does not fit in a 64-bit amount of minor units")]
    AmountOutOfRange,
    #[error("currency {input:?} is not an active ISO 4217 code; use three upper-case letters such as USD or EUR")]
    UnknownCurrency { input: String },
    #[error("enter an amount in {currency} such as {example}")]
    NotAnAmount {
        currency: &'static str,
        example: String,
    },
    #[error("{currency} amounts have {} decimals; {input:?} has more", .decimals)]
    TooManyDecimals {
        currency: &'static str,
        decimals: u8,
        input: String,
    },
    #[error("enter a percentage from 0 to 100 with at most 2 decimals, such as 12.5")]
    NotAPercent,
}

/// Divides `numerator` by a positive `denominator`, rounding half to even on the magnitude
/// (so the result is symmetric around zero: -0.5 → 0, -1.5 → -2).
pub(crate) fn div_round_half_even(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(denominator > 0);
    let magnitude = numerator.unsigned_abs();
    let divisor = denominator.unsigned_abs();
    let mut quotient = magnitude / divisor;
    let remainder = magnitude % divisor;
    // remainder < divisor ≤ i128::MAX, so doubling it cannot overflow u128.
    let twice_remainder = remainder * 2;
    if twice_remainder > divisor || (twice_remainder == divisor && quotient % 2 == 1) {
        quotient += 1;
    }
    // quotient ≤ |numerator| / 1 rounded, which fits i128 for every caller in this module.
    let quotient = quotient as i128;
    if numerator < 0 {
        -quotient
    } else {
        quotient
    }
}

/// Commission on `base_minor` at `rate_bps`: `base × rate / 10000`, rounded half to even.
///
/// Negative bases (refunds, clawbacks) round symmetrically, so a sale and its full refund
/// always cancel out exactly. With `rate_bps ≤ 10000` the result's magnitude never exceeds
/// the base's, so it always fits `i64`; `AmountOutOfRange` guards against that invariant breaking.
pub fn commission_amount(base_minor: i64, rate_bps: u32) -> Result<i64, MoneyError> {
    if rate_bps > MAX_RATE_BPS {
        return Err(MoneyError::RateTooHigh { rate_bps });
    }
    let product = i128::from(base_minor) * i128::from(rate_bps);
    let rounded = div_round_half_even(product, i128::from(MAX_RATE_BPS));
    i64::try_from(rounded).map_err(|_| MoneyError::AmountOutOfRange)
}

/// Active ISO 4217 codes that have a minor unit, with that unit's decimal exponent, sorted by code.
///
/// Left out on purpose: codes whose minor unit is "N.A." (precious metals XAU/XAG/XPD/XPT,
/// XDR, XSU, XUA, bond units XBA–XBD, the test code XTS and "no currency" XXX), because
/// nothing can be invoiced in them; and withdrawn codes (e.g. ANG, replaced by XCG in 2025;
/// HRK, CUC, SLL, ZWL, VEF, MRO, STD).
const ACTIVE_CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
];

/// A validated active ISO 4217 currency and the number of decimals of its minor unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    minor_unit_exponent: u8,
}

impl Currency {
    /// The three-letter code, e.g. `"EUR"`.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Decimals between the major and minor unit: 2 for EUR, 0 for JPY, 3 for KWD.
    pub fn minor_unit_exponent(&self) -> u8 {
        self.minor_unit_exponent
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        parse_currency(&code).map_err(serde::de::Error::custom)
    }
}

/// Parses an active ISO 4217 code. Exactly three upper-case ASCII letters; `"usd"` is refused
/// so that stored codes are always canonical.
pub fn parse_currency(input: &str) -> Result<Currency, MoneyError> {
    ACTIVE_CURRENCIES
        .binary_search_by(|(code, _)| (*code).cmp(input))
        .map(|index| {
            let (code, minor_unit_exponent) = ACTIVE_CURRENCIES[index];
            Currency {
                code,
                minor_unit_exponent,
            }
        })
        .map_err(|_| MoneyError::UnknownCurrency {
            input: input.to_owned(),
        })
}

/// Formats minor units for people: `15000` USD → `"150.00 USD"`, `-105` EUR → `"-1.05 EUR"`,
/// `500` JPY → `"500 JPY"`, `1500` KWD → `"1.500 KWD"`. Integer arithmetic only.
pub fn format_minor(amount_minor: i64, currency: Currency) -> String {
    format!("{} {}", format_units(amount_minor, currency), currency.code)
}

/// [`format_minor`] for a stored currency code; a code that is not (or no longer) active shows
/// the bare minor units with it.
pub fn format_amount(amount_minor: i64, currency: &str) -> String {
    match parse_currency(currency) {
        Ok(c) => format_minor(amount_minor, c),
        Err(_) => format!("{amount_minor} {currency}"),
    }
}

/// [`format_units`] for a stored currency code, likewise.
pub fn format_amount_units(amount_minor: i64, currency: &str) -> String {
    match parse_currency(currency) {
        Ok(c) => format_units(amount_minor, c),
        Err(_) => amount_minor.to_string(),
    }
}

/// The number alone, as an amount field shows it for editing: `15000` USD → `"150.00"`,
/// `500` JPY → `"500"`. [`parse_amount`] reads it back to the same minor units.
pub fn format_units(amount_minor: i64, currency: Currency) -> String {
    let sign = if amount_minor < 0 { "-" } else { "" };
    // unsigned_abs handles i64::MIN without overflow.
    let magnitude = amount_minor.unsigned_abs();
    let decimals = usize::from(currency.minor_unit_exponent);
    if decimals == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10_u64.pow(u32::from(currency.minor_unit_exponent));
    let major = magnitude / scale;
    let minor = magnitude % scale;
    format!("{sign}{major}.{minor:0decimals$}")
}

/// Splits `[-]digits[.digits]` into sign, whole part and fraction; `None` for anything else
/// (exponents, thousands separators, a lone dot, spaces inside).
fn split_decimal(text: &str) -> Option<(bool, &str, &str)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    let dot_without_fraction = unsigned.ends_with('.');
    (!whole.is_empty() && all_digits(whole) && all_digits(fraction) && !dot_without_fraction)
        .then_some((negative, whole, fraction))
}

/// `whole.fraction` scaled by `10^decimals` exactly, with `fraction` no longer than `decimals`.
fn scaled(whole: &str, fraction: &str, decimals: u8) -> Option<i128> {
    let decimals = usize::from(decimals);
    let padded = format!("{whole}{fraction:0<decimals$}");
    // At most 38 digits always fit i128; longer inputs are out of range anyway.
    (padded.len() <= 38).then(|| padded.parse().ok()).flatten()
}

/// Reads an amount typed in currency units into minor units, exactly: `"150"` or `"150.00"` USD
/// → `15000`, `"1.5"` KWD → `1500`, `"-2.50"` EUR → `-250`. More decimals than the currency has
/// (`"50.001"` USD, `"5.0"` JPY) are refused rather than rounded; so are signs other than a
/// leading minus, separators and exponents. Surrounding spaces and a trailing currency code equal
/// to `currency` are allowed, so a shown amount can be pasted back.
pub fn parse_amount(text: &str, currency: Currency) -> Result<i64, MoneyError> {
    let trimmed = text.trim();
    let number = trimmed
        .strip_suffix(currency.code)
        .map_or(trimmed, str::trim_end);
    let not_an_amount = || MoneyError::NotAnAmount {
        currency: currency.code,
        example: format_units(
            150 * 10_i64.pow(u32::from(currency.minor_unit_exponent)),
            currency,
        ),
    };
    let (negative, whole, fraction) = split_decimal(number).ok_or_else(not_an_amount)?;
    if fraction.len() > usize::from(currency.minor_unit_exponent) {
        return Err(MoneyError::TooManyDecimals {
            currency: currency.code,
            decimals: currency.minor_unit_exponent,
            input: trimmed.to_owned(),
        });
    }
    let magnitude = scaled(whole, fraction, currency.minor_unit_exponent)
        .ok_or(MoneyError::AmountOutOfRange)?;
    let signed = if negative { -magnitude } else { magnitude };
    i64::try_from(signed).map_err(|_| MoneyError::AmountOutOfRange)
}

/// Reads a rate typed in percent into basis points, exactly: `"12.5"` → `1250`, `"10 %"` →
/// `1000`, `"0.05"` → `5`. From 0 to 100 with at most 2 decimals (whole basis points).
pub fn parse_percent(text: &str) -> Result<u32, MoneyError> {
    let trimmed = text.trim();
    let number = trimmed.strip_suffix('%').map_or(trimmed, str::trim_end);
    match split_decimal(number) {
        Some((false, whole, fraction)) if fraction.len() <= 2 => scaled(whole, fraction, 2)
            .and_then(|bps| u32::try_from(bps).ok())
            .filter(|bps| *bps <= MAX_RATE_BPS)
            .ok_or(MoneyError::NotAPercent),
        _ => Err(MoneyError::NotAPercent),
    }
}

/// Basis points for people: `1000` → `"10 %"`, `1250` → `"12.5 %"`, `5` → `"0.05 %"`.
pub fn format_percent(bps: impl Into<i64>) -> String {
    let text = format_percent_number(bps.into());
    format!("{text} %")
}

/// The number alone, as a rate field shows it for editing: `1250` → `"12.5"`.
pub fn format_percent_number(bps: i64) -> String {
    let sign = if bps < 0 { "-" } else { "" };
    let magnitude = bps.unsigned_abs();
    let (whole, fraction) = (magnitude / 100, magnitude % 100);
    if fraction == 0 {
        format!("{sign}{whole}")
    } else if fraction % 10 == 0 {
        format!("{sign}{whole}.{}", fraction / 10)
    } else {
        format!("{sign}{whole}.{fraction:02}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn commission_table() {
        let cases: &[(i64, u32, i64)] = &[
            // half to even
            (5, 1000, 0),    // 0.5 → 0
            (15, 1000, 2),   // 1.5 → 2
            (25, 1000, 2),   // 2.5 → 2
            (35, 1000, 4),   // 3.5 → 4
            (-5, 1000, 0),   // -0.5 → 0
            (-15, 1000, -2), // -1.5 → -2
            (-25, 1000, -2), // -2.5 → -2
            // not a tie: nearest
            (16, 1000, 2), // 1.6 → 2
            (14, 1000, 1), // 1.4 → 1
            (-16, 1000, -2),
            (-14, 1000, -1),
            // zero base, zero rate
            (0, 2500, 0),
            (0, 0, 0),
            (123_456, 0, 0),
            (-123_456, 0, 0),
            // one minor unit at various rates
            (1, 1, 0),
            (1, 4999, 0),
            (1, 5000, 0), // 0.5 → 0
            (1, 5001, 1),
            (1, 9999, 1),
            (1, 10_000, 1),
            (-1, 5000, 0),
            (-1, 5001, -1),
            (3, 5000, 2), // 1.5 → 2
            // identity at 100 %
            (987_654_321, 10_000, 987_654_321),
            (-42, 10_000, -42),
            // ordinary
            (15_000, 1500, 2250),
            (9_999, 1250, 1250), // 1249.875 → 1250
            // extremes
            (i64::MAX, 10_000, i64::MAX),
            (i64::MIN, 10_000, i64::MIN),
            (i64::MAX, 0, 0),
            (i64::MIN, 0, 0),
            (i64::MAX, 5000, 4_611_686_018_427_387_904), // 4611686018427387903.5 → even ...904
            (i64::MIN, 5000, -4_611_686_018_427_387_904), // exact
            (i64::MAX, 9_999, 9_222_449_699_651_090_329), // …329.4193 → …329
            (i64::MIN, 9_999, -9_222_449_699_651_090_330), // -…330.4192 → -…330
        ];
        for &(base, rate, expected) in cases {
            assert_eq!(
                commission_amount(base, rate),
                Ok(expected),
                "base {base} at {rate} bps"
            );
        }
    }

    #[test]
    fn rate_over_100_percent_is_rejected() {
        assert_eq!(
            commission_amount(100, 10_001),
            Err(MoneyError::RateTooHigh { rate_bps: 10_001 })
        );
        assert!(commission_amount(100, u32::MAX).is_err());
    }

    /// Half-even via floor division (`div_euclid`), a different route than the magnitude-based one.
    fn reference_half_even(base: i64, rate: u32) -> i128 {
        let n = i128::from(base) * i128::from(rate);
        let floor = n.div_euclid(10_000);
        let remainder = n.rem_euclid(10_000);
        match remainder.cmp(&5_000) {
            std::cmp::Ordering::Less => floor,
            std::cmp::Ordering::Greater => floor + 1,
            std::cmp::Ordering::Equal => floor + floor.rem_euclid(2),
        }
    }

    proptest! {
        #[test]
        fn commission_matches_exact_rational(base in any::<i64>(), rate in 0u32..=10_000) {
            let result = commission_amount(base, rate).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(i128::from(result), reference_half_even(base, rate));
            // Within half a minor unit of the exact value: |base·rate − 10000·result| ≤ 5000.
            let error = i128::from(base) * i128::from(rate) - 10_000 * i128::from(result);
            prop_assert!(error.abs() <= 5_000);
            prop_assert!(result.unsigned_abs() <= base.unsigned_abs());
        }

        #[test]
        fn refund_cancels_sale(base in (i64::MIN + 1)..=i64::MAX, rate in 0u32..=10_000) {
            let sale = commission_amount(base, rate).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let refund = commission_amount(-base, rate).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(sale + refund, 0);
        }
    }

    #[test]
    fn currency_list_is_sorted_unique_and_well_formed() {
        for pair in ACTIVE_CURRENCIES.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{} before {}", pair[0].0, pair[1].0);
        }
        for &(code, exponent) in ACTIVE_CURRENCIES {
            assert!(code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()));
            assert!(matches!(exponent, 0 | 2 | 3 | 4), "{code}");
        }
    }

    #[test]
    fn parses_active_codes_with_exponents() {
        for (code, exponent) in [("USD", 2), ("EUR", 2), ("JPY", 0), ("BHD", 3), ("KWD", 3)] {
            let currency = parse_currency(code);
            assert_eq!(
                currency.map(|c| (c.code(), c.minor_unit_exponent())),
                Ok((code, exponent))
            );
        }
    }

    #[test]
    fn rejects_unknown_or_non_canonical_codes() {
        for input in [
            "usd", "Usd", "US", "USDD", "", " USD", "XAU", "XXX", "ANG", "HRK", "ABC", "€",
        ] {
            assert_eq!(
                parse_currency(input),
                Err(MoneyError::UnknownCurrency {
                    input: input.to_owned()
                }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn formats_minor_units() {
        let usd = parse_currency("USD");
        let eur = parse_currency("EUR");
        let jpy = parse_currency("JPY");
        let kwd = parse_currency("KWD");
        let bhd = parse_currency("BHD");
        let (Ok(usd), Ok(eur), Ok(jpy), Ok(kwd), Ok(bhd)) = (usd, eur, jpy, kwd, bhd) else {
            panic!("test currencies must parse");
        };
        assert_eq!(format_minor(15_000, usd), "150.00 USD");
        assert_eq!(format_minor(-105, eur), "-1.05 EUR");
        assert_eq!(format_minor(-5, eur), "-0.05 EUR");
        assert_eq!(format_minor(0, usd), "0.00 USD");
        assert_eq!(format_minor(500, jpy), "500 JPY");
        assert_eq!(format_minor(-7, jpy), "-7 JPY");
        assert_eq!(format_minor(1_500, kwd), "1.500 KWD");
        assert_eq!(format_minor(1, bhd), "0.001 BHD");
        assert_eq!(format_minor(i64::MIN, usd), "-92233720368547758.08 USD");
        assert_eq!(format_minor(i64::MAX, jpy), "9223372036854775807 JPY");
    }

    fn currency(code: &str) -> Currency {
        parse_currency(code).unwrap_or_else(|e| panic!("{code}: {e}"))
    }

    #[test]
    fn parses_amounts_in_currency_units_exactly() {
        let (usd, jpy, kwd) = (currency("USD"), currency("JPY"), currency("KWD"));
        let cases: &[(&str, Currency, i64)] = &[
            ("150.00", usd, 15_000),
            ("150", usd, 15_000),
            ("150.5", usd, 15_050),
            ("0.01", usd, 1),
            (" 50.00 USD ", usd, 5_000),
            ("-2.50", usd, -250),
            ("0", usd, 0),
            ("500", jpy, 500),
            ("1.5", kwd, 1_500),
            ("0.001", kwd, 1),
            ("92233720368547758.07", usd, i64::MAX),
            ("-92233720368547758.08", usd, i64::MIN),
        ];
        for &(text, currency, expected) in cases {
            assert_eq!(
                parse_amount(text, currency),
                Ok(expected),
                "{text:?} {currency}"
            );
        }
    }

    #[test]
    fn refuses_amounts_it_cannot_read_exactly() {
        let (usd, jpy) = (currency("USD"), currency("JPY"));
        assert_eq!(
            parse_amount("50.001", usd),
            Err(MoneyError::TooManyDecimals {
                currency: "USD",
                decimals: 2,
                input: "50.001".to_owned()
            })
        );
        assert!(matches!(
            parse_amount("5.0", jpy),
            Err(MoneyError::TooManyDecimals { decimals: 0, .. })
        ));
        for text in [
            "", "abc", "1,50", "1 500", "1e3", ".5", "5.", "+5", "--5", "5 EUR", "NaN",
        ] {
            assert!(
                matches!(parse_amount(text, usd), Err(MoneyError::NotAnAmount { .. })),
                "{text:?}"
            );
        }
        assert_eq!(
            parse_amount("92233720368547758.08", usd),
            Err(MoneyError::AmountOutOfRange)
        );
        assert_eq!(
            parse_amount(&"9".repeat(60), usd),
            Err(MoneyError::AmountOutOfRange)
        );
        assert_eq!(
            parse_amount("x", usd).map_err(|e| e.to_string()),
            Err("enter an amount in USD such as 150.00".to_owned())
        );
        assert_eq!(
            parse_amount("x", jpy).map_err(|e| e.to_string()),
            Err("enter an amount in JPY such as 150".to_owned())
        );
    }

    #[test]
    fn percent_round_trips_through_basis_points() {
        let cases: &[(&str, u32)] = &[
            ("12.5", 1250),
            ("12.50 %", 1250),
            ("10%", 1000),
            ("0.05", 5),
            ("0", 0),
            ("100", 10_000),
            ("66.67", 6667),
        ];
        for &(text, bps) in cases {
            assert_eq!(parse_percent(text), Ok(bps), "{text:?}");
        }
        for text in [
            "", "12.555", "100.01", "101", "-1", "1,5", "ten", "1e1", "%",
        ] {
            assert_eq!(
                parse_percent(text),
                Err(MoneyError::NotAPercent),
                "{text:?}"
            );
        }
        assert_eq!(format_percent(1000_u32), "10 %");
        assert_eq!(format_percent(1250_u32), "12.5 %");
        assert_eq!(format_percent(5_u32), "0.05 %");
        assert_eq!(format_percent(0_u32), "0 %");
        assert_eq!(format_percent(10_000_u32), "100 %");
        assert_eq!(format_percent(6667_u32), "66.67 %");
        assert_eq!(format_percent(-50_i64), "-0.5 %");
    }

    proptest! {
        #[test]
        fn shown_amounts_read_back(amount in any::<i64>(), code in prop::sample::select(vec!["USD", "JPY", "KWD", "CLF"])) {
            let currency = currency(code);
            prop_assert_eq!(parse_amount(&format_units(amount, currency), currency), Ok(amount));
            prop_assert_eq!(parse_amount(&format_minor(amount, currency), currency), Ok(amount));
        }

        #[test]
        fn shown_rates_read_back(bps in 0u32..=MAX_RATE_BPS) {
            prop_assert_eq!(parse_percent(&format_percent(bps)), Ok(bps));
        }
    }

    #[test]
    fn currency_serde_round_trip_and_rejection() {
        let parsed: Result<Currency, _> = serde_json::from_str("\"KWD\"");
        let Ok(kwd) = parsed else {
            panic!("KWD must deserialize");
        };
        assert_eq!(kwd.minor_unit_exponent(), 3);
        assert_eq!(serde_json::to_string(&kwd).ok().as_deref(), Some("\"KWD\""));
        assert!(serde_json::from_str::<Currency>("\"kwd\"").is_err());
    }
}
