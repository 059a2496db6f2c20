//! Which addresses `http_request` may connect to: only http and https, and, unless
//! `settings.http_allow_private` is on, only public unicast addresses. The tables follow IANA's
//! special-purpose registries; addresses that wrap an IPv4 address are judged by what they wrap.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// What the model reads after an address refusal.
pub const HINT: &str =
    "set `settings.http_allow_private: true` to let agents reach local and private services";

/// Why a URL or an address may not be reached.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("only http and https URLs are allowed, not `{0}:`")]
    Scheme(String),
    #[error("{ip} is {why} ({HINT})")]
    Address { ip: IpAddr, why: String },
}

/// The address policy of one agent's `http_request`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    allow_private: bool,
    /// Socket addresses allowed whatever they are: lets tests reach exactly one server on
    /// 127.0.0.1 and still see every other local address refused. Empty outside tests.
    exceptions: Vec<SocketAddr>,
}

impl Guard {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            exceptions: Vec::new(),
        }
    }

    /// A guard that refuses every special address except `exceptions`.
    #[cfg(test)]
    pub fn allowing_only(exceptions: Vec<SocketAddr>) -> Self {
        Self {
            allow_private: false,
            exceptions,
        }
    }

    /// Checks what can be checked before connecting: the scheme, and the address when the host
    /// is an IP literal (the connector does not resolve those, so no resolver sees them).
    /// `url` has already normalised every IPv4 spelling (`2130706433`, `0x7f.1`, `127.1`).
    pub fn check_url(&self, url: &Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.scheme().to_owned()));
        }
        let ip = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) | None => return Ok(()),
        };
        let port = url.port_or_known_default().unwrap_or(0);
        if self.exceptions.contains(&SocketAddr::new(ip, port)) {
            return Ok(());
        }
        self.check_ip(ip)
    }

    /// Checks one address a name resolved to.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Refusal> {
        if self.allow_private {
            return Ok(());
        }
        match special_use(ip) {
            None => Ok(()),
            Some(why) => Err(Refusal::Address { ip, why }),
        }
    }
}

/// What makes `ip` an address no agent should reach by default, `None` for a public address.
pub fn special_use(ip: IpAddr) -> Option<String> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4).map(str::to_owned),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

/// IPv4 ranges as (network, prefix length, what they are); the first match names the reason.
const V4_RANGES: [(Ipv4Addr, u8, &str); 18] = [
    (Ipv4Addr::UNSPECIFIED, 32, "the unspecified address"),
    (
        Ipv4Addr::new(0, 0, 0, 0),
        8,
        "in 0.0.0.0/8 (\"this network\")",
    ),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "a private address"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "a shared address (carrier-grade NAT, some clouds' metadata)",
    ),
    (Ipv4Addr::new(127, 0, 0, 0), 8, "a loopback address"),
    (
        Ipv4Addr::new(169, 254, 169, 254),
        32,
        "the cloud metadata address",
    ),
    (Ipv4Addr::new(169, 254, 0, 0), 16, "a link-local address"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "a private address"),
    (
        Ipv4Addr::new(192, 0, 0, 0),
        24,
        "an IETF protocol assignment",
    ),
    (Ipv4Addr::new(192, 0, 2, 0), 24, "a documentation address"),
    (Ipv4Addr::new(192, 88, 99, 0), 24, "a 6to4 relay address"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "a private address"),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "a benchmarking address"),
    (
        Ipv4Addr::new(198, 51, 100, 0),
        24,
        "a documentation address",
    ),
    (Ipv4Addr::new(203, 0, 113, 0), 24, "a documentation address"),
    (Ipv4Addr::new(224, 0, 0, 0), 4, "a multicast address"),
    (Ipv4Addr::BROADCAST, 32, "the broadcast address"),
    (Ipv4Addr::new(240, 0, 0, 0), 4, "a reserved address"),
];

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4_RANGES
        .iter()
        .find(|(network, len, _)| in_v4(ip, *network, *len))
        .map(|(_, _, why)| *why)
}

fn in_v4(ip: Ipv4Addr, network: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(network) & mask
}

fn in_v6(ip: Ipv6Addr, network: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(network) & mask
}

const fn v6(segments: [u16; 8]) -> Ipv6Addr {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h)
}

