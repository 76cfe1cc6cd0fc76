//! `AuditApi`: the admin audit API (`/v1/audit*`) called with one bearer token, with the checks
//! every caller wants (status, content type, page sizes) built in.

use crate::app::{http_client, TestApp};
use vault_api::audit::{AuditEventView, AuditPage, VerifyReport};

/// Query-string pairs.
pub type Query<'a> = [(&'a str, String)];

/// The audit API of one server, as one caller.
#[derive(Clone)]
pub struct AuditApi {
    pub server: String,
    pub token: String,
    pub http: reqwest::Client,
}

impl TestApp {
    /// The audit API as `admin` (group `admins`, the configured admin group), freshly logged in.
    pub async fn admin_audit_api(&self) -> AuditApi {
        let token = self.oauth().login("admin").await.access_token;
        self.audit_api(&token)
    }

    /// The audit API with any caller's access token.
    pub fn audit_api(&self, token: &str) -> AuditApi {
        AuditApi {
            server: self.url.clone(),
            token: token.to_owned(),
            http: http_client(),
        }
    }
}

impl AuditApi {
    /// `GET path?query` with the bearer token, answered raw.
    pub async fn get(&self, path: &str, query: &Query<'_>) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.server))
            .query(query)
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, path: &str, query: &Query<'_>) -> T {
        let resp = self.get(path, query).await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "GET {path} {query:?}: {body}");
        serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("GET {path} {query:?}: unexpected body ({e}): {body}"))
    }

    /// One page of `GET /v1/audit`.
    pub async fn page(&self, query: &Query<'_>) -> AuditPage {
        self.get_json("/v1/audit", query).await
    }

    /// Every event matching `filters`, newest first, paging with `limit` through `next_cursor`.
    /// Checks that every page but the last is full and that only the last has no cursor.
    pub async fn list_all(&self, filters: &Query<'_>, limit: usize) -> Vec<AuditEventView> {
        let mut events = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut query = filters.to_vec();
            query.push(("limit", limit.to_string()));
            if let Some(c) = &cursor {
                query.push(("cursor", c.clone()));
            }
            let page = self.page(&query).await;
            assert!(
                page.events.len() <= limit,
                "a page of {} events for limit {limit} ({query:?})",
                page.events.len()
            );
            let n = page.events.len();
            events.extend(page.events);
            match page.next_cursor {
                Some(c) => {
                    assert_eq!(
                        n, limit,
                        "a page with a next_cursor is not full ({query:?})"
                    );
                    cursor = Some(c);
                }
                None => return events,
            }
            assert!(
                events.len() < 1_000_000,
                "paging does not end ({filters:?}, limit {limit})"
            );
        }
    }

    /// `GET /v1/audit/verify?query`.
    pub async fn verify(&self, query: &Query<'_>) -> VerifyReport {
        self.get_json("/v1/audit/verify", query).await
    }

    /// `GET /v1/audit/follow?query` (a long poll: `wait` bounds it).
    pub async fn follow(&self, query: &Query<'_>) -> AuditPage {
        self.get_json("/v1/audit/follow", query).await
    }

    /// `GET /v1/audit/export?query`: the raw NDJSON body, after checking status and type.
    pub async fn export_text(&self, query: &Query<'_>) -> String {
        let resp = self.get("/v1/audit/export", query).await;
        let status = resp.status();
        let content_type = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let body = resp.text().await.expect("export body");
        assert_eq!(status, 200, "GET /v1/audit/export {query:?}: {body}");
        assert!(
            content_type.starts_with("application/x-ndjson"),
            "export Content-Type is {content_type:?}"
        );
        body
    }

    /// `GET /v1/audit/export?query`, each line parsed as an event.
    pub async fn export(&self, query: &Query<'_>) -> Vec<AuditEventView> {
        parse_ndjson(&self.export_text(query).await)
    }
}

/// NDJSON: one `AuditEventView` per newline-terminated line.
pub fn parse_ndjson(body: &str) -> Vec<AuditEventView> {
    if body.is_empty() {
        return Vec::new();
    }
    assert!(
        body.ends_with('\n'),
        "the last NDJSON line is not terminated"
    );
    body.lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("NDJSON line {} is not an event ({e}): {line}", i + 1))
        })
        .collect()
}
