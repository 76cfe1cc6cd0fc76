//! `vault credential-process PROFILE [-d DURATION]`: the AWS SDKs' `credential_process` helper.

use clap::Parser;

use crate::command::export::{render, Format};
use crate::credentials;
use crate::duration::parse_duration_seconds;
use crate::globals::Globals;

/// Print credentials as the JSON document `credential_process` expects (Version 1).
///
/// In ~/.aws/config: `credential_process = vault credential-process dev`
#[derive(Debug, Parser)]
pub struct Cmd {
    /// The profile to assume (see `vault list`)
    profile: String,
    /// Session length, e.g. 1h or 900s (default: the profile's default)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration_seconds)]
    duration: Option<u32>,
}

impl Cmd {
    pub fn run(self, globals: &Globals) -> anyhow::Result<()> {
        let credentials = credentials::obtain(globals, &self.profile, self.duration)?;
        crate::output::print_out(&render(&credentials, Format::Json)?)
    }
}
