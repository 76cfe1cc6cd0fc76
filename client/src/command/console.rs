//! `vault console PROFILE`: sign in to the AWS console as a profile's role, in the browser (or
//! print the sign-in URL). The URL is a credential: it is printed only when asked for, on stdout.

use clap::Parser;
use vault_api::console::{ConsoleLogin, ConsoleRequest};

use crate::auth::Authenticator;
use crate::config::ServerUrl;
use crate::duration::parse_duration_seconds;
use crate::error::UserError;
use crate::http::{ApiError, Http};
use crate::store::Store;

/// Open the AWS console as a profile's role (a sign-in URL from the server).
#[derive(Debug, Parser)]
pub struct Cmd {
    /// The profile to sign in as (see `vault list`)
    #[arg(add = crate::completion::profile_names())]
    pub profile: String,
    /// Console session length, e.g. 1h or 900s (default: the profile's default)
    #[arg(short, long, value_name = "DURATION", value_parser = parse_duration_seconds)]
    pub duration: Option<u32>,
    /// The console's region (default: the profile's)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Land on this service's console: s3, ec2, iam, cloudwatch, lambda, logs, … (a wrong name lists them)
    #[arg(long, value_name = "NAME", conflicts_with = "destination")]
    pub service: Option<String>,
    /// Land on this console URL (https, on the console's domain)
    #[arg(long, value_name = "URL")]
    pub destination: Option<String>,
    /// Print the sign-in URL on stdout instead of opening a browser
    #[arg(long)]
    pub stdout: bool,
}

impl Cmd {
    pub async fn run(self, server: ServerUrl, store: Store) -> anyhow::Result<()> {
        let http = Http::new(&server)?;
        let request = ConsoleRequest {
            profile: self.profile.clone(),
            duration_seconds: self.duration,
            region: self.region.clone(),
            service: self.service.clone(),
            destination: self.destination.clone(),
        };
        let login: ConsoleLogin = Authenticator::new(&http, &store)
            .post_json("v1/console", &request)
            .await
            .map_err(|e| explain(e, &self.profile))?;
        if self.stdout {
            eprintln!(
                "Whoever opens this URL within 15 minutes is signed in as `{}` until {}; keep it to yourself.",
                self.profile, login.expires_at
            );
            return crate::output::print_out(&format!("{}\n", login.url));
        }
        crate::opener::open(&login.url).map_err(|e| {
            UserError::wrap("could not open a browser", e).hint(format!(
                "set BROWSER to your browser's command, or run `vault console {} --stdout` to print the sign-in URL",
                self.profile
            ))
        })?;
        eprintln!(
            "Opened the AWS console as `{}` in your browser; the session ends at {}.",
            self.profile, login.expires_at
        );
        Ok(())
    }
}

/// Says why the server gave no sign-in URL, in terms of what to do about it.
fn explain(err: anyhow::Error, profile: &str) -> anyhow::Error {
    let (message, hint) = match err.downcast_ref::<ApiError>() {
        Some(ApiError::Forbidden { message }) => (
            message,
            format!("`vault list` shows the profiles you may use; ask an admin if you need `{profile}`"),
        ),
        Some(ApiError::Status { status: 404, message, .. }) => {
            (message, "`vault list` shows the profiles you may use".to_owned())
        }
        Some(ApiError::Status { status: 400, message, .. }) => (
            message,
            "--service takes one of the consoles named above; --destination an https URL on the console's domain".to_owned(),
        ),
        Some(ApiError::Status { status: 502, message, .. }) => (
            message,
            "the server could not get a sign-in token from AWS; try again, and if it persists ask an admin to look at the server's log".to_owned(),
        ),
        _ => return err,
    };
    UserError::new(message.clone()).hint(hint).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_and_a_destination_are_not_taken_together() {
        let cmd = Cmd::try_parse_from([
            "console",
            "dev",
            "-d",
            "30m",
            "--region",
            "eu-west-1",
            "--service",
            "s3",
            "--stdout",
        ])
        .unwrap();
        assert_eq!(cmd.duration, Some(1800));
        assert_eq!(cmd.service.as_deref(), Some("s3"));
        assert!(cmd.stdout);
        let err = Cmd::try_parse_from([
            "console",
            "dev",
            "--service",
            "s3",
            "--destination",
            "https://console.aws.amazon.com/",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn a_denied_profile_reads_as_the_servers_reason_with_a_hint() {
        let err: anyhow::Error = ApiError::Forbidden {
            message: "alice may not assume `ops`".into(),
        }
        .into();
        let err = explain(err, "ops");
        assert_eq!(crate::error::one_line(&err), "alice may not assume `ops`");
        let hint = crate::error::hint(&err, &[]).unwrap();
        assert!(
            hint.contains("`vault list`") && hint.contains("`ops`"),
            "{hint}"
        );
    }
}
