//! `Browser`: one cookie jar on the server's pages, as one person's browser (the device page,
//! the callback), for tests of what binds a login to the browser that started it. The IdP's
//! own login form is filled in by `autologin.js`, which keeps cookies of its own.

use crate::login::autologin;
use anyhow::{anyhow, Context, Result};
use reqwest::header;
use vault_api::{CLI_CLIENT_ID, GRANT_DEVICE_CODE};

/// A device authorization as `POST /oauth/device` answered it.
#[derive(Debug, Clone)]
pub struct DeviceStart {
    pub device_code: String,
    pub user_code: String,
}

/// A browser: its own cookie jar, redirects not followed.
pub struct Browser {
    pub http: reqwest::Client,
    server: String,
}

/// A page as the browser got it.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: header::HeaderMap,
    pub html: String,
}

impl Page {
    /// The value of the (first) hidden input called `name`.
    pub fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.html.find(&marker)? + marker.len();
        let end = self.html[start..].find('"')? + start;
        Some(self.html[start..end].to_owned())
    }

    /// Where a redirect goes.
    pub fn location(&self) -> Option<String> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Browser {
    pub fn new(server: &str) -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent("test-browser")
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("reqwest client"),
            server: server.trim_end_matches('/').to_owned(),
        }
    }

    /// `GET url` (a path on the server, or a whole URL).
    pub async fn get(&self, url: &str) -> Page {
        let url = if url.starts_with('/') {
            format!("{}{url}", self.server)
        } else {
            url.to_owned()
        };
        page(self.http.get(&url).send().await.expect("GET")).await
    }

    /// `POST /device` with this form.
    pub async fn post_device(&self, form: &[(&str, &str)]) -> Page {
        let resp = self
            .http
            .post(format!("{}/device", self.server))
            .form(form)
            .send()
            .await
            .expect("POST /device");
        page(resp).await
    }

    /// Opens the device link for `user_code` and presses Approve: the IdP URL it is sent to.
    pub async fn approve_device(&self, user_code: &str) -> String {
        let review = self.get(&format!("/device?user_code={user_code}")).await;
        assert_eq!(review.status, 200, "the confirm page: {}", review.html);
        let csrf = review.hidden("csrf").expect("a csrf field");
        let approved = self
            .post_device(&[
                ("csrf", &csrf),
                ("user_code", user_code),
                ("confirm", "yes"),
            ])
            .await;
        assert_eq!(approved.status, 303, "Approve: {}", approved.html);
        approved.location().expect("Approve redirects to the IdP")
    }
}

async fn page(resp: reqwest::Response) -> Page {
    Page {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        html: resp.text().await.unwrap_or_default(),
    }
}

/// `POST /oauth/device` as the CLI sends it, from a client calling itself `user_agent`.
pub async fn start_device(server: &str, user_agent: &str) -> DeviceStart {
    let body: serde_json::Value = reqwest::Client::new()
        .post(format!("{server}/oauth/device"))
        .header(header::USER_AGENT, user_agent)
        .form(&[("client_id", CLI_CLIENT_ID)])
        .send()
        .await
        .expect("POST /oauth/device")
        .json()
        .await
        .expect("device authorization JSON");
    DeviceStart {
        device_code: body["device_code"]
            .as_str()
            .expect("device_code")
            .to_owned(),
        user_code: body["user_code"].as_str().expect("user_code").to_owned(),
    }
}

/// One device-code poll of `/oauth/token`: status and JSON body.
pub async fn poll_device(
    server: &str,
    device_code: &str,
    user_agent: &str,
) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::new()
        .post(format!("{server}/oauth/token"))
        .header(header::USER_AGENT, user_agent)
        .form(&[
            ("grant_type", GRANT_DEVICE_CODE),
            ("device_code", device_code),
            ("client_id", CLI_CLIENT_ID),
        ])
        .send()
        .await
        .expect("POST /oauth/token");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or_default())
}

/// Logs `user` in at the IdP page `idp_url` (in autologin.js's own cookie jar) and returns the
/// server callback URL the IdP sends the browser back to, without opening it.
pub async fn idp_login(user: &str, idp_url: &str) -> Result<String> {
    let out = autologin(user, idp_url, &["--print-loopback"]).await?;
    let callback = out
        .stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("LOOPBACK="))
        .ok_or_else(|| anyhow!("autologin.js printed no LOOPBACK= line:\n{out}"))?;
    url::Url::parse(callback).context("the callback is not a URL")?;
    Ok(callback.to_owned())
}
