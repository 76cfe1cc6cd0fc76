//! The one place the server reads the wall clock; everything else takes `now` as a parameter.

use time::OffsetDateTime;

/// The current UTC time.
#[allow(clippy::disallowed_methods)]
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
