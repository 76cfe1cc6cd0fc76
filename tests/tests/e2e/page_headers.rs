//! Pages and responses: every page is locked down by its headers, and answers carrying tokens or
//! credentials are never cached.

use reqwest::header::HeaderMap;
use vault_api::CLI_CLIENT_ID;
use vault_e2e::browser::{start_device, Browser};
use vault_e2e::TestApp;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header in {headers:?}"))
}

#[tokio::test]
async fn every_page_forbids_scripts_framing_sniffing_and_referrers() {
    let app = TestApp::spawn().await;
    let device = start_device(&app.url, "vault-cli/test").await;
    let browser = Browser::new(&app.url);
    let pages = [
        browser.get("/device").await,
        browser
            .get(&format!("/device?user_code={}", device.user_code))
            .await,
        browser.get("/device?user_code=BBBB-BBBB").await,
        browser.get("/oauth/callback?state=nope&code=x").await,
        browser.get("/oauth/authorize").await,
    ];
    let idp = url::Url::parse(&app.env.idp_issuer).unwrap();

    for page in &pages {
        assert!(page.html.starts_with("<!doctype html>"), "{}", page.html);
        let csp = header(&page.headers, "content-security-policy");
        assert!(csp.contains("default-src 'none'"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(
            csp.contains(&format!(
                "form-action 'self' {}",
                idp.origin().ascii_serialization()
            )),
            "the Approve form goes on to the IdP: {csp}"
        );
        assert!(!page.html.contains("<script"), "{}", page.html);
        assert_eq!(header(&page.headers, "x-content-type-options"), "nosniff");
        assert_eq!(header(&page.headers, "referrer-policy"), "no-referrer");
        assert_eq!(header(&page.headers, "cache-control"), "no-store");
    }
    // The inline stylesheet is allowed by its hash, and only it.
    let html = &pages[0].html;
    let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
    use base64::Engine;
    use sha2::Digest;
    let hash = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style));
    let csp = header(&pages[0].headers, "content-security-policy");
    assert!(csp.contains(&format!("style-src 'sha256-{hash}'")), "{csp}");
}

#[tokio::test]
async fn answers_carrying_tokens_codes_or_credentials_are_never_cached() {
    let app = TestApp::spawn().await;
    let oauth = app.oauth();
    let tokens = oauth.login("alice").await;
    let device = app
        .http
        .post(app.endpoint("/oauth/device"))
        .form(&[("client_id", CLI_CLIENT_ID)])
        .send()
        .await
        .unwrap();
    let refreshed = oauth.refresh(&tokens.refresh_token).await;
    let refused = oauth.refresh("tvr_unknown").await;
    let credentials = oauth
        .post_json(
            &tokens.access_token,
            "/v1/credentials",
            &serde_json::json!({"profile": "dev"}),
        )
        .await;
    let assume = oauth
        .post_json(
            &tokens.access_token,
            "/assume-role",
            &serde_json::json!({"Role": "dev"}),
        )
        .await;

    for (what, resp, status) in [
        ("POST /oauth/device", &device, 200),
        ("refresh grant", &refreshed, 200),
        ("refused refresh grant", &refused, 400),
        ("POST /v1/credentials", &credentials, 200),
        ("POST /assume-role", &assume, 200),
    ] {
        assert_eq!(resp.status(), status, "{what}");
        assert_eq!(
            header(resp.headers(), "cache-control"),
            "no-store",
            "{what}"
        );
        assert_eq!(
            header(resp.headers(), "x-content-type-options"),
            "nosniff",
            "{what}"
        );
    }
}
