//! The names of the profiles the server last listed to this user, kept in a private file (they
//! are not secret) so that shell completion can offer them on every Tab without a network call.

use vault_api::ProfileList;

use crate::store::{FileStore, SecretStore, Store};

/// The file (in the server's directory) holding the names.
const KEY: &str = "profiles";
/// At most this many names are kept, each at most [`MAX_NAME_LEN`] bytes.
const MAX_NAMES: usize = 1_000;
const MAX_NAME_LEN: usize = 128;

/// Keeps the names of `list` for completion. Best effort: completion is a convenience, so a
/// failure to write is ignored, and an unchanged list is not written again.
pub fn remember(store: &Store, list: &ProfileList) {
    let files = store.local();
    let names: Vec<&str> = list
        .profiles
        .iter()
        .map(|p| p.name.as_str())
        .filter(|n| n.len() <= MAX_NAME_LEN)
        .take(MAX_NAMES)
        .collect();
    if read(&files) == names {
        return;
    }
    if let Ok(text) = serde_json::to_string(&names) {
        let _ = files.put(KEY, &text);
    }
}

/// The names last listed, in the server's order; none when nothing was listed yet or the file is
/// unreadable.
pub fn read(files: &FileStore) -> Vec<String> {
    let Ok(Some(text)) = files.get(KEY) else {
        return Vec::new();
    };
    let mut names: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
    names.retain(|n| n.len() <= MAX_NAME_LEN);
    names.truncate(MAX_NAMES);
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_api::ProfileInfo;

    fn list(names: &[&str]) -> ProfileList {
        ProfileList {
            profiles: names
                .iter()
                .map(|n| ProfileInfo {
                    name: (*n).into(),
                    role_arn: format!("arn:aws:iam::123456789012:role/{n}"),
                    region: "us-east-1".into(),
                    default_duration_seconds: 3600,
                    max_duration_seconds: 3600,
                })
                .collect(),
        }
    }

    #[test]
    fn the_names_last_listed_are_read_back_in_the_servers_order() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::in_files(tmp.path().into());
        assert!(read(&store.local()).is_empty());
        remember(&store, &list(&["prod", "dev"]));
        assert_eq!(read(&store.local()), ["prod", "dev"]);
        remember(&store, &list(&["dev"]));
        assert_eq!(read(&store.local()), ["dev"]);
    }

    #[test]
    fn an_unreadable_file_gives_no_names() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("profiles.json"), "{not json").unwrap();
        assert!(read(&FileStore::new(tmp.path().into())).is_empty());
    }
}
