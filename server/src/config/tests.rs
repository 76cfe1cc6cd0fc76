use std::time::Duration;

use super::*;

const GOOD: &str = r#"
database_url = "postgres://localhost/vault"
admin_groups = ["admins"]

[oidc]
issuer = "http://127.0.0.1:4010"
client_id = "team-vault"
client_secret = "dev-secret"

[aws]
region = "us-east-1"

[[profiles]]
name = "dev"
role_arn = "arn:aws:iam::123456789012:role/team-dev"
default_duration = "1h"
max_duration = "4h"
allow_groups = ["dev", "ops"]
"#;

#[test]
fn a_complete_file_parses_with_defaults_filled_in() {
    let c = Config::from_toml(GOOD).unwrap();
    assert_eq!(c.access_token_ttl, Duration::from_secs(900));
    assert_eq!(c.session_cache_ttl, Duration::from_secs(1));
    assert_eq!(c.oidc.groups_claim, "groups");
    let dev = c.profile("dev").unwrap();
    assert_eq!(dev.region, "us-east-1");
    assert_eq!(dev.max_duration, Duration::from_secs(4 * 3600));
}

#[test]
fn the_session_cache_can_be_turned_off_with_a_zero_ttl() {
    let c = Config::from_toml(&format!("session_cache_ttl = \"0s\"\n{GOOD}")).unwrap();
    assert_eq!(c.session_cache_ttl, Duration::ZERO);
}

#[test]
fn every_problem_is_reported_with_its_key_path() {
    let bad = GOOD
        .replace("\"4h\"", "\"13h\"")
        .replace("arn:aws:iam::123456789012:role/team-dev", "not-an-arn")
        .replace("http://127.0.0.1:4010", "nope");
    let err = Config::from_toml(&bad).unwrap_err();
    let all = err.problems.join("\n");
    assert!(all.contains("profiles[0].max_duration"), "{all}");
    assert!(all.contains("profiles[0].role_arn"), "{all}");
    assert!(all.contains("oidc.issuer"), "{all}");
    assert_eq!(err.problems.len(), 3, "{all}");
}

#[test]
fn a_profile_defined_twice_is_refused() {
    let twice = format!(
        "{GOOD}\n[[profiles]]\nname = \"dev\"\nrole_arn = \"arn:aws:iam::123456789012:role/x\"\n"
    );
    let err = Config::from_toml(&twice).unwrap_err();
    assert!(
        err.problems[0].contains("profiles[1].name"),
        "{:?}",
        err.problems
    );
}

#[test]
fn unknown_keys_are_refused_rather_than_ignored() {
    let err = Config::from_toml(&GOOD.replace("admin_groups", "admin_grups")).unwrap_err();
    assert!(
        err.problems[0].contains("admin_grups"),
        "{:?}",
        err.problems
    );
}

#[test]
fn the_client_secret_can_come_from_a_file() {
    let dir = std::env::temp_dir().join(format!("vault-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, "from-file\n").unwrap();
    let text = GOOD.replace(
        "client_secret = \"dev-secret\"",
        &format!("client_secret_file = {:?}", file.display().to_string()),
    );
    let c = Config::from_toml(&text).unwrap();
    use secrecy::ExposeSecret;
    assert_eq!(c.oidc.client_secret.expose_secret(), "from-file");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn the_shortest_session_is_fifteen_minutes_by_default() {
    let c = Config::from_toml(GOOD).unwrap();
    assert_eq!(c.aws.min_session, Duration::from_secs(900));
    let short = GOOD.replace("default_duration = \"1h\"", "default_duration = \"10m\"");
    let err = Config::from_toml(&short).unwrap_err();
    assert!(
        err.problems[0].contains("profiles[0].default_duration")
            && err.problems[0].contains("aws.min_session = 15m"),
        "{:?}",
        err.problems
    );
}

#[test]
fn a_min_session_under_fifteen_minutes_needs_an_emulator_endpoint() {
    let without = GOOD.replace("[aws]\n", "[aws]\nmin_session = \"5s\"\n");
    let err = Config::from_toml(&without).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{:?}", err.problems);
    assert!(
        err.problems[0].contains("aws.min_session") && err.problems[0].contains("endpoint_url"),
        "{:?}",
        err.problems
    );
    let with = GOOD
        .replace(
            "[aws]\n",
            "[aws]\nmin_session = \"5s\"\nendpoint_url = \"http://127.0.0.1:5000\"\n",
        )
        .replace("default_duration = \"1h\"", "default_duration = \"20s\"");
    let c = Config::from_toml(&with).unwrap();
    assert_eq!(c.aws.min_session, Duration::from_secs(5));
    assert_eq!(
        c.profile("dev").unwrap().default_duration,
        Duration::from_secs(20)
    );
}

#[test]
fn a_min_session_of_zero_or_nonsense_is_refused() {
    for value in ["0s", "soon"] {
        let text = GOOD.replace(
            "[aws]\n",
            &format!(
                "[aws]\nmin_session = \"{value}\"\nendpoint_url = \"http://127.0.0.1:5000\"\n"
            ),
        );
        let err = Config::from_toml(&text).unwrap_err();
        assert!(
            err.problems[0].contains("aws.min_session"),
            "{value}: {:?}",
            err.problems
        );
    }
}
