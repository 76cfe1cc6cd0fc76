use super::*;

fn config() -> Config {
    Config::from_toml(
        r#"
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
        "#,
    )
    .unwrap()
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
