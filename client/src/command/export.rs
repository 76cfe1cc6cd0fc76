//! `vault export PROFILE --format env|json|ini`: print a profile's credentials for other tools.

use clap::{Parser, ValueEnum};

use crate::credentials::{self, CachedCredentials, ProfileArgs};
use crate::env::credential_vars;
use crate::globals::Globals;

/// Print a profile's AWS credentials in a format other tools read.
#[derive(Debug, Parser)]
pub struct Cmd {
    #[command(flatten)]
    pub(crate) target: ProfileArgs,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Env)]
    format: Format,
}

/// How `export` prints credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// `KEY=value` lines (for `.env` files and `docker --env-file`)
    Env,
    /// The `credential_process` JSON document
    Json,
    /// A section for `~/.aws/credentials`
    Ini,
}

impl Cmd {
    pub fn run(self, globals: &Globals) -> anyhow::Result<()> {
        let credentials = credentials::obtain(globals, &self.target)?;
        crate::output::print_out(&render(&credentials, self.format)?)
    }
}

/// The credentials in `format`, ending with a newline.
pub fn render(cached: &CachedCredentials, format: Format) -> anyhow::Result<String> {
    Ok(match format {
        Format::Env => credential_vars(cached)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect(),
        Format::Json => format!("{}\n", serde_json::to_string(&cached.credentials)?),
        Format::Ini => {
            let c = &cached.credentials;
            let mut out = format!(
                "[{}]\naws_access_key_id={}\naws_secret_access_key={}\naws_session_token={}\n",
                cached.profile, c.access_key_id, c.secret_access_key, c.session_token
            );
            if let Some(region) = &cached.region {
                out.push_str(&format!("region={region}\n"));
            }
            out
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::cache::test_credentials;

    #[test]
    fn env_format_prints_one_variable_per_line() {
        let out = render(
            &test_credentials("dev", "2030-01-01T00:00:00Z"),
            Format::Env,
        )
        .unwrap();
        assert_eq!(
            out,
            "AWS_ACCESS_KEY_ID=ASIATEST\nAWS_SECRET_ACCESS_KEY=secret\nAWS_SESSION_TOKEN=token\n\
             AWS_CREDENTIAL_EXPIRATION=2030-01-01T00:00:00Z\nAWS_REGION=eu-west-1\n\
             AWS_DEFAULT_REGION=eu-west-1\n"
        );
    }

    #[test]
    fn json_format_is_the_credential_process_document() {
        let out = render(
            &test_credentials("dev", "2030-01-01T00:00:00Z"),
            Format::Json,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["Version"], 1);
        assert_eq!(v["AccessKeyId"], "ASIATEST");
        assert_eq!(v["SessionToken"], "token");
        assert_eq!(v["Expiration"], "2030-01-01T00:00:00Z");
    }

    #[test]
    fn ini_format_is_a_credentials_file_section_named_after_the_profile() {
        let out = render(
            &test_credentials("dev", "2030-01-01T00:00:00Z"),
            Format::Ini,
        )
        .unwrap();
        assert_eq!(
            out,
            "[dev]\naws_access_key_id=ASIATEST\naws_secret_access_key=secret\n\
             aws_session_token=token\nregion=eu-west-1\n"
        );
    }
}
