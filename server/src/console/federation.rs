//! The AWS federation endpoint: an STS session exchanged for a sign-in token (`getSigninToken`),
//! and the sign-in URL built from it (`Action=login`), as AWS documents for a custom identity
//! broker. Every call is bounded in time and size, and no error carries the session's secrets.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::{config::ConsoleConfig, sts::IssuedCredentials};

use super::destination::Partition;

/// The most of an answer read: a sign-in token is a few KiB.
const MAX_ANSWER: usize = 64 * 1024;

/// `SessionDuration`'s documented range (sessions from AssumeRole only).
const SESSION_DURATION: std::ops::RangeInclusive<u64> = 900..=43_200;

/// Why no sign-in token came back; never names the session's key or token.
#[derive(Debug, thiserror::Error)]
pub enum FederationError {
    #[error("cannot reach the AWS federation endpoint at {host}: {cause}")]
    Unreachable { host: String, cause: String },
    #[error("the AWS federation endpoint at {host} refused the session (HTTP {status})")]
    Refused { host: String, status: u16 },
    #[error("the AWS federation endpoint at {host} answered with no sign-in token")]
    NoToken { host: String },
}

/// The client of the federation endpoint.
pub struct Federation {
    http: reqwest::Client,
    federation_url: Option<Url>,
}

impl Federation {
    pub fn new(config: &ConsoleConfig) -> Self {
        let http = reqwest::Client::builder()
            // A redirect would carry the session to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(config.timeout)
            .timeout(config.timeout)
            .build()
            .expect("a TLS backend is compiled in");
        Federation {
            http,
            federation_url: config.federation_url.clone(),
        }
    }

    /// The endpoint for a role in `partition`: `[console] federation_url`, else AWS's own.
    pub fn endpoint(&self, partition: Partition) -> Url {
        self.federation_url.clone().unwrap_or_else(|| {
            Url::parse(partition.federation_url()).expect("a valid federation URL")
        })
    }

    /// `getSigninToken` for `session`. `SessionDuration` is sent when `duration` is within its
    /// documented range (900 s to 12 h); otherwise (only under an emulator's shorter sessions) it
    /// is left out, and the console session lasts as long as the credentials.
    pub async fn signin_token(
        &self,
        endpoint: &Url,
        session: &IssuedCredentials,
        duration: Duration,
    ) -> Result<SecretString, FederationError> {
        let host = endpoint.host_str().unwrap_or_default().to_owned();
        let session_json = serde_json::json!({
            "sessionId": session.access_key_id,
            "sessionKey": session.secret_access_key,
            "sessionToken": session.session_token,
        })
        .to_string();
        let mut url = endpoint.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("Action", "getSigninToken");
            if SESSION_DURATION.contains(&duration.as_secs()) {
                query.append_pair("SessionDuration", &duration.as_secs().to_string());
            }
            query.append_pair("Session", &session_json);
        }
        // The URL holds the session: errors are reported without it.
        let unreachable = |e: reqwest::Error| FederationError::Unreachable {
            host: host.clone(),
            cause: causes(&e.without_url()),
        };
        let mut answer = self.http.get(url).send().await.map_err(unreachable)?;
        let status = answer.status();
        if !status.is_success() {
            return Err(FederationError::Refused {
                host,
                status: status.as_u16(),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(FederationError::NoToken { host });
            }
            body.extend_from_slice(&chunk);
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "SigninToken")]
            signin_token: String,
        }
        match serde_json::from_slice::<Answer>(&body) {
            Ok(a) if !a.signin_token.is_empty() => Ok(SecretString::from(a.signin_token)),
            _ => Err(FederationError::NoToken { host }),
        }
    }
}

/// An error and its causes on one line (reqwest's own text alone says only "error sending
/// request"). `e` must hold no URL: the request's held the session.
fn causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    for _ in 0..4 {
        let Some(cause) = source else { break };
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

/// The sign-in URL: `endpoint?Action=login&Issuer=..&Destination=..&SigninToken=..`.
pub fn login_url(endpoint: &Url, issuer: &str, destination: &Url, token: &SecretString) -> Url {
    let mut url = endpoint.clone();
    url.query_pairs_mut()
        .append_pair("Action", "login")
        .append_pair("Issuer", issuer)
        .append_pair("Destination", destination.as_str())
        .append_pair("SigninToken", token.expose_secret());
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn the_login_url_carries_issuer_destination_and_token_form_encoded() {
        let endpoint = Url::parse("https://signin.aws.amazon.com/federation").unwrap();
        let destination =
            Url::parse("https://console.aws.amazon.com/s3/home?region=eu-west-1").unwrap();
        let url = login_url(
            &endpoint,
            "https://vault.example.com",
            &destination,
            &SecretString::from("tok+en/="),
        );
        assert!(url
            .as_str()
            .starts_with("https://signin.aws.amazon.com/federation?Action=login&Issuer=https%3A%2F%2Fvault.example.com&Destination=https%3A%2F%2Fconsole.aws.amazon.com%2Fs3%2Fhome%3Fregion%3Deu-west-1&SigninToken="));
        let q: HashMap<_, _> = url.query_pairs().into_owned().collect();
        assert_eq!(q["SigninToken"], "tok+en/=");
        assert_eq!(q["Destination"], destination.as_str());
    }

    #[test]
    fn the_configured_federation_url_replaces_every_partitions_own() {
        let own = Federation::new(&ConsoleConfig::default());
        assert_eq!(
            own.endpoint(Partition::AwsCn).as_str(),
            "https://signin.amazonaws.cn/federation"
        );
        let standin = Federation::new(&ConsoleConfig {
            federation_url: Some(Url::parse("http://127.0.0.1:9/federation").unwrap()),
            ..ConsoleConfig::default()
        });
        assert_eq!(
            standin.endpoint(Partition::Aws).as_str(),
            "http://127.0.0.1:9/federation"
        );
    }
}
