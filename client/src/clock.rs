//! The one clock: everything else takes the time as a parameter (`clippy.toml` holds the rest of
//! the crate to that).

use time::OffsetDateTime;

/// Now.
#[allow(clippy::disallowed_methods)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Now, in Unix seconds.
pub fn now_unix() -> i64 {
    now().unix_timestamp()
}

/// Now, in Unix milliseconds (the credential endpoints' refresh schedule).
pub fn now_millis() -> i64 {
    i64::try_from(now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}
