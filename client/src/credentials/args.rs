//! The arguments every credential command shares: the profile, the session length and, in a CI
//! job, where the job's OIDC token comes from.

use crate::auth::ci::CiFlags;
use crate::duration::parse_duration_seconds;

/// `PROFILE [-d DURATION] [--ci-token-file F | --ci-token-env VAR] [--ci-audience AUD]`.
#[derive(Debug, Clone, clap::Args)]
pub struct ProfileArgs {
    /// The profile to assume (see `vault list`)
    #[arg(add = crate::completion::profile_names())]
    pub profile: String,
    /// Session length, e.g. 1h or 900s (default: the profile's default)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration_seconds)]
    pub duration: Option<u32>,
    /// Where a CI job's OIDC token comes from.
    #[command(flatten)]
    pub ci: CiFlags,
}
