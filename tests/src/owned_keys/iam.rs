//! The AWS side of owned-key tests: a private moto whose IAM holds the broker's user, an
//! inspector user the test reads IAM with once signature checking is on, and the profile roles
//! with trust policies naming the broker explicitly (moto with auth on does not accept `:root`).

use crate::moto::OwnMoto;
use anyhow::{anyhow, Context, Result};
use aws_config::BehaviorVersion;
use aws_sdk_iam::config::{Credentials, Region};
use aws_sdk_iam::types::StatusType;
use serde_json::json;

/// moto's default account: the private moto of one test holds nothing else.
pub const ACCOUNT_ID: &str = "123456789012";
/// The broker's IAM user (`[[identities]] iam_user`).
pub const BROKER_USER: &str = "team-vault-broker";
/// A user of the test's own, with `iam:*`, to read and change IAM while auth is on.
pub const INSPECTOR_USER: &str = "e2e-inspector";
/// The broker's inline policy name.
pub const BROKER_POLICY: &str = "broker";

/// An access key id and its secret.
#[derive(Clone)]
pub struct AccessKey {
    pub id: String,
    pub secret: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccessKey({})", self.id)
    }
}

/// One key as `ListAccessKeys` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedKey {
    pub id: String,
    pub active: bool,
}

/// What the broker may do: everything it needs (and more), unless a test adds a Deny.
pub fn broker_policy(deny: &[&str]) -> String {
    let mut statements = vec![json!({
        "Effect": "Allow",
        "Action": ["iam:*", "sts:*"],
        "Resource": "*"
    })];
    if !deny.is_empty() {
        statements.push(json!({"Effect": "Deny", "Action": deny, "Resource": "*"}));
    }
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// `arn:aws:iam::<account>:user/<broker>`.
pub fn broker_arn() -> String {
    format!("arn:aws:iam::{ACCOUNT_ID}:user/{BROKER_USER}")
}

async fn sdk(moto_url: &str, key: &AccessKey) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto_url)
        .credentials_provider(Credentials::new(&key.id, &key.secret, None, None, "e2e"))
        .load()
        .await
}

/// `code: message` of an SDK error. moto nests its signature and permission refusals in
/// `<Errors>`, which the Rust SDK does not parse: then the code is read from the body.
fn describe<E: aws_sdk_iam::error::ProvideErrorMetadata + std::fmt::Debug>(
    e: &aws_sdk_iam::error::SdkError<E>,
) -> String {
    let tag = |body: &str, name: &str| -> Option<String> {
        let (_, rest) = body.split_once(&format!("<{name}>"))?;
        Some(rest.split_once(&format!("</{name}>"))?.0.to_owned())
    };
    match e.as_service_error() {
        Some(s) if s.code().is_some() => format!(
            "{}: {}",
            s.code().unwrap_or("Error"),
            s.message().unwrap_or_default()
        ),
        Some(_) => {
            let raw = e.raw_response();
            let body = raw
                .and_then(|r| r.body().bytes())
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            format!(
                "{}: {} (HTTP {})",
                tag(&body, "Code").unwrap_or_else(|| "Error".into()),
                tag(&body, "Message").unwrap_or(body.clone()),
                raw.map_or(0, |r| r.status().as_u16())
            )
        }
        None => format!("{e:?}"),
    }
}

/// IAM and STS clients on one moto, signed with one key.
pub struct MotoIam {
    pub moto_url: String,
    iam: aws_sdk_iam::Client,
}

impl MotoIam {
    pub async fn new(moto_url: &str, key: &AccessKey) -> Self {
        MotoIam {
            moto_url: moto_url.to_owned(),
            iam: aws_sdk_iam::Client::new(&sdk(moto_url, key).await),
        }
    }

    /// The broker's keys as IAM lists them.
    pub async fn broker_keys(&self) -> Vec<ListedKey> {
        let out = self
            .iam
            .list_access_keys()
            .user_name(BROKER_USER)
            .send()
            .await
            .unwrap_or_else(|e| panic!("ListAccessKeys {BROKER_USER}: {}", describe(&e)));
        out.access_key_metadata
            .into_iter()
            .map(|k| ListedKey {
                id: k.access_key_id.unwrap_or_default(),
                active: k.status == Some(StatusType::Active),
            })
            .collect()
    }

