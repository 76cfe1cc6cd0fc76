//! `[[clients]]`: OAuth clients besides the built-in `vault-cli` (third-party CLIs such as
//! mairu, internal tools), validated into the [`Registry`] the routes ask.

use std::collections::HashSet;

use serde::Deserialize;
use vault_api::CLI_CLIENT_ID;

use super::problems::Problems;
use crate::clients::{
    redirect::{registrable, MAX_REDIRECT_URIS},
    Client, ClientKind, Grant, RedirectRule, Registry, SecretHash,
};

/// The most `[[clients]]` entries, and the longest id and name.
const MAX_CLIENTS: usize = 100;
const MAX_ID: usize = 64;
const MAX_NAME: usize = 100;
/// A confidential client's secret: long enough to be unguessable (a SHA-256 of it is all we
/// keep), short enough to bound what is hashed.
const MIN_SECRET: usize = 32;
const MAX_SECRET: usize = 512;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClient {
    id: String,
    name: String,
    kind: String,
    secret_file: Option<String>,
    secret_env: Option<String>,
    redirect: Option<String>,
    redirect_uris: Option<Vec<String>>,
    grants: Option<Vec<String>>,
}

/// The registry of `vault-cli` and the valid entries of `raw`; each problem names its key.
pub(super) fn validate(raw: Vec<RawClient>, p: &mut Problems) -> Registry {
    if raw.len() > MAX_CLIENTS {
        p.push(format!("clients: at most {MAX_CLIENTS} entries"));
    }
    let mut ids = HashSet::new();
    let clients = raw
        .into_iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let key = format!("clients[{i}]");
            if !ids.insert(r.id.clone()) {
                p.push(format!("{key}.id: client `{}` is defined twice", r.id));
            }
            r.validate(&key, p)
        })
        .collect();
    Registry::new(clients)
}

impl RawClient {
    fn validate(self, key: &str, p: &mut Problems) -> Option<Client> {
        check_id(key, &self.id, p);
        if self.name.trim().is_empty()
            || self.name.len() > MAX_NAME
            || self.name.chars().any(char::is_control)
        {
            p.push(format!(
                "{key}.name: must be 1-{MAX_NAME} bytes of printable text"
            ));
        }
        let grants = grants(key, self.grants, p);
        let redirect = redirect(key, self.redirect, self.redirect_uris, &grants, p);
        let kind = match self.kind.as_str() {
            "public" => ClientKind::Public,
            "confidential" => ClientKind::Confidential,
            other => {
                p.push(format!(
                    "{key}.kind: `{other}` is not \"public\" or \"confidential\""
                ));
                return None;
            }
        };
        let secret = secret(key, kind, self.secret_file, self.secret_env, p);
        Some(Client {
            id: self.id,
            name: self.name,
            kind,
            secret: secret?,
            redirect: redirect?,
            grants,
        })
    }
}

fn check_id(key: &str, id: &str, p: &mut Problems) {
    let shape = (1..=MAX_ID).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !shape {
        p.push(format!(
            "{key}.id: `{id}` must be 1-{MAX_ID} characters of letters, digits, `-`, `_` or `.`"
        ));
    }
    if id == CLI_CLIENT_ID {
        p.push(format!(
            "{key}.id: `{CLI_CLIENT_ID}` is built in; choose another id"
        ));
    }
}

/// The grants named, or the browser login with refresh when none are.
fn grants(key: &str, raw: Option<Vec<String>>, p: &mut Problems) -> Vec<Grant> {
    let names = raw.unwrap_or_else(|| vec!["authorization_code".into(), "refresh_token".into()]);
    if names.is_empty() {
        p.push(format!("{key}.grants: name at least one grant"));
    }
    let mut grants = Vec::new();
    for name in &names {
        match Grant::parse(name) {
            Some(g) if !grants.contains(&g) => grants.push(g),
            Some(_) => p.push(format!("{key}.grants: `{name}` is listed twice")),
            None => p.push(format!(
                "{key}.grants: `{name}` is not one of authorization_code, refresh_token, device_code"
            )),
        }
    }
    grants
}

