//! Referral codes such as `ANNA-7K3QX`: a readable prefix from the advocate's name plus a
//! random suffix that survives being read aloud or copied by hand.
//!
//! Uniqueness is enforced by the `enrollments.referral_code` UNIQUE key; on a conflict the
//! caller generates again (31⁵ ≈ 28.6 million suffixes per prefix).

use rand::Rng;

/// Suffix characters: digits and upper-case letters without the look-alikes 0/O, 1/I/L.
pub const CODE_SUFFIX_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";
/// Random characters after the dash.
pub const CODE_SUFFIX_LEN: usize = 5;
/// Most name letters kept in the prefix.
pub const CODE_PREFIX_MAX_LEN: usize = 6;
/// Prefix used when the name has no letter that folds to ASCII (e.g. "李雷" or "42").
pub const FALLBACK_PREFIX: &str = "CREDO";

/// A new code for a person: up to six ASCII-folded letters of `display_name`, upper-case, then
/// `-` and five random characters from [`CODE_SUFFIX_ALPHABET`].
pub fn generate_code<R: Rng + ?Sized>(display_name: &str, rng: &mut R) -> String {
    let mut code = code_prefix(display_name);
    code.push('-');
    for _ in 0..CODE_SUFFIX_LEN {
        let index = rng.gen_range(0..CODE_SUFFIX_ALPHABET.len());
        code.push(char::from(CODE_SUFFIX_ALPHABET[index]));
    }
    code
}

/// Canonical form of a code typed or pasted by someone (trimmed, upper-case), or `None` when
/// it cannot be a code we issued, so lookups never hit the database with junk.
pub fn normalize_code(input: &str) -> Option<String> {
    let candidate = input.trim().to_ascii_uppercase();
    let (prefix, suffix) = candidate.split_once('-')?;
    let prefix_ok = (1..=CODE_PREFIX_MAX_LEN).contains(&prefix.len())
        && prefix.bytes().all(|b| b.is_ascii_uppercase());
    let suffix_ok = suffix.len() == CODE_SUFFIX_LEN
        && suffix.bytes().all(|b| CODE_SUFFIX_ALPHABET.contains(&b));
    (prefix_ok && suffix_ok).then_some(candidate)
}

fn code_prefix(display_name: &str) -> String {
    let mut prefix = String::with_capacity(CODE_PREFIX_MAX_LEN);
    for c in display_name.chars() {
        for letter in fold_to_ascii_upper(c).chars() {
            if prefix.len() == CODE_PREFIX_MAX_LEN {
                return prefix;
            }
            prefix.push(letter);
        }
    }
    if prefix.is_empty() {
        FALLBACK_PREFIX.to_owned()
    } else {
        prefix
    }
}

