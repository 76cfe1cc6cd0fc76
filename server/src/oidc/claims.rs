//! Reading what the IdP said about a person: the name they go by (a verified email, or the
//! configured `display_claim`) and their groups, from the ID token's claims merged with
//! userinfo's.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde_json::{Map, Value};

use super::error::UpstreamError;

/// The longest display name kept (longer is refused: no real email or username is).
const MAX_DISPLAY: usize = 256;

/// The claims of a (verified) JWT's payload.
pub(super) fn payload(jwt: &str) -> Map<String, Value> {
    jwt.split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

/// Whether userinfo must be asked: the groups, or the claim that names the person, are missing.
pub(super) fn incomplete(
    claims: &Map<String, Value>,
    groups_claim: &str,
    display_claim: Option<&str>,
) -> bool {
    !claims.contains_key(groups_claim) || !claims.contains_key(display_claim.unwrap_or("email"))
}

/// Adds userinfo's claims the ID token lacks (the ID token's win).
pub(super) fn merge(claims: &mut Map<String, Value>, userinfo: Map<String, Value>) {
    for (k, v) in userinfo {
        claims.entry(k).or_insert(v);
    }
}

/// The name a person is known by: the `display_claim` when configured, else the email when
/// `email_verified` is true, else (no email at all) the subject. An unverified email is refused:
/// anyone can put someone else's address in their profile.
pub(super) fn display(
    claims: &Map<String, Value>,
    subject: &str,
    display_claim: Option<&str>,
) -> Result<String, UpstreamError> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let name = match display_claim {
        Some(claim) => text(claim).ok_or_else(|| UpstreamError::Refused {
            code: "display_claim_missing",
            subject: subject.to_owned(),
            reason: format!(
                "the identity provider sent no `{claim}` claim, which names people here; ask an administrator"
            ),
        })?,
        None => match text("email") {
            Some(email) if verified(claims.get("email_verified")) => email,
            Some(_) => {
                return Err(UpstreamError::Refused {
                    code: "email_unverified",
                    subject: subject.to_owned(),
                    reason: "your email address is not verified at the identity provider, so it cannot name you here; verify it there and log in again".into(),
                })
            }
            None => subject,
        },
    };
    if name.chars().count() > MAX_DISPLAY {
        return Err(UpstreamError::Refused {
            code: "display_too_long",
            subject: subject.to_owned(),
            reason: format!("the name the identity provider sent is over {MAX_DISPLAY} characters"),
        });
    }
    Ok(name.to_owned())
}

/// `email_verified` as a boolean or the string `"true"` (some IdPs send strings).
fn verified(value: Option<&Value>) -> bool {
    match value {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// The configured groups claim: a list of strings or a single string.
pub(super) fn groups(claims: &Map<String, Value>, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn groups_are_read_from_a_jwt_payload_by_claim_name() {
        let payload_b64 = URL_SAFE_NO_PAD.encode(br#"{"sub":"a","team_groups":["dev","ops"]}"#);
        let c = payload(&format!("h.{payload_b64}.s"));
        assert_eq!(groups(&c, "team_groups"), vec!["dev", "ops"]);
        assert!(groups(&c, "groups").is_empty());
    }

    #[test]
    fn a_single_string_group_claim_becomes_one_group() {
        assert_eq!(
            groups(&claims(serde_json::json!({"g": "dev"})), "g"),
            vec!["dev"]
        );
    }

    #[test]
    fn a_verified_email_names_the_person() {
        let c = claims(serde_json::json!({"email": "a@x", "email_verified": true}));
        assert_eq!(display(&c, "s", None).unwrap(), "a@x");
    }

    #[test]
    fn an_unverified_or_unflagged_email_is_refused() {
        for c in [
            serde_json::json!({"email": "alice@example.com", "email_verified": false}),
            serde_json::json!({"email": "alice@example.com"}),
        ] {
            match display(&claims(c), "eve", None) {
                Err(UpstreamError::Refused { code, .. }) => assert_eq!(code, "email_unverified"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_configured_display_claim_is_used_instead_of_the_email() {
        let c =
            claims(serde_json::json!({"email": "a@x", "email_verified": false, "upn": "alice"}));
        assert_eq!(display(&c, "s", Some("upn")).unwrap(), "alice");
        assert!(matches!(
            display(&c, "s", Some("preferred_username")),
            Err(UpstreamError::Refused {
                code: "display_claim_missing",
                ..
            })
        ));
    }

    #[test]
    fn without_an_email_the_subject_names_the_person() {
        assert_eq!(display(&Map::new(), "sub-1", None).unwrap(), "sub-1");
    }
}
