//! The shape of a profile name: what the configuration accepts, and so what a request may name.

/// Longest profile name, in bytes.
pub const PROFILE_NAME_MAX: usize = 64;

/// 1-64 characters of ASCII letters, digits, `-`, `_` or `.`.
pub fn is_profile_name(name: &str) -> bool {
    (1..=PROFILE_NAME_MAX).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
