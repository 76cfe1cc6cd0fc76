//! One registered OAuth client: who it is, where it may be sent back to, which grants it may
//! use, and (for a confidential client) the hash of its secret.

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use vault_api::GRANT_DEVICE_CODE;

use super::redirect;

/// RFC 6749 §2.1 client types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// Cannot keep a secret (a CLI, a desktop app): identifies itself with `client_id` only,
    /// and proves it started a login with PKCE.
    Public,
    /// Holds a secret and authenticates with it at the token, revocation and device endpoints.
    Confidential,
}

impl ClientKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Public => "public",
            ClientKind::Confidential => "confidential",
        }
    }
}

/// The grants a registered client may be allowed (the token exchange is for CI jobs, which are
/// not OAuth clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode,
    RefreshToken,
    DeviceCode,
}

impl Grant {
    pub const ALL: [Grant; 3] = [
        Grant::AuthorizationCode,
        Grant::RefreshToken,
        Grant::DeviceCode,
    ];

    /// The `grant_type` value on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::AuthorizationCode => "authorization_code",
            Grant::RefreshToken => "refresh_token",
            Grant::DeviceCode => GRANT_DEVICE_CODE,
        }
    }

    /// The grant a request's `grant_type` names, if it is one of these.
    pub fn from_wire(grant_type: &str) -> Option<Grant> {
        Grant::ALL.into_iter().find(|g| g.as_str() == grant_type)
    }

    /// The grant a configuration names: the wire value, or `device_code` for short.
    pub fn parse(name: &str) -> Option<Grant> {
        match name {
            "device_code" => Some(Grant::DeviceCode),
            other => Grant::from_wire(other),
        }
    }
}

/// Where a client may be sent back to after a browser login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectRule {
    /// Any port and path on 127.0.0.1 or [::1] over http (RFC 8252 §7.3).
    Loopback,
    /// Exactly one of these URIs, compared as strings (RFC 6749 §3.1.2.3).
    Exact(Vec<String>),
}

/// SHA-256 of a client secret: all the server keeps of it. The secret is random and long (the
/// configuration refuses short ones), so a fast hash is enough; comparison is constant-time.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash([u8; 32]);

impl SecretHash {
    pub fn of(secret: &str) -> Self {
        SecretHash(Sha256::digest(secret.as_bytes()).into())
    }

    /// Whether `presented` is the secret, in time independent of where they differ.
    pub fn matches(&self, presented: &str) -> bool {
        SecretHash::of(presented).0.ct_eq(&self.0).into()
    }
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash([redacted])")
    }
}

/// A registered OAuth client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    /// What people are shown (the device confirm page, audit readers).
    pub name: String,
    pub kind: ClientKind,
    /// `Some` exactly for a confidential client.
    pub secret: Option<SecretHash>,
    pub redirect: RedirectRule,
    pub grants: Vec<Grant>,
}

impl Client {
    /// Whether a login may send the browser back to `uri` for this client.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        match &self.redirect {
            RedirectRule::Loopback => redirect::is_loopback(uri),
            RedirectRule::Exact(uris) => uris.iter().any(|u| u == uri),
        }
    }

    pub fn allows(&self, grant: Grant) -> bool {
        self.grants.contains(&grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(redirect: RedirectRule) -> Client {
        Client {
            id: "app".into(),
            name: "App".into(),
            kind: ClientKind::Public,
            secret: None,
            redirect,
            grants: vec![Grant::AuthorizationCode],
        }
    }

    #[test]
    fn a_secret_hash_matches_only_its_secret_and_never_prints_it() {
        let hash = SecretHash::of("correct horse battery staple, but longer");
        assert!(hash.matches("correct horse battery staple, but longer"));
        assert!(!hash.matches("correct horse battery staple, but longeR"));
        assert!(!hash.matches(""));
        assert_eq!(format!("{hash:?}"), "SecretHash([redacted])");
    }

    #[test]
    fn exact_redirects_match_whole_strings_and_loopback_any_port() {
        let exact = client(RedirectRule::Exact(vec!["https://app.example/cb".into()]));
        assert!(exact.allows_redirect("https://app.example/cb"));
        assert!(!exact.allows_redirect("https://app.example/cb/"));
        assert!(!exact.allows_redirect("https://app.example/cb?x=1"));
        let loopback = client(RedirectRule::Loopback);
        assert!(loopback.allows_redirect("http://127.0.0.1:51234/oauth2callback"));
        assert!(!loopback.allows_redirect("https://app.example/cb"));
    }

    #[test]
    fn grants_parse_from_their_wire_names_and_the_short_device_code() {
        assert_eq!(
            Grant::parse("authorization_code"),
            Some(Grant::AuthorizationCode)
        );
        assert_eq!(Grant::parse("device_code"), Some(Grant::DeviceCode));
        assert_eq!(Grant::parse(GRANT_DEVICE_CODE), Some(Grant::DeviceCode));
        assert_eq!(Grant::parse("password"), None);
        assert_eq!(Grant::from_wire("device_code"), None);
        assert!(client(RedirectRule::Loopback).allows(Grant::AuthorizationCode));
        assert!(!client(RedirectRule::Loopback).allows(Grant::RefreshToken));
    }
}
