//! `vault-server`: parses arguments, sets up logging, and runs the library.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use vault_server::config::{Config, LogFormat};

#[derive(Parser)]
#[command(
    name = "vault-server",
    version,
    about = "team-vault server: audited AWS sessions for a team"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API.
    Serve {
        /// The TOML configuration file.
        #[arg(long, short, env = "VAULT_SERVER_CONFIG")]
        config: PathBuf,
    },
    /// Check a configuration file and report every problem with its key path.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(long, short, env = "VAULT_SERVER_CONFIG")]
        config: PathBuf,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::CheckConfig { config } => check(config),
    };
    if let Err(e) = result {
        eprintln!("Error: {e:#}");
        std::process::exit(1);
    }
}

fn check(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    println!(
        "{}: OK ({} profiles, IdP {})",
        path.display(),
        config.profiles.len(),
        config.oidc.issuer
    );
    Ok(())
}

async fn serve(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    init_tracing(config.log_format);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = vault_server::startup::Application::build(config, listener).await?;
    app.run_until(shutdown_signal()).await
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
