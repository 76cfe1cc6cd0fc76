use super::*;

fn event() -> AuditEventView {
    AuditEventView {
        chain_seq: 42,
        id: "0b9f4c1e-8d7a-4a53-9d0e-3c2b1a0f9e8d".into(),
        time: "2026-11-28T12:34:56.789012Z".into(),
        action: "credentials_issue".into(),
        outcome: "success".into(),
        principal: Some("alice@example.com".into()),
        principal_kind: Some("user".into()),
        principal_id: Some("7c1e…".into()),
        profile: Some("dev".into()),
        role_arn: Some("arn:aws:iam::123456789012:role/team-dev".into()),
        session_name: Some("alice".into()),
        source_identity: Some("alice@example.com".into()),
        access_key_id: Some("ASIAEXAMPLE123456789".into()),
        expiration: Some("2026-11-28T13:34:56Z".into()),
        duration_seconds: Some(3600),
        reason: None,
        client_addr: Some("127.0.0.1".into()),
        user_agent: Some("vault/0.1.0".into()),
        request_id: None,
        details: serde_json::json!({}),
        hash: "ab".repeat(32),
    }
}

#[test]
fn an_event_is_a_table_row_with_the_time_in_utc_to_the_second() {
    let out = table(&[event()]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "TIME                  PRINCIPAL          ACTION             PROFILE  OUTCOME  ACCESS KEY            REASON"
    );
    assert_eq!(
        lines[1],
        "2026-11-28T12:34:56Z  alice@example.com  credentials_issue  dev      success  ASIAEXAMPLE123456789"
    );
}

#[test]
fn missing_fields_show_as_a_dash_and_a_missing_reason_as_nothing() {
    let e = AuditEventView {
        action: "server_start".into(),
        principal: None,
        principal_id: None,
        principal_kind: None,
        profile: None,
        access_key_id: None,
        reason: None,
        ..event()
    };
    assert_eq!(
        cells(&e),
        [
            "2026-11-28T12:34:56Z",
            "-",
            "server_start",
            "-",
            "success",
            "-",
            ""
        ]
    );
    let system = AuditEventView {
        principal_kind: Some("system".into()),
        ..e
    };
    assert_eq!(cells(&system)[1], "(system)");
}

#[test]
fn a_long_reason_is_cut_short_on_one_line() {
    let e = AuditEventView {
        outcome: "denied".into(),
        reason: Some(format!("not in group ops\n{}", "x".repeat(100))),
        ..event()
    };
    let reason = cells(&e).pop().unwrap();
    assert_eq!(reason.chars().count(), MAX_REASON);
    assert!(reason.starts_with("not in group ops x"), "{reason}");
    assert!(reason.ends_with('…'), "{reason}");
}

#[test]
fn json_output_is_one_event_per_line_that_reads_back_the_same() {
    let out = json_lines(&[event(), event()]).unwrap();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2);
    let back: AuditEventView = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(back, event());
}

#[test]
fn a_page_asks_for_what_is_still_wanted_and_passes_the_cursor_back() {
    let filters = Filters::default();
    assert_eq!(page_query(&filters, 50, None), [("limit", "50".to_owned())]);
    assert_eq!(
        page_query(&filters, 1000, Some("c1")),
        [("limit", "1000".to_owned()), ("cursor", "c1".to_owned())]
    );
}

#[test]
fn follow_prints_rows_in_the_columns_of_the_first_ones() {
    let printer = Printer {
        json: false,
        columns: Columns::fit(&[header()]).at_least(&FOLLOW_WIDTHS),
    };
    let head = printer.header();
    let row = printer.event(&event()).unwrap();
    assert_eq!(head.find("ACTION"), row.find("credentials_issue"));
    assert_eq!(head.find("ACCESS KEY"), row.find("ASIA"));
}

#[test]
fn retries_pause_from_one_second_doubling_to_at_most_thirty() {
    let mut backoff = Backoff::default();
    let pauses: Vec<u64> = (0..8).map(|_| backoff.next_pause().as_secs()).collect();
    assert_eq!(pauses, [1, 2, 4, 8, 16, 30, 30, 30]);
    assert!(backoff.reset());
    assert!(!backoff.reset());
    assert_eq!(backoff.next_pause().as_secs(), 1);
}

#[test]
fn the_limit_must_be_at_least_one() {
    use clap::Parser;
    assert!(super::super::Cmd::try_parse_from(["audit", "--limit", "0"]).is_err());
    assert!(super::super::Cmd::try_parse_from(["audit", "--follow", "--until", "1h"]).is_err());
}

#[test]
fn only_an_unreachable_or_overloaded_server_is_worth_retrying() {
    let status = |status| -> anyhow::Error {
        ApiError::Status {
            status,
            code: None,
            message: String::new(),
        }
        .into()
    };
    assert!(is_transient(&status(502)));
    assert!(is_transient(
        &ApiError::Unavailable {
            message: "audit store down".into()
        }
        .into()
    ));
    assert!(!is_transient(&status(400)));
    assert!(!is_transient(
        &ApiError::Forbidden {
            message: "no".into()
        }
        .into()
    ));
}