    /// A role's inline policy `name`, decoded, or `None` when the role has none of that name.
    pub async fn role_policy(&self, role: &str, name: &str) -> Option<String> {
        match self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
        {
            Ok(out) => Some(
                percent_encoding::percent_decode_str(&out.policy_document)
                    .decode_utf8_lossy()
                    .into_owned(),
            ),
            Err(e) if describe(&e).contains("NoSuchEntity") => None,
            Err(e) => panic!("GetRolePolicy {role} {name}: {}", describe(&e)),
        }
    }

    /// Replaces the broker's inline policy.
    pub async fn set_broker_policy(&self, document: &str) {
        self.iam
            .put_user_policy()
            .user_name(BROKER_USER)
            .policy_name(BROKER_POLICY)
            .policy_document(document)
            .send()
            .await
            .unwrap_or_else(|e| panic!("PutUserPolicy {BROKER_USER}: {}", describe(&e)));
    }

    async fn create_user(&self, user: &str, policy: &str) -> Result<AccessKey> {
        let what = |op: &str| format!("{op} {user}");
        self.iam
            .create_user()
            .user_name(user)
            .send()
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| what("CreateUser"))?;
        self.iam
            .put_user_policy()
            .user_name(user)
            .policy_name(BROKER_POLICY)
            .policy_document(policy)
            .send()
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| what("PutUserPolicy"))?;
        let key = self
            .iam
            .create_access_key()
            .user_name(user)
            .send()
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| what("CreateAccessKey"))?
            .access_key
            .ok_or_else(|| anyhow!("CreateAccessKey {user} returned no key"))?;
        Ok(AccessKey {
            id: key.access_key_id,
            secret: key.secret_access_key,
        })
    }

    async fn create_role(&self, role: &str) -> Result<()> {
        let trust = json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": broker_arn()},
                "Action": ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
            }]
        });
        self.iam
            .create_role()
            .role_name(role)
            .assume_role_policy_document(trust.to_string())
            .send()
            .await
            .map_err(|e| anyhow!(describe(&e)))
            .with_context(|| format!("CreateRole {role}"))?;
        Ok(())
    }
}

/// `sts:GetCallerIdentity` signed with `key`: the caller's ARN, or the refusal.
pub async fn caller_identity(moto_url: &str, key: &AccessKey) -> Result<String, String> {
    let client = aws_sdk_sts::Client::new(&sdk(moto_url, key).await);
    match client.get_caller_identity().send().await {
        Ok(out) => Ok(out.arn.unwrap_or_default()),
        Err(e) => Err(describe(&e)),
    }
}

/// Turns moto's signature checking on (`true`) or off.
pub async fn set_auth(moto_url: &str, on: bool) {
    let resp = crate::app::http_client()
        .post(format!("{moto_url}/moto-api/reset-auth"))
        .header("Content-Type", "text/plain")
        .body(if on { "0" } else { "inf" })
        .send()
        .await
        .expect("POST /moto-api/reset-auth");
    assert!(
        resp.status().is_success(),
        "moto refused reset-auth: {}",
        resp.status()
    );
}

/// A private moto with the broker, the inspector and the roles, signature checking on.
pub struct AwsBed {
    pub moto: OwnMoto,
    /// The broker's first key, to be imported.
    pub broker_key: AccessKey,
    /// The inspector's key (`iam:*`) and IAM as it sees it (works with auth on).
    pub inspector_key: AccessKey,
    pub inspector: MotoIam,
}

impl AwsBed {
    /// Starts moto, creates users, keys and `roles` with auth off, then turns auth on.
    pub async fn start(broker_deny: &[&str], roles: &[String]) -> AwsBed {
        let moto = OwnMoto::start(&[]).await;
        set_auth(&moto.url, false).await;
        let setup = MotoIam::new(
            &moto.url,
            &AccessKey {
                id: "AKIAE2ESETUP0000000".into(),
                secret: "setup".into(),
            },
        )
        .await;
        let broker_key = setup
            .create_user(BROKER_USER, &broker_policy(broker_deny))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let inspector_key = setup
            .create_user(INSPECTOR_USER, &broker_policy(&[]))
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        for role in roles {
            setup
                .create_role(role)
                .await
                .unwrap_or_else(|e| panic!("{e:#}"));
        }
        set_auth(&moto.url, true).await;
        let inspector = MotoIam::new(&moto.url, &inspector_key).await;
        // Signature checking is really on: a key moto never issued is refused.
        let stranger = AccessKey {
            id: "AKIAE2ESTRANGER00000".into(),
            secret: "nope".into(),
        };
        assert!(
            caller_identity(&moto.url, &stranger).await.is_err(),
            "moto accepted an unknown key: signature checking is off"
        );
        AwsBed {
            moto,
            broker_key,
            inspector_key,
            inspector,
        }
    }
}