/// `redirect = "loopback"` or `redirect_uris = [...]`: exactly one, for a client with the
/// browser login; none for one without.
fn redirect(
    key: &str,
    rule: Option<String>,
    uris: Option<Vec<String>>,
    grants: &[Grant],
    p: &mut Problems,
) -> Option<RedirectRule> {
    let browser = grants.contains(&Grant::AuthorizationCode);
    match (rule.as_deref(), uris) {
        (Some(_), Some(_)) => {
            p.push(format!("{key}: set redirect or redirect_uris, not both"));
            None
        }
        (None, None) if browser => {
            p.push(format!("{key}: the authorization_code grant needs redirect = \"loopback\" or redirect_uris = [...]"));
            None
        }
        (None, None) => Some(RedirectRule::Exact(Vec::new())),
        _ if !browser => {
            p.push(format!("{key}: redirects are used only by the authorization_code grant, which this client lacks"));
            None
        }
        (Some("loopback"), None) => Some(RedirectRule::Loopback),
        (Some(other), None) => {
            p.push(format!(
                "{key}.redirect: `{other}` is not \"loopback\" (list exact URIs in redirect_uris)"
            ));
            None
        }
        (None, Some(uris)) => {
            if uris.is_empty() || uris.len() > MAX_REDIRECT_URIS {
                p.push(format!(
                    "{key}.redirect_uris: list 1-{MAX_REDIRECT_URIS} URIs"
                ));
            }
            for (j, uri) in uris.iter().enumerate() {
                if let Err(why) = registrable(uri) {
                    p.push(format!("{key}.redirect_uris[{j}]: {why}"));
                }
            }
            Some(RedirectRule::Exact(uris))
        }
    }
}

