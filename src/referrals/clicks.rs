//! Click classification and privacy-preserving hashing for `/r/<code>` redirects.

use sha2::{Digest, Sha256};

/// Lower-case substrings that mark a user agent as automated. Kept short on purpose: it catches
/// search crawlers (`googlebot`, `bingbot`, `yahoo! slurp`), link-preview fetchers of chat and
/// social apps (`slackbot`, `twitterbot`, `discordbot`, `facebookexternalhit`, `…preview…`),
/// HTTP libraries and command-line tools, and headless browsers. Bot clicks are still recorded
/// (with `is_bot`) but excluded from the funnel.
///
/// Known trade-off: `bot` also matches the rare real device name containing it (e.g. "Cubot").
pub const BOT_MARKERS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "preview",
    "curl",
    "wget",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "okhttp",
    "java/",
    "libwww-perl",
    "headless",
];

/// `true` for a missing or blank user agent, or one containing any of [`BOT_MARKERS`]
/// (case-insensitive).
pub fn is_bot(user_agent: Option<&str>) -> bool {
    let Some(user_agent) = user_agent.map(str::trim).filter(|ua| !ua.is_empty()) else {
        return true;
    };
    let lowered = user_agent.to_ascii_lowercase();
    BOT_MARKERS.iter().any(|marker| lowered.contains(marker))
}

/// Hex SHA-256 of `salt ‖ value`. Used for IP addresses and user agents so clicks can be
/// de-duplicated and rate-limited without storing the raw values; the salt is a server secret,
/// which keeps the small IPv4 space from being reversed by brute force.
pub fn hash_with_salt(salt: &[u8], value: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(value.as_bytes());
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BROWSERS: &[&str] = &[
        // Chrome on Windows
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
        // Chrome on Android
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
        // Firefox on Linux
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        // Safari on macOS
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
        // Safari on iPhone
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
        // Edge
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
    ];

    const BOTS: &[&str] = &[
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Googlebot/2.1; +http://www.google.com/bot.html) Chrome/124.0.6367.155 Safari/537.36",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Slackbot 1.0 (+https://api.slack.com/robots)",
        "Twitterbot/1.0",
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
        "WhatsApp/2.23.20.0 A link preview",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
        "curl/8.5.0",
        "Wget/1.21.4",
        "python-requests/2.31.0",
        "Python-urllib/3.12",
        "Go-http-client/1.1",
        "okhttp/4.12.0",
        "Java/17.0.2",
        "libwww-perl/6.72",
    ];

    #[test]
    fn real_browsers_are_people() {
        for ua in BROWSERS {
            assert!(!is_bot(Some(ua)), "{ua}");
        }
    }

    #[test]
    fn crawlers_previews_and_libraries_are_bots() {
        for ua in BOTS {
            assert!(is_bot(Some(ua)), "{ua}");
        }
    }

    #[test]
    fn missing_or_blank_user_agent_is_a_bot() {
        assert!(is_bot(None));
        assert!(is_bot(Some("")));
        assert!(is_bot(Some("   \t")));
    }

    #[test]
    fn hash_is_hex_sha256_of_salt_then_value() {
        // SHA-256("abc"), split as salt "a" + value "bc".
        assert_eq!(
            hash_with_salt(b"a", "bc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(hash_with_salt(b"", "abc"), hash_with_salt(b"a", "bc"));
        assert_ne!(
            hash_with_salt(b"salt-1", "203.0.113.7"),
            hash_with_salt(b"salt-2", "203.0.113.7")
        );
        assert_eq!(hash_with_salt(b"s", "x").len(), 64);
    }
}
