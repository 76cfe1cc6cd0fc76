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

/// The longest secret file read.
const MAX_SECRET_FILE: u64 = 4096;

/// A secret from a file others may not read or write (mode 0600, 0400, or 0640/0440 for a group
/// the server shares, as PostgreSQL accepts for its key and a Kubernetes secret mounted with an
/// `fsGroup` is), without its trailing newline. The problem never contains the file's content.
pub fn read_private_file(path: &str) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o007 != 0 {
            return Err(format!(
                "{path} is open to other users (mode {mode:03o}); run `chmod 600 {path}` (in Kubernetes, mount the secret with defaultMode 0440 and the pod's fsGroup)"
            ));
        }
    }
    if meta.len() > MAX_SECRET_FILE {
        return Err(format!("{path} is longer than {MAX_SECRET_FILE} bytes"));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    Ok(text.trim_end_matches(['\n', '\r']).to_owned())
}