/// IPv6 ranges refused whatever they hold, most specific first.
const V6_RANGES: [(Ipv6Addr, u8, &str); 12] = [
    (Ipv6Addr::UNSPECIFIED, 128, "the unspecified address"),
    (Ipv6Addr::LOCALHOST, 128, "the loopback address"),
    (
        v6([0, 0, 0, 0, 0, 0xffff, 0, 0]),
        96,
        "an IPv4-mapped address",
    ),
    (v6([0; 8]), 96, "an IPv4-compatible address"),
    (
        v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]),
        48,
        "a local NAT64 address",
    ),
    (
        v6([0x100, 0, 0, 0, 0, 0, 0, 0]),
        64,
        "a discard-only address",
    ),
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        "a documentation address",
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        "an IETF protocol assignment (Teredo, benchmarking, ...)",
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        "a documentation address",
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        "a private (unique local) address",
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        "a link-local address",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "a multicast address"),
];

/// NAT64 (64:ff9b::/96): the IPv4 address is in the last 32 bits.
const NAT64: Ipv6Addr = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]);
/// 6to4 (2002::/16): the IPv4 address is in bits 16 to 48.
const SIX_TO_FOUR: Ipv6Addr = v6([0x2002, 0, 0, 0, 0, 0, 0, 0]);
/// Global unicast: every public IPv6 address is in 2000::/3.
const GLOBAL_UNICAST: Ipv6Addr = v6([0x2000, 0, 0, 0, 0, 0, 0, 0]);

