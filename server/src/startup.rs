//! Building the application around a bound listener, and running it until shutdown.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context;
use sqlx::postgres::PgListener;
use tokio::net::TcpListener;
use url::Url;

use crate::{
    audit::AuditEvent,
    ci::{jwks::JwksCache, reuse::CredentialReuse},
    clock,
    config::Config,
    db,
    keys::{seal::MasterKey, seal::SealError, OwnedKeys},
    oidc::Upstream,
    routes, serve,
    sessions::SessionCache,
    state::{AppState, Inner},
    sts::{AwsSts, RoleIssuer},
    tokens::TokenService,
    trail::writer::AuditWriter,
};

/// A server ready to serve on its listener.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    /// Revocation notices, heard from before the first request (see `sessions`).
    revocations: Option<PgListener>,
}

impl Application {
    /// Connects to Postgres, applies migrations and prepares keys, STS and the IdP client.
    pub async fn build(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_with_sts(config, listener, None).await
    }

    /// As [`Application::build`], with `sts` answering AssumeRole instead of AWS when given
    /// (a benchmark's stand-in for an STS faster than any emulator).
    pub async fn build_with_sts(
        config: Config,
        listener: TcpListener,
        sts: Option<Arc<dyn RoleIssuer>>,
    ) -> anyhow::Result<Self> {
        Self::build_with(config, listener, sts, None).await
    }

    /// As [`Application::build_with_sts`], sealing the IdP's tokens with `upstream_seal` when
    /// given instead of the master key from the environment (tests run servers in one process).
    pub async fn build_with(
        config: Config,
        listener: TcpListener,
        sts: Option<Arc<dyn RoleIssuer>>,
        upstream_seal: Option<MasterKey>,
    ) -> anyhow::Result<Self> {
        let addr = listener.local_addr().context("listener has no address")?;
        let public_url = match &config.public_url {
            Some(url) => url.clone(),
            None => Url::parse(&format!("http://{addr}")).context("bound address is not a URL")?,
        };
        let pool = db::connect(&config).await?;
        let now = clock::now();
        let issuer = public_url.as_str().trim_end_matches('/').to_owned();
        let tokens = TokenService::start(pool.clone(), issuer, config.access_token_ttl, now)
            .await
            .context("cannot publish the token signing key")?;
        let callback = public_url.join("/oauth/callback").context("public_url")?;
        let audit = AuditWriter::start(pool.clone());
        let owned = OwnedKeys::start(&config, &pool, &audit).await?;
        let upstream = Upstream::new(
            config.oidc.clone(),
            callback,
            upstream_seal.or_else(upstream_seal_from_env),
        );
        let provider = config
            .sts_identity()
            .zip(owned.as_ref())
            .map(|(identity, owned)| owned.active.provider(&identity.name));
        let kill_switch = crate::revocations::start(&config, &pool, owned.as_ref()).await;
        let sts: Arc<dyn RoleIssuer> = match sts {
            Some(sts) => sts,
            None => Arc::new(AwsSts::new(&config.aws, provider).await),
        };
        let ci_keys = JwksCache::new(&config.ci_issuers);
        let sessions = SessionCache::new(config.session_cache_ttl);
        let ci_credentials = Arc::new(CredentialReuse::default());
        let reuse = ci_credentials.clone();
        sessions.on_principal_revoked(Arc::new(move |principal| reuse.forget(principal)));
        let revocations = sessions.listen(&pool).await;
        let limits = crate::limits::Limits::new(&config.limits);
        let federation = crate::console::federation::Federation::new(&config.console);
        let state = AppState::new(Inner {
            audit,
            config,
            public_url,
            db: pool,
            tokens,
            sessions,
            upstream,
            sts,
            ci_keys,
            ci_credentials,
            owned,
            limits,
            revocations: kill_switch,
            federation,
        });
        db::audit::append_one(&state.db, &AuditEvent::system("server_start", now))
            .await
            .context("cannot write the audit trail")?;
        Ok(Application {
            listener,
            state,
            revocations,
        })
    }

    /// The address the server is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    /// The URL clients use (public_url, else `http://<bound address>`), without a trailing slash.
    pub fn url(&self) -> String {
        self.state.url("")
    }

    /// Serves until `shutdown` completes, then finishes in-flight requests (within
    /// `[http].shutdown_grace`) and records the stop.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let state = self.state.clone();
        let maintenance = tokio::spawn(maintain(state.clone()));
        let upkeep = tokio::spawn(crate::upkeep::run(state.clone()));
        let summary = tokio::spawn(crate::limits::summarize(
            state.limits.clone(),
            state.audit.clone(),
        ));
        let mut background = vec![tokio::spawn(
            state
                .sessions
                .clone()
                .follow(state.db.clone(), self.revocations),
        )];
        if let Some(owned) = &state.owned {
            background.push(tokio::spawn(owned.active.clone().follow(state.db.clone())));
            background.push(tokio::spawn(crate::keys::leader::lead(
                state.db.clone(),
                owned.rotators.clone(),
                owned.wake.clone(),
                state.config.key_check_interval,
            )));
        }
        background.push(tokio::spawn(crate::revocations::worker::run(
            state.db.clone(),
            state.revocations.applier.clone(),
            state.revocations.wake.clone(),
        )));
        let retention = state
            .config
            .audit
            .retention
            .map(|keep| tokio::spawn(prune(state.clone(), keep)));
        tracing::info!("listening on {}", state.url(""));
        let router = routes::router(state.clone());
        let drained = serve::serve(self.listener, router, &state.config.http, shutdown).await;
        if drained == serve::Drained::Cut {
            tracing::warn!(
                grace = ?state.config.http.shutdown_grace,
                "requests still in flight when the shutdown grace ran out were cut"
            );
        }
        maintenance.abort();
        upkeep.abort();
        state.limits.stop();
        let _ = summary.await;
        for task in background {
            task.abort();
        }
        if let Some(task) = retention {
            task.abort();
        }
        if let Err(e) = state.tokens.retire(clock::now()).await {
            tracing::warn!(error = %e, "could not retire the signing key");
        }
        if let Err(e) =
            db::audit::append_one(&state.db, &AuditEvent::system("server_stop", clock::now())).await
        {
            tracing::warn!(error = %e, "could not record server_stop");
        }
        state.db.close().await;
        Ok(())
    }
}

/// Periodic upkeep: a fresh signing key each day (expired rows: `crate::upkeep`).
async fn maintain(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        if let Err(e) = state.tokens.rotate_if_due(clock::now()).await {
            tracing::warn!(error = %e, "signing key rotation failed; will retry");
        }
    }
}

/// Prunes the audit trail to its retention period, every `prune_interval`.
async fn prune(state: AppState, keep: Duration) {
    let mut tick = tokio::time::interval(state.config.audit.prune_interval);
    loop {
        tick.tick().await;
        match crate::trail::retention::prune_once(&state.db, keep, clock::now()).await {
            Ok(Some(p)) => tracing::info!(
                pruned = p.pruned,
                cut_seq = p.cut_seq,
                "audit retention applied"
            ),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "audit retention failed; will retry"),
        }
    }
}

/// The master key that seals the IdP's tokens, when one is configured. Without it no IdP token
/// is kept, so a login's groups cannot be read again and the login ends at `membership_ttl`.
fn upstream_seal_from_env() -> Option<MasterKey> {
    match MasterKey::from_env() {
        Ok(key) => Some(key),
        Err(SealError::NoMasterKey) => None,
        Err(e) => {
            tracing::warn!(error = %e, "master key unusable; the identity provider's tokens are not kept");
            None
        }
    }
}
