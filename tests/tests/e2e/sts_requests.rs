//! What STS actually receives: the AssumeRole request itself, recorded on its way to moto by a
//! [`RoleIssuer`] wrapping the real client, carries the session name, `SourceIdentity` and
//! session tags the audit row says it did, for a person and for a CI job.

use async_trait::async_trait;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use vault_e2e::ci_issuer::{CiIssuer, REF, REPOSITORY};
use vault_e2e::{Cli, TestApp, TestAppBuilder};
use vault_server::config::AwsConfig;
use vault_server::sts::{AssumeRequest, AwsSts, IssuedCredentials, RoleIssuer, StsError};

/// The real STS client (pointed at moto), recording every request before passing it on.
struct Recording {
    inner: AwsSts,
    seen: Mutex<Vec<AssumeRequest>>,
}

#[async_trait]
impl RoleIssuer for Recording {
    async fn assume_role(&self, request: AssumeRequest) -> Result<IssuedCredentials, StsError> {
        self.seen.lock().expect("lock").push(request.clone());
        self.inner.assume_role(request).await
    }
}

impl Recording {
    /// An STS client for this test bed's moto, as the server's `[aws]` section would build it.
    async fn for_moto() -> Arc<Recording> {
        let aws = AwsConfig {
            region: "us-east-1".into(),
            endpoint_url: Some(url::Url::parse(&vault_e2e::env::TestEnv::get().moto_url).unwrap()),
            static_credentials: Some(("testing".into(), "testing".to_owned().into())),
            identity: None,
            min_session: vault_server::config::STS_MIN,
        };
        Arc::new(Recording {
            inner: AwsSts::new(&aws, None::<aws_sdk_sts::config::Credentials>).await,
            seen: Mutex::new(Vec::new()),
        })
    }

    /// The one request received so far.
    fn only(&self) -> AssumeRequest {
        let seen = self.seen.lock().expect("lock");
        assert_eq!(seen.len(), 1, "one AssumeRole call: {seen:#?}");
        seen[0].clone()
    }
}

fn tag<'a>(request: &'a AssumeRequest, key: &str) -> Option<&'a str> {
    request
        .tags
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// Asserts the request STS got matches the audit row and the role the profile names.
fn assert_matches_audit(request: &AssumeRequest, row: &Value, role_arn: &str) {
    assert_eq!(request.role_arn, role_arn);
    assert_eq!(row["role_arn"], role_arn, "{row:#}");
    assert_eq!(
        row["session_name"],
        request.session_name.as_str(),
        "{row:#}"
    );
    assert_eq!(
        row["source_identity"],
        request.source_identity.as_str(),
        "{row:#}"
    );
    assert_eq!(
        request.source_identity, request.session_name,
        "SourceIdentity is the session's stable name"
    );
    assert_eq!(
        tag(request, "vault-request-id"),
        row["request_id"].as_str(),
        "the request id tag names the audited request: {request:#?}"
    );
    assert_eq!(
        i64::try_from(request.duration.as_secs()).ok(),
        row["duration_seconds"].as_i64(),
        "{row:#}"
    );
}

async fn spawn(builder: TestAppBuilder) -> (TestApp, Arc<Recording>) {
    let sts = Recording::for_moto().await;
    let app = builder.sts(sts.clone()).spawn().await;
    (app, sts)
}

#[tokio::test]
async fn sts_receives_the_persons_source_identity_and_session_tags() {
    let (app, sts) = spawn(TestApp::builder()).await;
    let oauth = app.oauth();
    let alice = oauth.login("alice").await.access_token;
    let creds = oauth.credentials(&alice, "dev").await;

    let request = sts.only();
    assert_eq!(request.session_name, "alice@example.com");
    assert_eq!(request.source_identity, "alice@example.com");
    assert_eq!(tag(&request, "vault-principal"), Some("alice@example.com"));
    assert_eq!(tag(&request, "vault-principal-kind"), Some("user"));
    let rows = app.audit_rows_for("credentials_issue").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["access_key_id"], creds.access_key_id.as_str());
    assert_matches_audit(&request, &rows[0], &app.role_arn("dev"));
    // And moto, behind the recorder, named the session so.
    let arn = app.cli().caller_identity_with(&creds).await;
    assert!(
        arn.ends_with(&format!("/{}", request.session_name)),
        "{arn}"
    );
}

#[tokio::test]
async fn sts_receives_a_ci_jobs_source_identity_and_repository_and_ref_tags() {
    let issuer = CiIssuer::start().await;
    let (app, sts) = spawn(issuer.app_builder()).await;
    let access = app
        .ci_exchange(&issuer.mint(json!({})))
        .await
        .access_token();
    let creds = app.oauth().credentials(&access, "deploy").await;

    let request = sts.only();
    assert!(
        request.session_name.starts_with("gha-") && request.session_name.contains(issuer.run_id()),
        "the session is named after the job and its run: {request:#?}"
    );
    assert_eq!(tag(&request, "vault-repository"), Some(REPOSITORY));
    assert_eq!(tag(&request, "vault-ref"), Some(REF));
    assert_eq!(tag(&request, "vault-principal-kind"), Some("ci"));
    let rows = app.audit_rows_for("credentials_issue").await;
    assert_eq!(rows.len(), 1, "{rows:#?}");
    assert_eq!(rows[0]["access_key_id"], creds.access_key_id.as_str());
    assert_matches_audit(&request, &rows[0], &app.role_arn("deploy"));
    let mut cli = Cli::new(&app.url);
    cli.moto_url = app.moto_url.clone();
    let arn = cli.caller_identity_with(&creds).await;
    assert!(
        arn.ends_with(&format!("/{}", request.session_name)),
        "{arn}"
    );
}
