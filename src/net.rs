//! Who is on the other end of a connection: the client address used by every rate limit and by
//! click hashing. The socket peer is the client unless the peer is a configured trusted proxy
//! (`CREDO_TRUSTED_PROXIES`); only then are `Forwarded` / `X-Forwarded-For` read, right to left,
//! skipping further trusted proxies, so a client can never choose its own address.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use ipnet::IpNet;

/// Parses a list of CIDRs (`10.0.0.0/8, 2001:db8::/32`); a bare address is a single host.
pub fn parse_cidrs(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .or_else(|_| part.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{part}` is not an address or CIDR like 10.0.0.0/8"))
        })
        .collect()
}

pub fn is_listed(ip: IpAddr, nets: &[IpNet]) -> bool {
    let ip = canonical(ip);
    nets.iter().any(|net| net.contains(&ip))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// One hop of a `Forwarded` header (`for=1.2.3.4`, `for="[2001:db8::1]:443"`) or of
/// `X-Forwarded-For` (`1.2.3.4`, `[2001:db8::1]:443`, `1.2.3.4:80`). Obfuscated ids are `None`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let (host, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    host.parse().ok()
}

fn forwarded_hops(forwarded: &[&str]) -> Vec<Option<IpAddr>> {
    forwarded
        .iter()
        .flat_map(|value| value.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                .and_then(|(_, value)| parse_hop(value))
        })
        .collect()
}

/// The client's address. `forwarded` and `x_forwarded_for` are the header values in the order
/// received; they are read only when the peer is trusted (`Forwarded` first when present). A hop
/// that cannot be read ends the walk at the last trusted address.
pub fn client_ip(
    peer: Option<IpAddr>,
    forwarded: &[&str],
    x_forwarded_for: &[&str],
    trusted: &[IpNet],
) -> Option<IpAddr> {
    let peer = canonical(peer?);
    if !is_listed(peer, trusted) {
        return Some(peer);
    }
    let hops = if forwarded.is_empty() {
        x_forwarded_for
            .iter()
            .flat_map(|value| value.split(','))
            .map(parse_hop)
            .collect()
    } else {
        forwarded_hops(forwarded)
    };
    let mut client = peer;
    for hop in hops.into_iter().rev() {
        match hop.map(canonical) {
            Some(ip) if is_listed(ip, trusted) => client = ip,
            Some(ip) => return Some(ip),
            None => return Some(client),
        }
    }
    Some(client)
}

/// The key rate limits count under: the IPv4 address, or the /64 network of an IPv6 address (one
/// subscriber usually holds a whole /64, so single addresses would be free to rotate).
pub fn limit_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", Ipv6Addr::from(prefix))
        }
    }
}

/// Resolves host names to their public addresses only (remote DID documents, outbound webhooks),
/// so a name cannot point a fetch at this network.
pub struct PublicOnly;

impl reqwest::dns::Resolve for PublicOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|addr| is_public(addr.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} has no public address").into());
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local, shared,
/// documentation, multicast or unspecified).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "93.184.216.34", "2606:4700::1111"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn forwarded_headers_count_only_behind_a_trusted_proxy() {
        let proxies = parse_cidrs("10.0.0.0/8, 192.168.1.1").unwrap();
        let peer = Some(ip("203.0.113.9"));
        assert_eq!(
            client_ip(peer, &[], &["1.1.1.1"], &proxies),
            Some(ip("203.0.113.9"))
        );
        let proxy = Some(ip("10.1.2.3"));
        // Right to left: the client may prepend anything; the last untrusted hop is the client.
        assert_eq!(
            client_ip(proxy, &[], &["6.6.6.6, 198.51.100.7", "10.9.9.9"], &proxies),
            Some(ip("198.51.100.7"))
        );
        assert_eq!(
            client_ip(
                proxy,
                &["for=6.6.6.6, for=\"[2001:db8::1]:4711\";proto=https"],
                &["7.7.7.7"],
                &proxies
            ),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(client_ip(proxy, &[], &[], &proxies), proxy);
        assert_eq!(
            client_ip(proxy, &[], &["garbage, 10.0.0.5"], &proxies),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_ip(Some(ip("::ffff:10.1.1.1")), &[], &["1.2.3.4:80"], &proxies),
            Some(ip("1.2.3.4"))
        );
    }

    #[test]
    fn ipv6_is_keyed_by_its_64() {
        assert_eq!(
            limit_key(ip("2001:db8:1:2:aaaa::1")),
            limit_key(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            limit_key(ip("2001:db8:1:2::1")),
            limit_key(ip("2001:db8:1:3::1"))
        );
        assert_eq!(limit_key(ip("::ffff:1.2.3.4")), "1.2.3.4");
        assert_eq!(limit_key(ip("2001:db8:1:2::9")), "2001:db8:1:2::/64");
    }

    #[test]
    fn cidr_lists() {
        assert_eq!(parse_cidrs("").unwrap(), vec![]);
        assert_eq!(parse_cidrs("10.0.0.0/8 ::1").unwrap().len(), 2);
        assert!(parse_cidrs("10.0.0.0/33").is_err());
        assert!(parse_cidrs("proxy.local").is_err());
    }
}
