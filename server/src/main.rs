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
    /// Manage the IAM keys the server owns.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Store an identity's first key (from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, else stdin:
    /// the access key id and the secret on two lines), sealed under VAULT_MASTER_KEY.
    Import {
        /// The TOML configuration file.
        #[arg(long, short, env = "VAULT_SERVER_CONFIG")]
        config: PathBuf,
        /// The `[[identities]]` name.
        #[arg(long)]
        identity: String,
        /// Replace an identity's existing active key.
        #[arg(long)]
        replace: bool,
    },
    /// Re-seal every stored key under VAULT_MASTER_KEY; the old master key comes from
    /// VAULT_OLD_MASTER_KEY or VAULT_OLD_MASTER_KEY_FILE.
    Rewrap {
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
        Command::Keys { command } => keys(command).await,
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

async fn keys(command: KeysCommand) -> anyhow::Result<()> {
    use vault_server::keys::{import, seal::MasterKey};
    match command {
        KeysCommand::Import {
            config,
            identity,
            replace,
        } => {
            let config = Config::load(&config)?;
            let id = config
                .identities
                .iter()
                .find(|i| i.name == identity)
                .with_context(|| format!("no [[identities]] entry is named `{identity}`"))?;
            let master = MasterKey::from_env()?;
            let (key_id, secret) = read_key()?;
            let pool = vault_server::db::connect(&config).await?;
            let now = vault_server::clock::now();
            import::import(&pool, &master, id, &key_id, &secret, replace, now).await?;
            println!(
                "imported {} as the active key of `{identity}` (sealed under master key {})",
                vault_server::keys::mask(&key_id),
                master.id()
            );
        }
        KeysCommand::Rewrap { config } => {
            let config = Config::load(&config)?;
            let new = MasterKey::from_env()?;
            let old = MasterKey::from_vars("VAULT_OLD_MASTER_KEY", "VAULT_OLD_MASTER_KEY_FILE")
                .context(
                    "the old master key (VAULT_OLD_MASTER_KEY or VAULT_OLD_MASTER_KEY_FILE)",
                )?;
            let pool = vault_server::db::connect(&config).await?;
            let n = import::rewrap(&pool, &old, &new, vault_server::clock::now()).await?;
            println!(
                "re-sealed {n} keys from master key {} to {}",
                old.id(),
                new.id()
            );
        }
    }
    Ok(())
}

/// The key to import: from the environment, else two lines on stdin.
fn read_key() -> anyhow::Result<(String, secrecy::SecretString)> {
    if let (Ok(id), Ok(secret)) = (
        std::env::var("AWS_ACCESS_KEY_ID"),
        std::env::var("AWS_SECRET_ACCESS_KEY"),
    ) {
        return Ok((id, secret.into()));
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
        .context("reading the key from stdin")?;
    let mut words = text.split_whitespace();
    match (words.next(), words.next()) {
        (Some(id), Some(secret)) => Ok((id.to_owned(), secret.to_owned().into())),
        _ => anyhow::bail!("give the access key id and the secret on stdin (two lines), or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
    }
}

async fn serve(path: PathBuf) -> anyhow::Result<()> {
    let config = Config::load(&path)?;
    init_tracing(config.log_format);
    // Listened for from the start: a SIGTERM during startup or before the first poll of the
    // serve loop still shuts down gracefully instead of killing the process.
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let app = vault_server::startup::Application::build(config, listener).await?;
    app.run_until(shutdown).await
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

/// A future that resolves on SIGTERM or Ctrl-C; the handlers are installed now.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot listen for SIGTERM")?;
    let ctrl_c = tokio::signal::ctrl_c();
    Ok(async move {
        #[cfg(unix)]
        let term = async {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            () = term => {},
        }
        tracing::info!("shutting down");
    })
}
