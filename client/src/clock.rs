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
