//! Wire types shared by `vault-server`, the `vault` CLI and the end-to-end tests.
//!
//! Kept tiny on purpose (serde and serde_json only) so the CLI never pulls in the server's dependencies.
//! Times travel as RFC 3339 strings; durations as whole seconds.

pub mod admin;
pub mod audit;
pub mod console;
pub mod revocations;

use serde::{Deserialize, Serialize};

/// The public OAuth client id of the `vault` CLI.
pub const CLI_CLIENT_ID: &str = "vault-cli";
/// RFC 8628 device-code grant type.
pub const GRANT_DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// RFC 8693 token-exchange grant type (CI jobs).
pub const GRANT_TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// RFC 8693 token type of a CI job's OIDC token.
pub const TOKEN_TYPE_JWT: &str = "urn:ietf:params:oauth:token-type:jwt";
/// RFC 8693 token type of the broker access token issued in exchange.
pub const TOKEN_TYPE_ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

/// Body of every non-OAuth API error: a machine code and a sentence a person can act on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
}

/// RFC 6749 §5.2 error body used by the `/oauth/*` endpoints.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct OAuthErrorBody {
    pub error: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Successful answer of `POST /oauth/token`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// RFC 8693: the kind of token issued by a token exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<String>,
}

/// Answer of `POST /oauth/device` (RFC 8628 §3.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeviceAuthorizationResponse {
    pub device_code: String,
    pub user_code: String,
    pub verification_uri: String,
    pub verification_uri_complete: String,
    pub expires_in: u64,
    pub interval: u64,
}

/// RFC 8414 metadata served at `/.well-known/oauth-authorization-server`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthorizationServerMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: String,
    pub revocation_endpoint: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    /// RFC 8414 §2; absent from the documents of servers before registered clients.
    #[serde(default)]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
}

/// One profile the caller may assume, as listed by `GET /v1/profiles`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    pub role_arn: String,
    pub region: String,
    pub default_duration_seconds: u32,
    pub max_duration_seconds: u32,
}

/// Answer of `GET /v1/profiles`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileList {
    pub profiles: Vec<ProfileInfo>,
}

/// One role in the answer of `GET /roles` (the mairu credential-server API).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoleInfo {
    /// The profile name, as `POST /assume-role` takes it in `Role`.
    #[serde(rename = "Name")]
    pub name: String,
}

/// Answer of `GET /roles`: the profiles the caller may assume, in the mairu shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleList {
    #[serde(rename = "Roles")]
    pub roles: Vec<RoleInfo>,
}

/// Answer of `GET /v1/whoami`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WhoAmI {
    /// Stable principal id (UUID).
    pub principal_id: String,
    /// `user`, `ci` or `system`.
    pub kind: String,
    /// Human-readable name (the email for people).
    pub display: String,
    pub groups: Vec<String>,
    pub is_admin: bool,
    /// Login session id; revoking it logs every copy of this login out.
    pub session_id: String,
    /// RFC 3339 time at which the access token presented expires.
    pub token_expires_at: String,
}

/// `POST /v1/credentials` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsRequest {
    pub profile: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_seconds: Option<u32>,
}

/// `POST /assume-role` body: the credential-server API of the mairu client.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AssumeRoleRequest {
    #[serde(rename = "Role")]
    pub role: String,
    #[serde(
        rename = "DurationSeconds",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub duration_seconds: Option<u32>,
}

/// Temporary AWS credentials in the `credential_process` shape (`Version` is always 1).
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Credentials {
    pub version: u8,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// RFC 3339 UTC time, e.g. `2026-11-28T19:00:00Z`.
    pub expiration: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_serialise_in_the_credential_process_shape() {
        let c = Credentials {
            version: 1,
            access_key_id: "ASIA1".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "2026-01-01T00:00:00Z".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        let mut keys: Vec<_> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "AccessKeyId",
                "Expiration",
                "SecretAccessKey",
                "SessionToken",
                "Version"
            ]
        );
        assert_eq!(v["Version"], serde_json::json!(1));
    }

    #[test]
    fn credentials_debug_output_hides_the_secret_and_token() {
        let c = Credentials {
            version: 1,
            access_key_id: "ASIA1".into(),
            secret_access_key: "very-secret".into(),
            session_token: "very-token".into(),
            expiration: "2026-01-01T00:00:00Z".into(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret") && !shown.contains("very-token"));
    }
}
