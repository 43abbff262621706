//! Public profile handles and the opt-in setting.

use crate::accounts::store;
use crate::accounts::AccountError;
use crate::db::DbConn;

/// A public profile handle: the display name in lower-case ASCII letters and digits joined by
/// `-` (at most 30 characters), then 6 random characters, so a handle is readable but not
/// guessable from the name alone: `ada-lovelace-k3x9qp`.
pub fn new_profile_handle(display_name: &str, rng: &mut impl rand::Rng) -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let words: Vec<String> = display_name
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut base = words.join("-");
    base.truncate(30);
    let base = base.trim_end_matches('-');
    let suffix: String = (0..6)
        .map(|_| char::from(ALPHABET[rng.gen_range(0..ALPHABET.len())]))
        .collect();
    if base.is_empty() {
        suffix
    } else {
        format!("{base}-{suffix}")
    }
}

/// Turns the person's public profile on (a new handle each time it is turned on, so an old link
/// never comes back to life) or off. Answers the handle when on.
pub fn set_public_profile(
    conn: &mut DbConn,
    user_id: &str,
    display_name: &str,
    public: bool,
) -> Result<Option<String>, AccountError> {
    let handle = if public {
        match store::profile_handle(conn, user_id)? {
            Some(handle) => return Ok(Some(handle)),
            None => Some(new_profile_handle(display_name, &mut rand::thread_rng())),
        }
    } else {
        None
    };
    store::set_profile_handle(conn, user_id, handle.as_deref())?;
    Ok(handle)
}

#[cfg(test)]
mod profile_tests {
    use super::new_profile_handle;
    use rand::SeedableRng;

    #[test]
    fn handles_read_like_the_name_and_end_in_random_letters() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let handle = new_profile_handle("Ada  Lovelace (PhD)", &mut rng);
        assert!(handle.starts_with("ada-lovelace-phd-"), "{handle}");
        assert_eq!(handle.len(), "ada-lovelace-phd-".len() + 6);
        let other = new_profile_handle("Ada Lovelace (PhD)", &mut rng);
        assert_ne!(handle, other);
        let bare = new_profile_handle("李小龙", &mut rng);
        assert_eq!(bare.len(), 6);
        assert!(bare.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
