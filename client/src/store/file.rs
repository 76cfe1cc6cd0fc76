//! The file backend: one file per key in a directory only the user can enter.
//!
//! Files are created with mode 0600 inside a 0700 directory from the first byte (never chmod-ed
//! afterwards) and replaced atomically through a temporary file and a rename.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::RngCore;

use super::secret_store::SecretStore;

/// Keys stored as files under one directory.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// A store in `dir`, created (mode 0700) on the first write.
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{}.json", file_name(key)))
    }
}

/// Keeps `[A-Za-z0-9_.-]` and writes anything else as `%XX`, so any key is a safe file name.
fn file_name(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && !out.is_empty()) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

/// Opens a new file that only the user may read, failing if it already exists.
pub fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

impl SecretStore for FileStore {
    fn get(&self, key: &str) -> anyhow::Result<Option<String>> {
        let path = self.path(key);
        match fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn put(&self, key: &str, value: &str) -> anyhow::Result<()> {
        create_private_dir(&self.dir)
            .with_context(|| format!("creating {}", self.dir.display()))?;
        let path = self.path(key);
        let tmp = self.dir.join(format!(
            ".{}.{:016x}.tmp",
            file_name(key),
            rand::thread_rng().next_u64()
        ));
        let written = create_private_file(&tmp).and_then(|mut file| {
            file.write_all(value.as_bytes())?;
            file.sync_all()
        });
        let renamed = written.and_then(|()| fs::rename(&tmp, &path));
        if let Err(e) = renamed {
            let _ = fs::remove_file(&tmp);
            return Err(e).with_context(|| format!("writing {}", path.display()));
        }
        Ok(())
    }

    fn delete(&self, key: &str) -> anyhow::Result<()> {
        let path = self.path(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_written_is_read_back_and_deleting_twice_is_fine() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().join("s"));
        assert_eq!(store.get("tokens").unwrap(), None);
        store.put("tokens", "one").unwrap();
        store.put("tokens", "two").unwrap();
        assert_eq!(store.get("tokens").unwrap().as_deref(), Some("two"));
        store.delete("tokens").unwrap();
        store.delete("tokens").unwrap();
        assert_eq!(store.get("tokens").unwrap(), None);
    }

    #[cfg(unix)]
    #[test]
    fn files_are_private_to_the_user_and_no_temporary_file_is_left_behind() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("team-vault").join("srv");
        let store = FileStore::new(dir.clone());
        store.put("tokens", "secret").unwrap();
        store.put("tokens", "secret2").unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("team-vault")), 0o700);
        assert_eq!(mode(&dir.join("tokens.json")), 0o600);
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["tokens.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn a_private_file_has_mode_0600_from_creation_and_is_never_reused() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        let file = create_private_file(&path).unwrap();
        // Checked on the open handle, before anything was written or chmod-ed.
        assert_eq!(file.metadata().unwrap().permissions().mode() & 0o777, 0o600);
        assert!(
            create_private_file(&path).is_err(),
            "an existing file is never reused"
        );
    }

    #[test]
    fn a_reader_sees_the_old_or_the_new_value_never_a_torn_write() {
        let tmp = tempfile::tempdir().unwrap();
        let store = FileStore::new(tmp.path().to_path_buf());
        let (a, b) = ("a".repeat(256 * 1024), "b".repeat(256 * 1024));
        store.put("k", &a).unwrap();
        std::thread::scope(|s| {
            let writer = s.spawn(|| {
                for i in 0..40 {
                    store.put("k", if i % 2 == 0 { &b } else { &a }).unwrap();
                }
            });
            while !writer.is_finished() {
                let seen = store.get("k").unwrap().unwrap();
                assert!(seen == a || seen == b, "torn read of {} bytes", seen.len());
            }
        });
    }

    #[test]
    fn any_key_maps_to_a_safe_file_name() {
        assert_eq!(file_name("session-dev-3600"), "session-dev-3600");
        assert_eq!(file_name("../x/y"), "%2E.%2Fx%2Fy");
        assert_eq!(file_name(".hidden"), "%2Ehidden");
    }
}
