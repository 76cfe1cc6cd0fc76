use super::*;
use std::collections::HashMap;

fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| map.get(name).cloned()
}

fn flags(file: Option<&str>, var: Option<&str>) -> CiFlags {
    CiFlags {
        ci_token_file: file.map(PathBuf::from),
        ci_token_env: var.map(str::to_owned),
        ci_audience: None,
    }
}

const GITHUB: &[(&str, &str)] = &[
    (
        GITHUB_URL_VAR,
        "https://pipelines.actions.githubusercontent.com/abc/idtoken?api-version=2.0",
    ),
    (GITHUB_TOKEN_VAR, "req-token"),
];

fn with(
    base: &[(&'static str, &'static str)],
    more: &[(&'static str, &'static str)],
) -> Vec<(&'static str, &'static str)> {
    base.iter().chain(more).copied().collect()
}

fn github() -> CiSource {
    CiSource::GitHub {
        request_url: GITHUB[0].1.to_owned(),
        request_token: Secret::new("req-token"),
    }
}

#[test]
fn nothing_set_means_no_ci_source() {
    let env = env_of(&[("CI", "true"), ("PATH", "/bin")]);
    assert_eq!(detect(&CiFlags::default(), &env).unwrap(), None);
}

#[test]
fn github_actions_is_detected_from_both_variables() {
    let env = env_of(GITHUB);
    assert_eq!(detect(&CiFlags::default(), &env).unwrap(), Some(github()));
}

#[test]
fn github_actions_comes_before_vault_id_token() {
    let env = env_of(&with(GITHUB, &[(DEFAULT_TOKEN_VAR, "gitlab-jwt")]));
    assert_eq!(detect(&CiFlags::default(), &env).unwrap(), Some(github()));
}

#[test]
fn vault_id_token_is_used_trimmed_and_an_empty_one_is_absent() {
    let env = env_of(&[(DEFAULT_TOKEN_VAR, " gitlab-jwt\n")]);
    assert_eq!(
        detect(&CiFlags::default(), &env).unwrap(),
        Some(CiSource::Env {
            var: DEFAULT_TOKEN_VAR.into(),
            token: Secret::new("gitlab-jwt")
        })
    );
    let empty = env_of(&[(DEFAULT_TOKEN_VAR, "  ")]);
    assert_eq!(detect(&CiFlags::default(), &empty).unwrap(), None);
}

#[test]
fn half_of_github_actions_is_not_a_source() {
    let env = env_of(&[GITHUB[0], (DEFAULT_TOKEN_VAR, "gitlab-jwt")]);
    assert!(matches!(
        detect(&CiFlags::default(), &env).unwrap(),
        Some(CiSource::Env { .. })
    ));
    let env = env_of(&[GITHUB[1]]);
    assert_eq!(detect(&CiFlags::default(), &env).unwrap(), None);
}

#[test]
fn an_explicit_variable_beats_github_actions() {
    let env = env_of(&with(
        GITHUB,
        &[("MY_JWT", "mine"), (DEFAULT_TOKEN_VAR, "x")],
    ));
    assert_eq!(
        detect(&flags(None, Some("MY_JWT")), &env).unwrap(),
        Some(CiSource::Env {
            var: "MY_JWT".into(),
            token: Secret::new("mine")
        })
    );
}

#[test]
fn an_explicit_variable_that_is_unset_is_an_error_naming_it() {
    let env = env_of(GITHUB);
    let err = detect(&flags(None, Some("MY_JWT")), &env).unwrap_err();
    assert_eq!(
        err.to_string(),
        "--ci-token-env MY_JWT: the variable MY_JWT is not set or empty"
    );
}

#[test]
fn an_explicit_file_beats_everything() {
    let env = env_of(&with(GITHUB, &[(DEFAULT_TOKEN_VAR, "x")]));
    assert_eq!(
        detect(&flags(Some("/run/jwt"), None), &env).unwrap(),
        Some(CiSource::File("/run/jwt".into()))
    );
}

#[test]
fn ci_is_on_unless_empty_false_or_zero() {
    for (value, on) in [
        ("true", true),
        ("1", true),
        ("yes", true),
        ("false", false),
        ("FALSE", false),
        ("0", false),
        ("", false),
    ] {
        assert_eq!(in_ci(&env_of(&[("CI", value)])), on, "CI={value}");
    }
    assert!(!in_ci(&env_of(&[])));
}

#[test]
fn ci_without_a_token_says_what_it_looked_for() {
    let err = no_token_error(&env_of(&[("CI", "true")]));
    assert_eq!(
        crate::error::one_line(&err),
        "running in CI (CI=true) but no CI identity token found (looked for \
         ACTIONS_ID_TOKEN_REQUEST_URL + ACTIONS_ID_TOKEN_REQUEST_TOKEN, then VAULT_ID_TOKEN) \
         and no stored login"
    );
    assert_eq!(
        crate::error::hint(&err, &[]),
        Some(
            "GitHub Actions: add `permissions: id-token: write`; GitLab: define an id_token \
             named VAULT_ID_TOKEN; or pass --ci-token-file/--ci-token-env"
        )
    );
}

