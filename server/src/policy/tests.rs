use super::*;

const CONFIG: &str = r#"
        database_url = "postgres://x"
        [oidc]
        issuer = "http://127.0.0.1:1"
        client_id = "c"
        client_secret = "s"
        [aws]
        region = "us-east-1"
        [[profiles]]
        name = "dev"
        role_arn = "arn:aws:iam::123456789012:role/dev"
        default_duration = "1h"
        max_duration = "2h"
        allow_groups = ["dev", "ops"]
        [[profiles]]
        name = "prod"
        role_arn = "arn:aws:iam::123456789012:role/prod"
        allow_groups = ["ops"]
        "#;

fn config() -> Config {
    Config::from_toml(CONFIG).unwrap()
}

fn groups(g: &[&str]) -> Vec<String> {
    g.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_member_of_an_allowed_group_gets_the_default_duration() {
    let c = config();
    let grant = authorize(
        &c,
        "alice",
        Membership::Groups(&groups(&["dev"])),
        "dev",
        None,
    )
    .unwrap();
    assert_eq!(grant.duration, Duration::from_secs(3600));
}

#[test]
fn a_person_in_no_allowed_group_is_denied_with_the_groups_named() {
    let c = config();
    let denial = authorize(
        &c,
        "alice",
        Membership::Groups(&groups(&["dev"])),
        "prod",
        None,
    )
    .unwrap_err();
    assert!(matches!(denial, Denial::NotAllowed { .. }), "{denial:?}");
    assert_eq!(denial.code(), "not_allowed");
    assert!(denial.to_string().contains("[ops]"), "{denial}");
}

#[test]
fn an_unknown_profile_is_denied_with_a_hint() {
    let denial = authorize(
        &config(),
        "a",
        Membership::Groups(&groups(&["dev"])),
        "staging",
        None,
    )
    .unwrap_err();
    assert_eq!(
        denial,
        Denial::UnknownProfile {
            profile: "staging".into()
        }
    );
    assert_eq!(denial.code(), "unknown_profile");
    assert!(denial.to_string().contains("vault list"));
}

#[test]
fn a_duration_above_the_maximum_is_refused_naming_the_maximum() {
    let denial = authorize(
        &config(),
        "a",
        Membership::Groups(&groups(&["dev"])),
        "dev",
        Some(3 * 3600),
    )
    .unwrap_err();
    assert_eq!(denial.code(), "duration_too_long");
    let message = denial.to_string();
    assert!(
        message.contains("2h") && message.contains("7200"),
        "{message}"
    );
}

#[test]
fn the_maximum_itself_is_allowed() {
    assert!(authorize(
        &config(),
        "a",
        Membership::Groups(&groups(&["ops"])),
        "dev",
        Some(7200)
    )
    .is_ok());
}

#[test]
fn no_groups_means_no_profiles() {
    let c = config();
    assert_eq!(assumable(&c, Membership::Groups(&[])).count(), 0);
    let ops = groups(&["ops"]);
    let names: Vec<_> = assumable(&c, Membership::Groups(&ops))
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(names, ["dev", "prod"]);
}

#[test]
fn a_malformed_or_over_long_profile_name_is_an_unknown_profile_and_not_echoed_whole() {
    let c = config();
    for name in [
        "p".repeat(8000),
        "dev prod".into(),
        "dév".into(),
        String::new(),
    ] {
        let denial = authorize(
            &c,
            "alice",
            Membership::Groups(&groups(&["dev"])),
            &name,
            None,
        )
        .unwrap_err();
        assert_eq!(denial.code(), "unknown_profile", "{name:?}");
        assert!(denial.to_string().len() < 300, "{denial}");
    }
}

/// A configuration for an emulator whose sessions may last seconds.
fn short_config() -> Config {
    let text = CONFIG
        .replace(
            "region = \"us-east-1\"",
            "region = \"us-east-1\"\nendpoint_url = \"http://127.0.0.1:5000\"\nmin_session = \"5s\"",
        )
        .replace("default_duration = \"1h\"", "default_duration = \"20s\"")
        .replace("max_duration = \"2h\"", "max_duration = \"20s\"");
    Config::from_toml(&text).unwrap()
}

#[test]
fn a_duration_under_fifteen_minutes_is_refused_against_aws_naming_the_minimum() {
    let (c, dev) = (config(), groups(&["dev"]));
    let denial = authorize(&c, "a", Membership::Groups(&dev), "dev", Some(899)).unwrap_err();
    assert_eq!(denial.code(), "duration_too_short");
    let message = denial.to_string();
    assert!(
        message.contains("15m") && message.contains("900 seconds"),
        "{message}"
    );
}

#[test]
fn with_a_shorter_min_session_a_session_of_seconds_is_granted_and_one_below_it_refused() {
    let c = short_config();
    let dev = groups(&["dev"]);
    let grant = authorize(&c, "a", Membership::Groups(&dev), "dev", None).unwrap();
    assert_eq!(grant.duration, Duration::from_secs(20));
    assert!(authorize(&c, "a", Membership::Groups(&dev), "dev", Some(5)).is_ok());
    let denial = authorize(&c, "a", Membership::Groups(&dev), "dev", Some(4)).unwrap_err();
    assert_eq!(denial.code(), "duration_too_short");
    assert!(denial.to_string().contains("5 seconds"), "{denial}");
}
