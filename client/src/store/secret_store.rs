//! What a backend of the store does: get, put and delete secret text by key.

/// A small key → secret text store, scoped to one server.
pub trait SecretStore: Send + Sync {
    /// The value under `key`, or `None` when there is none.
    fn get(&self, key: &str) -> anyhow::Result<Option<String>>;
    /// Replaces the value under `key` atomically: a reader sees the old or the new value, never half.
    fn put(&self, key: &str, value: &str) -> anyhow::Result<()>;
    /// Removes `key`; removing a missing key succeeds.
    fn delete(&self, key: &str) -> anyhow::Result<()>;
}