/// The hash of a confidential client's secret (`Some(None)` for a public client, which has
/// none; `None` after a problem).
fn secret(
    key: &str,
    kind: ClientKind,
    file: Option<String>,
    env: Option<String>,
    p: &mut Problems,
) -> Option<Option<SecretHash>> {
    let read = match (kind, file, env) {
        (ClientKind::Public, None, None) => return Some(None),
        (ClientKind::Public, _, _) => {
            p.push(format!("{key}: a public client has no secret; remove secret_file and secret_env (or make it kind = \"confidential\")"));
            return None;
        }
        (ClientKind::Confidential, Some(_), Some(_)) | (ClientKind::Confidential, None, None) => {
            p.push(format!(
                "{key}: a confidential client needs exactly one of secret_file or secret_env"
            ));
            return None;
        }
        (ClientKind::Confidential, Some(path), None) => {
            super::secret::read_private_file(&path).map_err(|e| format!("{key}.secret_file: {e}"))
        }
        (ClientKind::Confidential, None, Some(var)) => match std::env::var(&var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!(
                "{key}.secret_env: the environment variable `{var}` is not set"
            )),
        },
    };
    let secret = p.take(read)?;
    if !(MIN_SECRET..=MAX_SECRET).contains(&secret.len()) {
        p.push(format!(
            "{key}: the client secret must be {MIN_SECRET}-{MAX_SECRET} bytes (generate one with `openssl rand -base64 32`)"
        ));
        return None;
    }
    Some(Some(SecretHash::of(&secret)))
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use crate::{clients::Grant, config::Config};

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    fn config(clients: &str) -> Result<Config, Vec<String>> {
        let text = format!(
            "database_url = \"postgres://localhost/vault\"\n{clients}\n\
             [oidc]\nissuer = \"http://127.0.0.1:4010\"\nclient_id = \"c\"\nclient_secret = \"s\"\n\
             [aws]\nregion = \"us-east-1\"\n"
        );
        Config::from_toml(&text).map_err(|e| e.problems)
    }

    fn secret_file(content: &str, mode: u32) -> tempfile::NamedTempFile {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(content.as_bytes()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let perms = std::fs::Permissions::from_mode(mode);
            std::fs::set_permissions(file.path(), perms).unwrap();
        }
        file
    }

    fn problems_of(clients: &str) -> String {
        config(clients).expect_err("refused").join("\n")
    }

    #[test]
    fn a_confidential_client_keeps_only_the_hash_of_its_private_secret_file() {
        // The owner's alone, or shared with the server's group (a Kubernetes fsGroup mount).
        for mode in [0o600, 0o640] {
            let file = secret_file(&format!("{SECRET}\n"), mode);
            let c = config(&format!(
                "[[clients]]\nid = \"deploy-bot\"\nname = \"Deploy bot\"\nkind = \"confidential\"\n\
                 secret_file = {:?}\nredirect_uris = [\"https://bot.example.com/cb\"]\n",
                file.path()
            ))
            .unwrap();
            let client = c.clients.get("deploy-bot").expect("registered");
            assert!(client.secret.as_ref().unwrap().matches(SECRET), "{mode:o}");
            assert!(!format!("{client:?}").contains(SECRET));
            assert!(client.allows_redirect("https://bot.example.com/cb"));
            assert!(c.clients.get("vault-cli").is_some());
        }
    }

    #[test]
    fn a_public_loopback_client_gets_the_browser_login_and_refresh_by_default() {
        let c = config("[[clients]]\nid = \"mairu\"\nname = \"mairu\"\nkind = \"public\"\nredirect = \"loopback\"\n")
            .unwrap();
        let mairu = c.clients.get("mairu").unwrap();
        assert_eq!(
            mairu.grants,
            [Grant::AuthorizationCode, Grant::RefreshToken]
        );
        assert!(mairu.allows_redirect("http://127.0.0.1:50123/oauth2callback"));
        assert_eq!(c.clients.registered(), 1);
    }

    #[test]
    fn a_secret_from_the_environment_is_read_and_a_missing_variable_named() {
        std::env::set_var("VAULT_TEST_CLIENT_SECRET_ENV_A", SECRET);
        let entry = |var: &str| {
            format!("[[clients]]\nid = \"a\"\nname = \"A\"\nkind = \"confidential\"\nsecret_env = \"{var}\"\ngrants = [\"device_code\"]\n")
        };
        let c = config(&entry("VAULT_TEST_CLIENT_SECRET_ENV_A")).unwrap();
        assert!(c.clients.get("a").unwrap().allows(Grant::DeviceCode));
        let all = problems_of(&entry("VAULT_TEST_CLIENT_SECRET_UNSET"));
        assert!(all.contains("clients[0].secret_env: the environment variable `VAULT_TEST_CLIENT_SECRET_UNSET` is not set"), "{all}");
    }

    #[test]
    fn secrets_that_are_short_shared_or_misplaced_are_refused() {
        let short = secret_file("too-short", 0o600);
        let shared = secret_file(SECRET, 0o644);
        let entry = |kind: &str, extra: &str| {
            format!("[[clients]]\nid = \"x\"\nname = \"X\"\nkind = \"{kind}\"\nredirect = \"loopback\"\n{extra}\n")
        };
        let all = problems_of(&entry(
            "confidential",
            &format!("secret_file = {:?}", short.path()),
        ));
        assert!(
            all.contains("the client secret must be 32-512 bytes"),
            "{all}"
        );
        let all = problems_of(&entry(
            "confidential",
            &format!("secret_file = {:?}", shared.path()),
        ));
        assert!(all.contains("is open to other users (mode 644)"), "{all}");
        assert!(!all.contains(SECRET), "{all}");
        let all = problems_of(&entry("confidential", ""));
        assert!(
            all.contains("needs exactly one of secret_file or secret_env"),
            "{all}"
        );
        let all = problems_of(&entry("public", "secret_env = \"X\""));
        assert!(all.contains("a public client has no secret"), "{all}");
    }

    #[test]
    fn every_bad_entry_is_reported_with_its_key_path() {
        let all = problems_of(
            "[[clients]]\nid = \"vault-cli\"\nname = \"\"\nkind = \"public\"\nredirect = \"loopback\"\n\
             [[clients]]\nid = \"bad id!\"\nname = \"B\"\nkind = \"public\"\nredirect = \"anywhere\"\n\
             [[clients]]\nid = \"c\"\nname = \"C\"\nkind = \"secretive\"\nredirect = \"loopback\"\n\
             [[clients]]\nid = \"d\"\nname = \"D\"\nkind = \"public\"\ngrants = [\"password\", \"refresh_token\", \"refresh_token\"]\n\
             redirect_uris = [\"http://app.example.com/cb\", \"https://app.example.com/cb#frag\"]\n\
             [[clients]]\nid = \"d\"\nname = \"D2\"\nkind = \"public\"\nredirect = \"loopback\"\nredirect_uris = [\"https://a.example/cb\"]\n\
             [[clients]]\nid = \"e\"\nname = \"E\"\nkind = \"public\"\n\
             [[clients]]\nid = \"f\"\nname = \"F\"\nkind = \"public\"\ngrants = []\n",
        );
        for expected in [
            "clients[0].id: `vault-cli` is built in",
            "clients[0].name: must be 1-100 bytes",
            "clients[1].id: `bad id!` must be 1-64 characters",
            "clients[1].redirect: `anywhere` is not \"loopback\"",
            "clients[2].kind: `secretive` is not \"public\" or \"confidential\"",
            "clients[3].grants: `password` is not one of",
            "clients[3].grants: `refresh_token` is listed twice",
            "clients[3]: redirects are used only by the authorization_code grant",
            "clients[4].id: client `d` is defined twice",
            "clients[4]: set redirect or redirect_uris, not both",
            "clients[5]: the authorization_code grant needs redirect",
            "clients[6].grants: name at least one grant",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        let all = problems_of(
            "[[clients]]\nid = \"d\"\nname = \"D\"\nkind = \"public\"\n\
             redirect_uris = [\"http://app.example.com/cb\", \"https://app.example.com/cb#frag\"]\n",
        );
        assert!(
            all.contains("clients[0].redirect_uris[0]: `http://app.example.com/cb` must be https"),
            "{all}"
        );
        assert!(all.contains("clients[0].redirect_uris[1]: `https://app.example.com/cb#frag` must have no fragment"), "{all}");
    }
}
