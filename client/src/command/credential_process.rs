//! `vault credential-process PROFILE [-d DURATION]`: the AWS SDKs' `credential_process` helper.

use clap::Parser;

use crate::command::export::{render, Format};
use crate::credentials::{self, ProfileArgs};
use crate::globals::Globals;

/// Print credentials as the JSON document `credential_process` expects (Version 1).
///
/// In ~/.aws/config: `credential_process = vault credential-process dev`
#[derive(Debug, Parser)]
pub struct Cmd {
    #[command(flatten)]
    pub(crate) target: ProfileArgs,
}

impl Cmd {
    pub fn run(self, globals: &Globals) -> anyhow::Result<()> {
        let credentials = credentials::obtain(globals, &self.target)?;
        crate::output::print_out(&render(&credentials, Format::Json)?)
    }
}