/// Upper-case ASCII letters for a Latin letter (Latin-1 and Latin Extended-A folded to their
/// base letters, ligatures expanded); empty for anything else (digits, spaces, other scripts).
fn fold_to_ascii_upper(c: char) -> &'static str {
    const LETTERS: [&str; 26] = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R",
        "S", "T", "U", "V", "W", "X", "Y", "Z",
    ];
    if c.is_ascii_alphabetic() {
        let index = usize::from(c.to_ascii_uppercase() as u8 - b'A');
        return LETTERS[index];
    }
    match c {
        'À'..='Å' | 'à'..='å' | 'Ā'..='ą' => "A",
        'Æ' | 'æ' => "AE",
        'Ç' | 'ç' | 'Ć'..='č' => "C",
        'Ð' | 'ð' | 'Ď'..='đ' => "D",
        'È'..='Ë' | 'è'..='ë' | 'Ē'..='ě' => "E",
        'Ĝ'..='ģ' => "G",
        'Ĥ'..='ħ' => "H",
        'Ì'..='Ï' | 'ì'..='ï' | 'Ĩ'..='ı' => "I",
        'Ĳ' | 'ĳ' => "IJ",
        'Ĵ' | 'ĵ' => "J",
        'Ķ' | 'ķ' | 'ĸ' => "K",
        'Ĺ'..='ł' => "L",
        'Ñ' | 'ñ' | 'Ń'..='ŋ' => "N",
        'Ò'..='Ö' | 'Ø' | 'ò'..='ö' | 'ø' | 'Ō'..='ő' => "O",
        'Œ' | 'œ' => "OE",
        'Ŕ'..='ř' => "R",
        'Ś'..='š' | 'Ș' | 'ș' => "S",
        'ß' => "SS",
        'Ţ'..='ŧ' | 'Ț' | 'ț' => "T",
        'Þ' | 'þ' => "TH",
        'Ù'..='Ü' | 'ù'..='ü' | 'Ũ'..='ų' => "U",
        'Ŵ' | 'ŵ' => "W",
        'Ý' | 'ý' | 'ÿ' | 'Ŷ'..='Ÿ' => "Y",
        'Ź'..='ž' => "Z",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn prefix_from_display_name() {
        let cases = [
            ("Anna", "ANNA"),
            ("anna smith", "ANNASM"),
            ("  Zoë Ølund ", "ZOEOLU"),
            ("José", "JOSE"),
            ("Łukasz Żółć", "LUKASZ"),
            ("Straße", "STRASS"),
            ("Æsa", "AESA"),
            ("Þór", "THOR"),
            ("O'Brien-2", "OBRIEN"),
            ("Ştefan", "STEFAN"),
            ("李雷", "CREDO"),
            ("42", "CREDO"),
            ("", "CREDO"),
            ("Ann ÆÆÆÆ", "ANNAEA"),
        ];
        for (name, expected) in cases {
            assert_eq!(code_prefix(name), expected, "{name:?}");
        }
    }

    #[test]
    fn generated_codes_have_the_documented_shape() {
        let mut rng = StdRng::seed_from_u64(7);
        for name in ["Anna", "李雷", "Jean-Luc Picard", "Ö"] {
            let code = generate_code(name, &mut rng);
            assert_eq!(
                normalize_code(&code).as_deref(),
                Some(code.as_str()),
                "{code}"
            );
            let Some((_, suffix)) = code.split_once('-') else {
                panic!("no dash in {code}");
            };
            assert_eq!(suffix.len(), CODE_SUFFIX_LEN);
            assert!(!suffix.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        assert!(generate_code("Anna", &mut rng).starts_with("ANNA-"));
    }

    #[test]
    fn generated_suffixes_vary() {
        let mut rng = StdRng::seed_from_u64(42);
        let codes: std::collections::HashSet<String> =
            (0..200).map(|_| generate_code("Anna", &mut rng)).collect();
        assert!(codes.len() > 195, "only {} distinct codes", codes.len());
    }

    #[test]
    fn normalize_accepts_sloppy_input() {
        assert_eq!(
            normalize_code("  anna-7k3qx\n").as_deref(),
            Some("ANNA-7K3QX")
        );
        assert_eq!(
            normalize_code("CREDO-ABCDE").as_deref(),
            Some("CREDO-ABCDE")
        );
        assert_eq!(normalize_code("a-22222").as_deref(), Some("A-22222"));
    }

    #[test]
    fn normalize_rejects_what_we_never_issue() {
        for input in [
            "",
            "ANNA",
            "ANNA-",
            "-7K3QX",
            "ANNA7K3QX",
            "ANNA-7K3Q",
            "ANNA-7K3QXX",
            "ANNA-7K3Q0", // 0 is not in the alphabet
            "ANNA-7K3QO",
            "ANNA-7K3QI",
            "ANNA-7K3QL",
            "ANNA-7K3Q1",
            "ANNABEL-7K3QX", // prefix too long
            "AN NA-7K3QX",
            "ANNA--7K3QX",
            "ANNA-7K-3QX",
            "ÄNNA-7K3QX",
            "ANNA-7K3QX; DROP TABLE",
        ] {
            assert_eq!(normalize_code(input), None, "{input:?}");
        }
    }
}
