//! `RoleSessionName` / `SourceIdentity`: what AWS accepts (`[\w+=,.@-]{2,64}`, never starting
//! with `aws`), unique per principal.
//!
//! A display name STS accepts as it is (a plain email) is used unchanged. One that had to be
//! changed (a character outside the set, too long or too short, the reserved prefix) gets a short
//! suffix derived from the principal id, so `zoë@x` and `zoé@x`, or two addresses sharing their
//! first 64 characters, never become the same session name.

use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::principal::Principal;

/// The longest name STS accepts.
pub const MAX_LEN: usize = 64;
/// Hex digits of SHA-256(principal id) in the suffix (32 bits: a collision needs a changed name
/// *and* a matching digest).
const SUFFIX_HEX: usize = 8;

/// The session name of `principal_id`, whose display name is `display`.
pub fn session_name(display: &str, principal_id: Uuid) -> String {
    named(display, principal_id, false)
}

/// The session name of a person: as [`session_name`], with the suffix also when an older
/// principal has the same display name.
pub fn session_name_of(principal: &Principal) -> String {
    named(&principal.display, principal.id, principal.display_shared)
}

fn named(display: &str, principal_id: Uuid, always_suffixed: bool) -> String {
    let clean = sanitise(display);
    let unchanged = clean == display
        && (2..=MAX_LEN).contains(&clean.len())
        && !clean.to_ascii_lowercase().starts_with("aws");
    if unchanged && !always_suffixed {
        return clean;
    }
    let mut base = clean;
    if base.to_ascii_lowercase().starts_with("aws") {
        base.insert_str(0, "u-");
    }
    let suffix = suffix(principal_id);
    let mut name = cut_to(&base, MAX_LEN - suffix.len());
    name.push_str(&suffix);
    name
}

/// Characters outside `[\w+=,.@-]` (ASCII `\w`) become `-`.
pub fn sanitise(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The first `max` characters of a (sanitised, so ASCII) name.
fn cut_to(name: &str, max: usize) -> String {
    name.chars().take(max).collect()
}

/// `-` and the first hex digits of SHA-256 of the principal id.
fn suffix(principal_id: Uuid) -> String {
    let digest = Sha256::digest(principal_id.to_string().as_bytes());
    format!("-{}", &hex::encode(digest)[..SUFFIX_HEX])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn valid(name: &str) -> bool {
        (2..=MAX_LEN).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
            && !name.to_ascii_lowercase().starts_with("aws")
    }

    #[test]
    fn an_email_sts_accepts_stays_exactly_as_it_is() {
        assert_eq!(
            session_name("alice@example.com", id(1)),
            "alice@example.com"
        );
    }

    #[test]
    fn accented_names_of_two_people_get_different_session_names() {
        let (zoe_diaeresis, zoe_acute) = (
            session_name("zoë@example.com", id(1)),
            session_name("zoé@example.com", id(2)),
        );
        assert_ne!(zoe_diaeresis, zoe_acute);
        assert!(
            zoe_diaeresis.starts_with("zo-@example.com-"),
            "{zoe_diaeresis}"
        );
        assert!(valid(&zoe_diaeresis) && valid(&zoe_acute));
    }

    #[test]
    fn the_suffix_is_stable_for_one_principal() {
        assert_eq!(
            session_name("zoë@example.com", id(7)),
            session_name("zoë@example.com", id(7))
        );
    }

    #[test]
    fn non_latin_names_become_valid_and_distinct() {
        let names = [
            session_name("山田@example.jp", id(1)),
            session_name("田中@example.jp", id(2)),
            session_name("иван@example.ru", id(3)),
            session_name("пётр@example.ru", id(4)),
        ];
        for (i, a) in names.iter().enumerate() {
            assert!(valid(a), "{a}");
            for b in &names[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn two_long_addresses_sharing_64_characters_get_different_names_of_64() {
        let shared = "a".repeat(64);
        let one = session_name(&format!("{shared}.one@example.com"), id(1));
        let two = session_name(&format!("{shared}.two@example.com"), id(2));
        assert_ne!(one, two);
        assert_eq!(one.len(), MAX_LEN);
        assert_eq!(two.len(), MAX_LEN);
        assert!(valid(&one) && valid(&two));
    }

    #[test]
    fn names_never_start_with_the_reserved_aws_prefix() {
        for display in ["aws:admin", "AWSadmin@example.com", "aws"] {
            let name = session_name(display, id(1));
            assert!(name.starts_with("u-"), "{name}");
            assert!(valid(&name), "{name}");
        }
    }

    #[test]
    fn too_short_names_are_padded_by_the_suffix() {
        for display in ["", "x"] {
            let name = session_name(display, id(1));
            assert!(valid(&name), "{name:?}");
        }
    }
}

#[cfg(test)]
mod shared_display_tests {
    use super::*;
    use crate::principal::PrincipalKind;

    #[test]
    fn a_principal_sharing_an_older_ones_display_is_always_suffixed() {
        let person = |n: u128, display_shared| Principal {
            id: Uuid::from_u128(n),
            kind: PrincipalKind::User,
            display: "alice@example.com".into(),
            display_shared,
        };
        assert_eq!(session_name_of(&person(1, false)), "alice@example.com");
        let newer = session_name_of(&person(2, true));
        assert_eq!(
            newer,
            format!("alice@example.com{}", suffix(Uuid::from_u128(2)))
        );
    }
}
