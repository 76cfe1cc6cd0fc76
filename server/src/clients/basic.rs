//! `client_secret_basic` (RFC 6749 §2.3.1): the client id and secret in an `Authorization: Basic`
//! header, each form-urlencoded before the pair is base64-encoded (RFC 7617).

use base64::{engine::general_purpose::STANDARD, Engine};
use percent_encoding::percent_decode_str;

/// The longest `Authorization` header read; a client id and a long secret fit with room.
pub const MAX_HEADER_BYTES: usize = 2048;

/// A client's id and secret as a Basic header carried them.
pub struct BasicCredentials {
    pub client_id: String,
    pub secret: String,
}

/// Reads `Authorization: Basic ...`. `Ok(None)`: the header uses another scheme. `Err`: it is
/// Basic but malformed (the reason, fit for the client; never containing the secret).
pub fn parse(header: &str) -> Result<Option<BasicCredentials>, &'static str> {
    if header.len() > MAX_HEADER_BYTES {
        return Err("the Authorization header is too long");
    }
    let Some((scheme, rest)) = header.trim().split_once(' ') else {
        return Ok(None);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .map_err(|_| "the Basic credentials are not base64")?;
    let text = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
    let (id, secret) = text
        .split_once(':')
        .ok_or("the Basic credentials have no `:` between client id and secret")?;
    Ok(Some(BasicCredentials {
        client_id: form_decode(id)?,
        secret: form_decode(secret)?,
    }))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space, `%XX` a byte.
fn form_decode(value: &str) -> Result<String, &'static str> {
    percent_decode_str(&value.replace('+', " "))
        .decode_utf8()
        .map(|v| v.into_owned())
        .map_err(|_| "the Basic credentials are not UTF-8 once decoded")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(pair: &str) -> String {
        format!("Basic {}", STANDARD.encode(pair))
    }

    #[test]
    fn id_and_secret_are_form_decoded_after_base64() {
        let c = parse(&basic("my%20app:s%3Acret+with%2Bplus"))
            .unwrap()
            .unwrap();
        assert_eq!(c.client_id, "my app");
        assert_eq!(c.secret, "s:cret with+plus");
    }

    #[test]
    fn the_first_colon_splits_and_the_scheme_is_case_insensitive() {
        let header = format!("bAsIc {}", STANDARD.encode("app:a:b"));
        let c = parse(&header).unwrap().unwrap();
        assert_eq!((c.client_id.as_str(), c.secret.as_str()), ("app", "a:b"));
    }

    #[test]
    fn other_schemes_are_not_basic() {
        assert!(parse("Bearer abc").unwrap().is_none());
        assert!(parse("Basic").unwrap().is_none());
    }

    #[test]
    fn malformed_basic_credentials_are_refused_with_a_reason() {
        assert!(parse("Basic !!!notbase64").is_err());
        assert!(parse(&basic("no-colon")).is_err());
        assert!(parse(&format!("Basic {}", STANDARD.encode([0xff, b':', 0xfe]))).is_err());
        assert!(parse(&basic("app:%ff")).is_err());
        assert!(parse(&basic(&format!("app:{}", "x".repeat(MAX_HEADER_BYTES)))).is_err());
    }
}
