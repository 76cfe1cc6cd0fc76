//! Secrets in configuration: inline, from a `*_file` path, or from an environment variable.

use secrecy::SecretString;

/// Resolves a secret from (in order) the environment variable, the `*_file` path, the inline value.
/// Returns `Err(problem)` naming `key` when none is set or the file cannot be read.
pub fn resolve(
    key: &str,
    inline: Option<String>,
    file: Option<String>,
    env_var: &str,
) -> Result<SecretString, String> {
    if let Ok(value) = std::env::var(env_var) {
        if !value.is_empty() {
            return Ok(SecretString::from(value));
        }
    }
    if let Some(path) = file {
        return std::fs::read_to_string(&path)
            .map(|s| SecretString::from(s.trim_end_matches(['\n', '\r']).to_owned()))
            .map_err(|e| format!("{key}_file: cannot read {path}: {e}"));
    }
    inline
        .filter(|s| !s.is_empty())
        .map(SecretString::from)
        .ok_or_else(|| {
            format!("{key}: missing (set {key}, {key}_file or the environment variable {env_var})")
        })
}
