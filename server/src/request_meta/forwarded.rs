//! The client address behind trusted proxies: `Forwarded` (RFC 7239) or `X-Forwarded-For`,
//! believed only when the socket peer is a trusted proxy, read from the right.

use std::net::{IpAddr, SocketAddr};

use axum::http::{header::FORWARDED, HeaderMap};
use ipnet::IpNet;

/// Header bytes read at most (per header name): a longer chain is cut on the left.
const MAX_HEADER_BYTES: usize = 4096;
/// Hops read at most, from the right.
const MAX_HOPS: usize = 32;

/// The address a request comes from: the socket peer, unless the peer is a trusted proxy; then
/// the rightmost hop of the forwarding chain that is not itself a trusted proxy. A hop that is
/// not an address (`unknown`, an obfuscated name, garbage) ends the walk at the last trusted
/// hop, which is then the best address known.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let hops = if headers.contains_key(FORWARDED) {
        chain(headers, FORWARDED.as_str(), forwarded_for)
    } else {
        chain(headers, "x-forwarded-for", |element| Some(element.trim()))
    };
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        match hop.and_then(parse_node) {
            Some(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            None => break,
        }
    }
    client
}

/// The node of each element of every `name` header, in order (left to right). Elements of a
/// value cut to its last [`MAX_HEADER_BYTES`] are dropped if the cut split them.
fn chain<'a>(
    headers: &'a HeaderMap,
    name: &str,
    node: fn(&'a str) -> Option<&'a str>,
) -> Vec<Option<&'a str>> {
    let mut hops = Vec::new();
    for value in headers.get_all(name) {
        let Ok(text) = value.to_str() else {
            hops.push(None);
            continue;
        };
        let (text, cut) = match text.len().checked_sub(MAX_HEADER_BYTES) {
            Some(start) if start > 0 => (text.get(start..).unwrap_or(""), true),
            _ => (text, false),
        };
        let mut elements = text.split(',');
        if cut {
            elements.next();
        }
        hops.extend(elements.map(node));
        if hops.len() > 4 * MAX_HOPS {
            hops.drain(..hops.len() - MAX_HOPS);
        }
    }
    hops
}

/// The `for=` parameter of one `Forwarded` element (`for=192.0.2.60;proto=http;by=...`).
fn forwarded_for(element: &str) -> Option<&str> {
    element.split(';').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("for")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// An address as proxies write it: `192.0.2.60`, `192.0.2.60:4711`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let ip = if let Some(rest) = node.strip_prefix('[') {
        rest.split_once(']')?.0.parse::<IpAddr>().ok()?
    } else {
        node.parse::<IpAddr>()
            .or_else(|_| node.parse::<SocketAddr>().map(|s| s.ip()))
            .ok()?
    };
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(*name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[
            ("x-forwarded-for", "203.0.113.9"),
            ("forwarded", "for=203.0.113.9"),
        ]);
        assert_eq!(
            client_ip(ip("127.0.0.3"), &h, &nets(&["127.0.0.1/32"])),
            ip("127.0.0.3")
        );
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8"]);
        // The client wrote a fake first hop; the proxies appended the real one and themselves.
        let h = headers(&[("x-forwarded-for", "198.51.100.1, 203.0.113.9, 10.0.0.7")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        // Several header lines form one list, in order.
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            ("x-forwarded-for", "203.0.113.9:5555"),
        ]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
    }

    #[test]
    fn forwarded_is_read_before_x_forwarded_for_with_its_quoting_and_ports() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[
            ("x-forwarded-for", "198.51.100.1"),
            (
                "forwarded",
                "for=198.51.100.2, for=\"[2001:db8:cafe::17]:4711\";proto=https, For=10.1.1.1;by=10.0.0.1",
            ),
        ]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &trusted),
            ip("2001:db8:cafe::17")
        );
    }

    #[test]
    fn an_unknown_or_garbage_hop_stops_the_walk_at_the_last_trusted_address() {
        let trusted = nets(&["10.0.0.0/8"]);
        let h = headers(&[("forwarded", "for=203.0.113.9, for=unknown, for=10.0.0.5")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.5"));
        let h = headers(&[("x-forwarded-for", "203.0.113.9, not-an-ip")]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("10.0.0.2"));
        // No header at all: the proxy itself.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &HeaderMap::new(), &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn an_all_trusted_chain_gives_its_leftmost_hop() {
        let h = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.7")]);
        assert_eq!(
            client_ip(ip("10.0.0.2"), &h, &nets(&["10.0.0.0/8"])),
            ip("10.9.9.9")
        );
    }

    #[test]
    fn ipv4_mapped_peers_and_hops_are_plain_ipv4() {
        let h = headers(&[("x-forwarded-for", "::ffff:203.0.113.9")]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), &h, &nets(&["10.0.0.0/8"])),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_huge_chain_is_read_only_from_its_right_end() {
        let trusted = nets(&["10.0.0.0/8"]);
        let mut long = vec!["198.51.100.1".to_owned(); 5000];
        long.push("203.0.113.9".into());
        let h = headers(&[("x-forwarded-for", &long.join(","))]);
        assert_eq!(client_ip(ip("10.0.0.2"), &h, &trusted), ip("203.0.113.9"));
        // More trusted hops than are read: the walk ends at the last one read.
        let mut hops = vec!["203.0.113.9".to_owned()];
        hops.extend((0..40).map(|i| format!("10.0.0.{i}")));
        let h = headers(&[("x-forwarded-for", &hops.join(","))]);
        let got = client_ip(ip("10.0.0.2"), &h, &trusted);
        assert!(trusted[0].contains(&got), "{got}");
    }
}
