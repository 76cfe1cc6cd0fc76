//! `vault serve PROFILE [--ecs | --ec2] [--listen ADDR] [-d DURATION]`: a long-lived credential
//! endpoint for other processes and containers, kept fresh until SIGINT or SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;

use crate::credentials::{ProfileArgs, Source};
use crate::endpoint::{self, Kind};
use crate::error::UserError;
use crate::globals::Globals;

/// Serve a profile's credentials on a local endpoint (ECS by default) until interrupted.
#[derive(Debug, Parser)]
#[command(group(clap::ArgGroup::new("kind").args(["ecs", "ec2"])))]
pub struct Cmd {
    #[command(flatten)]
    pub(crate) target: ProfileArgs,
    /// A container credential endpoint (the default)
    #[arg(long)]
    pub(crate) ecs: bool,
    /// An IMDSv2 endpoint (loopback only)
    #[arg(long)]
    pub(crate) ec2: bool,
    /// Where to listen; beyond loopback only when given (with a warning)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub(crate) listen: SocketAddr,
}

impl Cmd {
    /// Prints the variables to use, then serves until SIGINT or SIGTERM (exit 0).
    pub fn run(self, globals: &Globals) -> anyhow::Result<ExitCode> {
        let kind = if self.ec2 { Kind::Ec2 } else { Kind::Ecs };
        check_listen(kind, self.listen)?;
        let source = Source::detect(globals, &self.target.ci)?;
        // Before the runtime: a cache miss starts a runtime of its own.
        let first = source.obtain(&self.target.profile, self.target.duration)?;
        let fetch = endpoint::FromServer {
            source,
            profile: self.target.profile.clone(),
            duration: self.target.duration,
        };
        crate::runtime::single_threaded()?.block_on(async {
            let region = endpoint::region_of(&first);
            let served = endpoint::launch(
                kind,
                self.listen,
                &self.target.profile,
                &region,
                &first,
                fetch,
            )
            .await?;
            let mut out = std::io::stdout().lock();
            out.write_all(shell_lines(kind, &served.url, served.token.as_deref()).as_bytes())?;
            out.flush()?;
            drop(out);
            until_stopped().await?;
            served.stop().await;
            Ok(ExitCode::SUCCESS)
        })
    }
}

/// Refuses IMDS beyond loopback (its clients cannot send a token) and warns of ECS there.
fn check_listen(kind: Kind, listen: SocketAddr) -> anyhow::Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    if kind == Kind::Ec2 {
        return Err(UserError::new(format!(
            "refusing to serve IMDS on {listen}: its clients cannot send a token"
        ))
        .hint("listen on 127.0.0.1 (the default), or use --ecs, whose clients send one")
        .into());
    }
    eprintln!(
        "warning: serving credentials beyond loopback on {listen}: whoever reaches it with the token gets them"
    );
    Ok(())
}

/// The shell lines to use the endpoint, then a `docker run` line as a comment.
fn shell_lines(kind: Kind, url: &str, token: Option<&str>) -> String {
    let vars = match (kind, token) {
        (Kind::Ecs, Some(token)) => vec![
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", url),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", token),
        ],
        _ => vec![("AWS_EC2_METADATA_SERVICE_ENDPOINT", url)],
    };
    let mut text = String::new();
    let mut docker = String::from("# docker run --network host");
    for (name, value) in vars {
        text.push_str(&format!("export {name}={value}\n"));
        docker.push_str(&format!(" -e {name}={value}"));
    }
    text.push_str(&docker);
    text.push_str(" IMAGE\n");
    text
}

/// Completes at SIGINT or (Unix) SIGTERM.
async fn until_stopped() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_prints_the_ecs_exports_and_a_docker_line() {
        let text = shell_lines(Kind::Ecs, "http://127.0.0.1:9/p", Some("t0k"));
        assert_eq!(
            text,
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/p\n\
             export AWS_CONTAINER_AUTHORIZATION_TOKEN=t0k\n\
             # docker run --network host -e AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9/p \
             -e AWS_CONTAINER_AUTHORIZATION_TOKEN=t0k IMAGE\n"
        );
    }

    #[test]
    fn serve_prints_the_imds_endpoint_for_ec2() {
        let text = shell_lines(Kind::Ec2, "http://127.0.0.1:9/", None);
        assert_eq!(
            text,
            "export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/\n\
             # docker run --network host -e AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:9/ IMAGE\n"
        );
    }

    #[test]
    fn imds_is_refused_beyond_loopback_and_ecs_is_allowed_there() {
        let wide: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let err = check_listen(Kind::Ec2, wide).unwrap_err();
        assert!(err.to_string().contains("cannot send a token"), "{err}");
        assert!(check_listen(Kind::Ecs, wide).is_ok());
        assert!(check_listen(Kind::Ec2, "127.0.0.1:0".parse().unwrap()).is_ok());
        assert!(check_listen(Kind::Ec2, "[::1]:0".parse().unwrap()).is_ok());
    }
}
