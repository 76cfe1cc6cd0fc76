//! What every request to a credential endpoint must pass before it is answered: a Host naming
//! the address served (DNS rebinding), no `Origin` or `Referer` and no browser's user agent (a
//! web page's request), and, where the protocol has one, the right token (compared in constant
//! time).

use std::net::{IpAddr, SocketAddr};

use hyper::header::{HOST, ORIGIN, REFERER, USER_AGENT};
use hyper::HeaderMap;
use subtle::ConstantTimeEq;

/// Why a request was refused (the message of its 403).
pub type Refusal = &'static str;

/// Which Host headers name this endpoint.
#[derive(Debug, Clone)]
pub struct Hosts {
    bound: SocketAddr,
}

impl Hosts {
    /// For a listener bound to `bound`: `127.0.0.1:PORT` and `localhost:PORT` always (a loopback
    /// listener is reached so), the bound address itself, and, when bound to every address, any IP
    /// literal with the port. A DNS rebinding attack needs a name, so names other than localhost
    /// are never accepted.
    pub fn new(bound: SocketAddr) -> Self {
        Self { bound }
    }

    fn accepts(&self, host: &str) -> bool {
        let port = self.bound.port();
        let Some((name, p)) = host.rsplit_once(':') else {
            return false;
        };
        if p.parse::<u16>().ok() != Some(port) {
            return false;
        }
        if name.eq_ignore_ascii_case("localhost") {
            return true;
        }
        let name = name
            .strip_prefix('[')
            .and_then(|n| n.strip_suffix(']'))
            .unwrap_or(name);
        let Ok(ip) = name.parse::<IpAddr>() else {
            return false;
        };
        ip == IpAddr::from([127, 0, 0, 1])
            || ip == self.bound.ip()
            || self.bound.ip().is_unspecified()
    }
}

/// The checks every request passes first (the token is the protocol's, see [`token_matches`]).
pub fn check(headers: &HeaderMap, hosts: &Hosts) -> Result<(), Refusal> {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    if !host.is_some_and(|h| hosts.accepts(h)) {
        return Err("the Host header does not name this endpoint");
    }
    if headers.contains_key(ORIGIN) || headers.contains_key(REFERER) {
        return Err("requests from web pages are refused");
    }
    let agent = headers.get(USER_AGENT).map(|a| a.as_bytes());
    if agent.is_some_and(|a| a.starts_with(b"Mozilla/")) {
        return Err("requests from browsers are refused");
    }
    Ok(())
}

/// Whether the header's value is exactly `expected`, in time independent of where they differ.
pub fn token_matches(headers: &HeaderMap, name: &str, expected: &[u8]) -> bool {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (Some(value), None) => bool::from(value.as_bytes().ct_eq(expected)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(*k, v.parse().unwrap());
        }
        map
    }

    fn loopback() -> Hosts {
        Hosts::new("127.0.0.1:4567".parse().unwrap())
    }

    #[test]
    fn the_bound_address_and_localhost_with_its_port_are_accepted_hosts() {
        for host in ["127.0.0.1:4567", "localhost:4567", "LOCALHOST:4567"] {
            assert_eq!(
                check(&headers(&[("host", host)]), &loopback()),
                Ok(()),
                "{host}"
            );
        }
    }

    #[test]
    fn a_rebinding_host_another_port_or_no_host_is_refused() {
        for host in [
            "evil.example:4567",
            "127.0.0.1:80",
            "127.0.0.1",
            "10.0.0.1:4567",
            "",
        ] {
            assert!(
                check(&headers(&[("host", host)]), &loopback()).is_err(),
                "{host}"
            );
        }
        assert!(check(&headers(&[]), &loopback()).is_err());
    }

    #[test]
    fn a_listener_on_every_address_accepts_ip_literals_but_no_names() {
        let any = Hosts::new("0.0.0.0:4567".parse().unwrap());
        assert!(any.accepts("192.168.1.5:4567"));
        assert!(any.accepts("localhost:4567"));
        assert!(!any.accepts("attacker.example:4567"));
        let one = Hosts::new("192.168.1.5:4567".parse().unwrap());
        assert!(one.accepts("192.168.1.5:4567"));
        assert!(!one.accepts("192.168.1.6:4567"));
    }

    #[test]
    fn requests_with_an_origin_a_referer_or_a_browsers_agent_are_refused() {
        let host = ("host", "127.0.0.1:4567");
        for extra in [
            ("origin", "http://evil.example"),
            ("referer", "http://evil.example/page"),
            ("user-agent", "Mozilla/5.0 (X11; Linux x86_64)"),
        ] {
            assert!(
                check(&headers(&[host, extra]), &loopback()).is_err(),
                "{extra:?}"
            );
        }
        let sdk = headers(&[host, ("user-agent", "aws-cli/2.15 botocore/1.34")]);
        assert_eq!(check(&sdk, &loopback()), Ok(()));
    }

    #[test]
    fn only_the_exact_token_once_matches() {
        let name = "authorization";
        assert!(token_matches(&headers(&[(name, "abc")]), name, b"abc"));
        assert!(!token_matches(&headers(&[(name, "abd")]), name, b"abc"));
        assert!(!token_matches(&headers(&[(name, "abcd")]), name, b"abc"));
        assert!(!token_matches(&headers(&[]), name, b"abc"));
        assert!(!token_matches(
            &headers(&[(name, "abc"), (name, "abc")]),
            name,
            b"abc"
        ));
    }
}
