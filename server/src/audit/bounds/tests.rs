use serde_json::json;
use time::OffsetDateTime;

use super::*;
use crate::{
    audit::{
        chain::{AuditRow, GENESIS},
        Outcome,
    },
    principal::PrincipalKind,
    request_meta::RequestMeta,
};

fn event() -> AuditEvent {
    let now = OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap();
    AuditEvent::new(
        "credentials_deny",
        Outcome::Denied,
        &RequestMeta::internal(),
        now,
    )
    .principal(None, "alice@example.com", PrincipalKind::User)
    .profile("dev")
}

fn truncated(e: &AuditEvent) -> Vec<String> {
    serde_json::from_value(e.details["truncated"].clone()).unwrap_or_default()
}

#[test]
fn an_event_within_every_cap_is_left_as_it_is() {
    let e = event().detail("groups", ["dev"]);
    assert!(matches!(capped(&e), Cow::Borrowed(_)));
}

#[test]
fn an_over_long_profile_is_cut_to_its_cap_and_marked() {
    let e = event().profile(&"p".repeat(8000));
    let c = capped(&e);
    let profile = c.profile.as_deref().unwrap();
    assert!(profile.len() <= PROFILE, "{} bytes", profile.len());
    assert!(profile.starts_with("ppp"));
    let kept = profile.find('…').unwrap();
    assert!(profile.ends_with(&format!("…[+{} bytes]", 8000 - kept)));
    assert_eq!(truncated(&c), ["profile"]);
}

#[test]
fn multibyte_text_is_cut_on_a_character_boundary() {
    // 3-byte characters: no cap is a multiple of 3 after the marker, so a byte cut would split one.
    let e = event().reason("€".repeat(2000));
    let c = capped(&e);
    let reason = c.reason.as_deref().unwrap();
    assert!(reason.len() <= REASON);
    let (kept, marker) = reason.split_at(reason.find('…').unwrap());
    assert!(kept.chars().all(|ch| ch == '€'));
    assert_eq!(marker, format!("…[+{} bytes]", 6000 - kept.len()));
    let s = "a€€";
    for cap in 0..s.len() {
        let out = cut_str(s, cap);
        assert!(out.starts_with('a') || out.starts_with('…'), "{out}");
    }
}

#[test]
fn every_text_column_is_capped() {
    let long = "x".repeat(10_000);
    let mut e = event()
        .principal(None, &long, PrincipalKind::Ci)
        .profile(&long);
    e.role_arn = Some(long.clone());
    e.session_name = Some(long.clone());
    e.source_identity = Some(long.clone());
    e.access_key_id = Some(long.clone());
    e.reason = Some(long.clone());
    e.client_addr = Some(long.clone());
    e.user_agent = Some(long.clone());
    e.request_id = Some(long.clone());
    let c = capped(&e);
    let lengths = [
        (&c.principal, PRINCIPAL),
        (&c.profile, PROFILE),
        (&c.role_arn, ROLE_ARN),
        (&c.session_name, SESSION_NAME),
        (&c.source_identity, SOURCE_IDENTITY),
        (&c.access_key_id, ACCESS_KEY_ID),
        (&c.reason, REASON),
        (&c.client_addr, CLIENT_ADDR),
        (&c.user_agent, USER_AGENT),
        (&c.request_id, REQUEST_ID),
    ];
    for (value, cap) in lengths {
        assert!(value.as_ref().unwrap().len() <= cap);
    }
    assert_eq!(truncated(&c).len(), 10);
}

#[test]
fn nested_detail_strings_are_capped_and_named_by_their_path() {
    let e = event().detail(
        "claims",
        json!({"ref": "r".repeat(3000), "run_id": 7, "list": ["ok", "l".repeat(600)]}),
    );
    let c = capped(&e);
    let r = c.details["claims"]["ref"].as_str().unwrap();
    assert!(r.len() <= DETAIL_STRING && r.contains("…[+"));
    assert_eq!(c.details["claims"]["run_id"], 7);
    assert_eq!(c.details["claims"]["list"][0], "ok");
    assert!(c.details["claims"]["list"][1].as_str().unwrap().len() <= DETAIL_STRING);
    assert_eq!(
        truncated(&c),
        ["details.claims.list.1", "details.claims.ref"]
    );
}

#[test]
fn too_many_keys_too_deep_and_too_large_details_are_bounded() {
    let many: serde_json::Map<String, Value> = (0..100)
        .map(|i| (format!("k{i:03}"), Value::from("v".repeat(400))))
        .collect();
    let deep = json!({"a": {"b": {"c": {"d": {"e": 1}}}}});
    let e = event().detail("many", many).detail("deep", deep);
    let c = capped(&e);
    assert_eq!(
        c.details["many"].as_object().map(|m| m.len()).unwrap_or(0),
        0
    );
    assert!(c.details["deep"]["a"]["b"]["c"].is_string());
    let size = serde_json::to_vec(&c.details).unwrap().len();
    assert!(size <= DETAILS, "{size} bytes");
    let cut = truncated(&c);
    assert!(cut.contains(&"details.many".to_owned()), "{cut:?}");
    assert!(cut.contains(&"details.deep.a.b.c".to_owned()), "{cut:?}");
}

#[test]
fn the_whole_details_object_stays_within_its_cap() {
    let mut e = event();
    for i in 0..30 {
        e = e.detail(&format!("k{i:02}"), "v".repeat(500));
    }
    let c = capped(&e);
    let size = serde_json::to_vec(&c.details).unwrap().len();
    assert!(size <= DETAILS, "{size} bytes");
    assert_eq!(c.details["k00"], "v".repeat(500));
    let cut = truncated(&c);
    // 13 entries of 512 bytes fit in what the details may take besides the list of cuts.
    assert_eq!(cut[0], "details.k13", "{cut:?}");
    assert_eq!(cut.len(), 12);
    assert_eq!(cut[11], "…[+6 more]");
}

#[test]
fn sealing_applies_the_caps_and_the_sealed_row_still_verifies() {
    let e = event().profile(&"é".repeat(5000));
    let row = AuditRow::seal(&e, 1, &GENESIS);
    assert!(row.profile.as_deref().unwrap().len() <= PROFILE);
    assert_eq!(row.details["truncated"], json!(["profile"]));
    assert_eq!(row.expected_hash(&GENESIS).unwrap().to_vec(), row.hash);
}
