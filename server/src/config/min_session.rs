//! `[aws] min_session`: the shortest session a profile may default to or a request may ask for.
//! AWS refuses `DurationSeconds` under 900; an emulator (moto) does not, so shorter values are
//! allowed only with `[aws] endpoint_url` set, which lets tests run sessions that last seconds.

use std::time::Duration;

use super::problems::Problems;

/// Shortest session STS itself issues.
pub const STS_MIN: Duration = Duration::from_secs(900);

/// The shortest session any request may ask for, never zero.
pub(super) fn validate(
    raw: Option<&str>,
    has_endpoint_url: bool,
    p: &mut Problems,
) -> Option<Duration> {
    let Some(text) = raw else {
        return Some(STS_MIN);
    };
    let min = p.duration("aws.min_session", text)?;
    if min.is_zero() {
        p.push("aws.min_session: must be at least 1s".into());
    } else if min < STS_MIN && !has_endpoint_url {
        p.push(format!(
            "aws.min_session: AWS issues sessions of at least 15m (900 seconds); `{text}` is allowed only with aws.endpoint_url set (an emulator)"
        ));
    }
    Some(min)
}
