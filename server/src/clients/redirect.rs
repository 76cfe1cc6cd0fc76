//! Redirect URIs: the loopback rule of RFC 8252 §7.3 and the shape a registered exact URI must
//! have.

use url::{Host, Url};

/// The most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 16;
/// The longest redirect URI accepted, registered or requested.
pub const MAX_REDIRECT_URI_BYTES: usize = 2048;

/// RFC 8252 §7.3: plain http to a loopback IP literal (127.0.0.1 or [::1]), any port, any path,
/// no fragment, no user info.
pub fn is_loopback(uri: &str) -> bool {
    let Ok(url) = Url::parse(uri) else {
        return false;
    };
    let loopback = match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        _ => false,
    };
    uri.len() <= MAX_REDIRECT_URI_BYTES && url.scheme() == "http" && loopback && plain(&url)
}

/// Why `uri` cannot be registered as an exact redirect URI, if it cannot: it must be absolute,
/// https (or loopback http), without a fragment or user info (RFC 6749 §3.1.2).
pub fn registrable(uri: &str) -> Result<(), String> {
    if uri.len() > MAX_REDIRECT_URI_BYTES {
        return Err(format!("longer than {MAX_REDIRECT_URI_BYTES} bytes"));
    }
    let url = Url::parse(uri).map_err(|e| format!("`{uri}` is not an absolute URI ({e})"))?;
    if !plain(&url) {
        return Err(format!("`{uri}` must have no fragment and no user info"));
    }
    if url.scheme() != "https" && !is_loopback(uri) {
        return Err(format!(
            "`{uri}` must be https, or http to 127.0.0.1 or [::1]"
        ));
    }
    Ok(())
}

fn plain(url: &Url) -> bool {
    url.fragment().is_none() && url.username().is_empty() && url.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_literals_on_any_port_are_accepted() {
        assert!(is_loopback("http://127.0.0.1:49152/callback"));
        assert!(is_loopback("http://[::1]:8000/cb"));
        assert!(is_loopback("http://127.0.0.1:1/oauth2callback"));
    }

    #[test]
    fn anything_else_is_not_loopback() {
        for uri in [
            "http://localhost:8000/cb",
            "https://127.0.0.1:8000/cb",
            "http://evil.example/cb",
            "http://127.0.0.1:8000/cb#frag",
            "http://user@127.0.0.1:8000/cb",
            "not a url",
        ] {
            assert!(!is_loopback(uri), "{uri}");
        }
    }

    #[test]
    fn registered_uris_are_https_or_loopback_without_fragments() {
        assert!(registrable("https://app.example.com/callback").is_ok());
        assert!(registrable("http://127.0.0.1:8400/cb").is_ok());
        for uri in [
            "http://app.example.com/callback",
            "https://app.example.com/cb#x",
            "https://u:p@app.example.com/cb",
            "/relative",
            "custom:thing",
        ] {
            assert!(registrable(uri).is_err(), "{uri}");
        }
        assert!(registrable(&format!("https://a.example/{}", "x".repeat(2100))).is_err());
    }
}