#[test]
fn ci_without_a_token_names_half_set_variables() {
    let err = no_token_error(&env_of(&[
        ("CI", "true"),
        GITHUB[0],
        (DEFAULT_TOKEN_VAR, ""),
    ]));
    let text = err.to_string();
    assert!(
        text.contains(
            "; ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not; VAULT_ID_TOKEN is empty)"
        ),
        "{text}"
    );
}

#[test]
fn the_audience_defaults_to_team_vault() {
    let mut f = CiFlags::default();
    assert_eq!(f.audience(), "team-vault");
    f.ci_audience = Some(" ".into());
    assert_eq!(f.audience(), "team-vault");
    f.ci_audience = Some("sts.example".into());
    assert_eq!(f.audience(), "sts.example");
}

#[test]
fn a_token_file_is_read_trimmed() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("jwt");
    std::fs::write(&path, "  eyJhbGciOi.x.y \n").unwrap();
    assert_eq!(
        read_token_file(&path).unwrap(),
        Secret::new("eyJhbGciOi.x.y")
    );
}

#[test]
fn an_empty_missing_or_huge_token_file_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, " \n\n").unwrap();
    let err = read_token_file(&empty).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("the CI token file {} is empty", empty.display())
    );
    let missing = tmp.path().join("missing");
    let err = read_token_file(&missing).unwrap_err();
    assert!(crate::error::one_line(&err).starts_with(&format!(
        "cannot read the CI token file {}: ",
        missing.display()
    )));
    let huge = tmp.path().join("huge");
    std::fs::write(&huge, vec![b'a'; 70 * 1024]).unwrap();
    assert!(read_token_file(&huge)
        .unwrap_err()
        .to_string()
        .contains("larger than 64 KiB"));
}

#[test]
fn no_debug_output_shows_a_token() {
    let shown = format!(
        "{:?} {:?}",
        github(),
        CiSource::Env {
            var: "V".into(),
            token: Secret::new("jwt-value")
        }
    );
    assert!(
        !shown.contains("req-token") && !shown.contains("jwt-value"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_exchange_posts_the_token_exchange_form() {
    let (base, server) = crate::test_server::one_shot(
        "200 OK",
        r#"{"access_token":"eyJ.broker","token_type":"Bearer","expires_in":300}"#,
    )
    .await;
    let http = Http::new(&crate::config::ServerUrl::parse(&base).unwrap()).unwrap();
    let answer = exchange(&http, &Secret::new("eyJ.ci.jwt")).await.unwrap();
    assert_eq!(answer.access_token, "eyJ.broker");
    assert_eq!(answer.refresh_token, None);
    let request = server.await.unwrap();
    assert!(
        request.starts_with("POST /oauth/token HTTP/1.1\r\n"),
        "{request}"
    );
    let body = request.split("\r\n\r\n").nth(1).unwrap();
    let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:token-exchange"
    );
    assert_eq!(form["subject_token"], "eyJ.ci.jwt");
    assert_eq!(
        form["subject_token_type"],
        "urn:ietf:params:oauth:token-type:jwt"
    );
    assert_eq!(form["client_id"], "vault-cli");
}

fn oauth(status: u16, error: &str, description: Option<&str>) -> ApiError {
    ApiError::OAuth {
        status,
        error: error.into(),
        description: description.map(Into::into),
    }
}

#[test]
fn a_refused_exchange_shows_the_servers_reason() {
    let err = exchange_error(
        oauth(401, "invalid_grant", Some("token expired")),
        &github(),
        "team-vault",
    );
    assert_eq!(
        crate::error::one_line(&err),
        "the team-vault server refused GitHub Actions' ID token: token expired (invalid_grant)"
    );
    assert!(crate::error::hint(&err, &[]).is_some_and(|h| h.contains("`team-vault`")));
    let denied = exchange_error(
        oauth(
            403,
            "access_denied",
            Some("no profile allows acme/app on refs/heads/dev"),
        ),
        &github(),
        "team-vault",
    );
    assert_eq!(
        denied.to_string(),
        "the team-vault server does not let this CI job in: no profile allows acme/app on refs/heads/dev (access_denied)"
    );
}

#[test]
fn an_unavailable_verifier_reads_as_such() {
    let source = CiSource::File("/jwt".into());
    let err = exchange_error(
        oauth(
            503,
            "temporarily_unavailable",
            Some("cannot fetch the issuer's keys"),
        ),
        &source,
        "team-vault",
    );
    assert_eq!(
        err.to_string(),
        "the team-vault server cannot verify CI tokens right now: cannot fetch the issuer's keys (temporarily_unavailable)"
    );
    let plain = exchange_error(
        ApiError::Unavailable {
            message: "Service Unavailable".into(),
        },
        &source,
        "team-vault",
    );
    assert_eq!(
        plain.to_string(),
        "the team-vault server cannot verify CI tokens right now: Service Unavailable"
    );
}

#[test]
fn a_refused_ci_token_never_suggests_vault_login() {
    let err = exchange_error(
        ApiError::Unauthorized {
            message: "bad token".into(),
        },
        &CiSource::File("/jwt".into()),
        "team-vault",
    );
    assert_eq!(
        err.to_string(),
        "the team-vault server refused the token file /jwt: bad token"
    );
    assert!(!crate::error::hint(&err, &[])
        .unwrap()
        .contains("vault login"));
}