fn special_v6(ip: Ipv6Addr) -> Option<String> {
    if let Some((_, _, why)) = V6_RANGES
        .iter()
        .find(|(network, len, _)| in_v6(ip, *network, *len))
    {
        let why = match ip.to_ipv4_mapped() {
            Some(v4) => format!("{why} of {v4}"),
            None => (*why).to_owned(),
        };
        return Some(why);
    }
    let bits = u128::from(ip);
    let wrapped = if in_v6(ip, NAT64, 96) {
        Some(("a NAT64 address", Ipv4Addr::from(bits as u32)))
    } else if in_v6(ip, SIX_TO_FOUR, 16) {
        Some(("a 6to4 address", Ipv4Addr::from((bits >> 80) as u32)))
    } else {
        None
    };
    if let Some((kind, v4)) = wrapped {
        return special_v4(v4).map(|why| format!("{kind} wrapping {v4}, {why}"));
    }
    if !in_v6(ip, GLOBAL_UNICAST, 3) {
        return Some("a reserved address (not global unicast)".to_owned());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    /// The refusal of the default policy for `text`, as the model reads it (without the hint).
    fn refusal(text: &str) -> Option<String> {
        Guard::new(false)
            .check_url(&url(text))
            .err()
            .map(|refusal| refusal.to_string().replace(&format!(" ({HINT})"), ""))
    }

    #[test]
    fn every_spelling_of_loopback_is_refused() {
        for spelling in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0x7f.0x0.0x0.0x1/",
            "http://0177.0.0.1/",
            "http://017700000001/",
            "http://127.1/",
            "http://127.0.1/",
            "http://127.0.0.1./",
            "http://%31%32%37.0.0.1/",
            "http://１２７.０.０.１/",
            "https://127.0.0.1:8443/x?y#z",
            "http://user:pass@127.0.0.1/",
        ] {
            assert_eq!(
                refusal(spelling).as_deref(),
                Some("127.0.0.1 is a loopback address"),
                "{spelling}"
            );
        }
        assert_eq!(
            refusal("http://127.255.255.254/").as_deref(),
            Some("127.255.255.254 is a loopback address")
        );
        assert_eq!(
            refusal("http://[::1]/").as_deref(),
            Some("::1 is the loopback address")
        );
    }

    #[test]
    fn ipv6_spellings_of_loopback_are_refused() {
        for (spelling, expected) in [
            (
                "http://[::ffff:127.0.0.1]/",
                "::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1",
            ),
            (
                "http://[::ffff:7f00:1]/",
                "::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1",
            ),
            (
                "http://[0:0:0:0:0:ffff:127.0.0.1]/",
                "::ffff:127.0.0.1 is an IPv4-mapped address of 127.0.0.1",
            ),
            (
                "http://[::127.0.0.1]/",
                "::7f00:1 is an IPv4-compatible address",
            ),
            (
                "http://[64:ff9b::127.0.0.1]/",
                "64:ff9b::7f00:1 is a NAT64 address wrapping 127.0.0.1, a loopback address",
            ),
            (
                "http://[2002:7f00:1::]/",
                "2002:7f00:1:: is a 6to4 address wrapping 127.0.0.1, a loopback address",
            ),
            (
                "http://[0000:0000:0000:0000:0000:0000:0000:0001]/",
                "::1 is the loopback address",
            ),
        ] {
            assert_eq!(refusal(spelling).as_deref(), Some(expected), "{spelling}");
        }
    }

    #[test]
    fn private_link_local_and_metadata_addresses_are_refused() {
        for (spelling, expected) in [
            ("http://10.0.0.1/", "10.0.0.1 is a private address"),
            ("http://172.16.0.1/", "172.16.0.1 is a private address"),
            (
                "http://172.31.255.255/",
                "172.31.255.255 is a private address",
            ),
            ("http://192.168.1.1/", "192.168.1.1 is a private address"),
            (
                "http://169.254.169.254/latest/meta-data/",
                "169.254.169.254 is the cloud metadata address",
            ),
            (
                "http://2852039166/",
                "169.254.169.254 is the cloud metadata address",
            ),
            ("http://169.254.1.1/", "169.254.1.1 is a link-local address"),
            (
                "http://100.100.100.200/",
                "100.100.100.200 is a shared address (carrier-grade NAT, some clouds' metadata)",
            ),
            (
                "http://[fd00:ec2::254]/",
                "fd00:ec2::254 is a private (unique local) address",
            ),
            (
                "http://[fc00::1]/",
                "fc00::1 is a private (unique local) address",
            ),
            ("http://[fe80::1]/", "fe80::1 is a link-local address"),
            (
                "http://[::ffff:169.254.169.254]/",
                "::ffff:169.254.169.254 is an IPv4-mapped address of 169.254.169.254",
            ),
            (
                "http://[::ffff:10.0.0.1]/",
                "::ffff:10.0.0.1 is an IPv4-mapped address of 10.0.0.1",
            ),
            (
                "http://[2002:a9fe:a9fe::]/",
                "2002:a9fe:a9fe:: is a 6to4 address wrapping 169.254.169.254, the cloud metadata address",
            ),
        ] {
            assert_eq!(refusal(spelling).as_deref(), Some(expected), "{spelling}");
        }
    }

    #[test]
    fn unspecified_multicast_broadcast_and_reserved_addresses_are_refused() {
        for (spelling, expected) in [
            ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
            ("http://0/", "0.0.0.0 is the unspecified address"),
            (
                "http://0.1.2.3/",
                "0.1.2.3 is in 0.0.0.0/8 (\"this network\")",
            ),
            ("http://[::]/", ":: is the unspecified address"),
            ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
            (
                "http://239.255.255.250/",
                "239.255.255.250 is a multicast address",
            ),
            ("http://[ff02::1]/", "ff02::1 is a multicast address"),
            (
                "http://255.255.255.255/",
                "255.255.255.255 is the broadcast address",
            ),
            (
                "http://4294967295/",
                "255.255.255.255 is the broadcast address",
            ),
            ("http://240.0.0.1/", "240.0.0.1 is a reserved address"),
            (
                "http://192.0.0.170/",
                "192.0.0.170 is an IETF protocol assignment",
            ),
            ("http://192.0.2.1/", "192.0.2.1 is a documentation address"),
            ("http://198.18.0.1/", "198.18.0.1 is a benchmarking address"),
            (
                "http://198.19.255.1/",
                "198.19.255.1 is a benchmarking address",
            ),
            (
                "http://198.51.100.7/",
                "198.51.100.7 is a documentation address",
            ),
            (
                "http://203.0.113.9/",
                "203.0.113.9 is a documentation address",
            ),
            ("http://192.88.99.1/", "192.88.99.1 is a 6to4 relay address"),
            (
                "http://[64:ff9b:1::1]/",
                "64:ff9b:1::1 is a local NAT64 address",
            ),
            ("http://[100::1]/", "100::1 is a discard-only address"),
            (
                "http://[2001::1]/",
                "2001::1 is an IETF protocol assignment (Teredo, benchmarking, ...)",
            ),
            (
                "http://[2001:db8::1]/",
                "2001:db8::1 is a documentation address",
            ),
            (
                "http://[fec0::1]/",
                "fec0::1 is a reserved address (not global unicast)",
            ),
            (
                "http://[::ffff:0:7f00:1]/",
                "::ffff:0:7f00:1 is a reserved address (not global unicast)",
            ),
        ] {
            assert_eq!(refusal(spelling).as_deref(), Some(expected), "{spelling}");
        }
    }

    #[test]
    fn public_addresses_and_names_are_allowed() {
        for allowed in [
            "http://8.8.8.8/",
            "https://1.1.1.1/dns-query",
            "http://134744072/",
            "http://100.63.255.255/",
            "http://100.128.0.0/",
            "http://172.15.255.255/",
            "http://172.32.0.0/",
            "http://198.20.0.0/",
            "http://223.255.255.255/",
            "http://[2606:4700:4700::1111]/",
            "http://[64:ff9b::8.8.8.8]/",
            "http://[2002:808:808::]/",
            "https://example.com/",
            "http://localhost/",
        ] {
            assert_eq!(refusal(allowed), None, "{allowed}");
        }
    }

    #[test]
    fn the_refusal_says_how_to_lift_it() {
        let refusal = Guard::new(false).check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(
            refusal.unwrap_err().to_string(),
            "127.0.0.1 is a loopback address (set `settings.http_allow_private: true` to let \
             agents reach local and private services)"
        );
    }

    #[test]
    fn only_http_and_https_are_allowed_whatever_the_policy() {
        for guard in [Guard::new(false), Guard::new(true)] {
            for (spelling, scheme) in [
                ("file:///etc/passwd", "file"),
                ("ftp://example.com/", "ftp"),
                ("gopher://127.0.0.1:6379/_INFO", "gopher"),
                ("data:text/plain,hi", "data"),
                ("ws://example.com/", "ws"),
            ] {
                assert_eq!(
                    guard.check_url(&url(spelling)),
                    Err(Refusal::Scheme(scheme.to_owned())),
                    "{spelling}"
                );
            }
        }
        assert_eq!(
            Refusal::Scheme("file".into()).to_string(),
            "only http and https URLs are allowed, not `file:`"
        );
    }

    #[test]
    fn allow_private_lifts_every_address_check() {
        let guard = Guard::new(true);
        for spelling in [
            "http://127.0.0.1/",
            "http://2130706433/",
            "http://169.254.169.254/",
            "http://10.0.0.1/",
            "http://[::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://0.0.0.0/",
            "http://[fe80::1]/",
        ] {
            assert_eq!(guard.check_url(&url(spelling)), Ok(()), "{spelling}");
        }
    }

    #[test]
    fn an_exception_allows_exactly_one_socket_address() {
        let guard = Guard::allowing_only(vec!["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(guard.check_url(&url("http://127.0.0.1:8080/a")), Ok(()));
        assert_eq!(guard.check_url(&url("http://2130706433:8080/a")), Ok(()));
        for refused in [
            "http://127.0.0.1:8081/",
            "http://127.0.0.1/",
            "http://127.0.0.2:8080/",
            "http://[::ffff:127.0.0.1]:8080/",
        ] {
            assert!(guard.check_url(&url(refused)).is_err(), "{refused}");
        }
        let https = Guard::allowing_only(vec!["127.0.0.1:443".parse().unwrap()]);
        assert_eq!(https.check_url(&url("https://127.0.0.1/")), Ok(()));
        assert!(https.check_url(&url("http://127.0.0.1/")).is_err());
    }

    #[test]
    fn resolved_addresses_are_judged_alike() {
        let guard = Guard::new(false);
        for ip in [
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "fd00::1",
        ] {
            assert!(guard.check_ip(ip.parse().unwrap()).is_err(), "{ip}");
        }
        for ip in ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"] {
            assert_eq!(guard.check_ip(ip.parse().unwrap()), Ok(()), "{ip}");
        }
    }
}
