//! The chain walk on sealed rows, without a database.

use super::*;
use crate::{
    audit::{AuditEvent, Outcome},
    clock,
    request_meta::RequestMeta,
};

fn chain(n: i64) -> Vec<AuditRow> {
    let mut prev = GENESIS.to_vec();
    (1..=n)
        .map(|seq| {
            let e = AuditEvent::new(
                "login",
                Outcome::Success,
                &RequestMeta::internal(),
                clock::now(),
            );
            let row = AuditRow::seal(&e, seq, &prev);
            prev.clone_from(&row.hash);
            row
        })
        .collect()
}

fn walk(rows: &[AuditRow]) -> Result<u64, BrokenLink> {
    let mut w = ChainWalk::new(1, GENESIS.to_vec());
    for r in rows {
        w.check(r)?;
    }
    Ok(w.checked)
}

#[test]
fn an_untouched_chain_verifies() {
    assert_eq!(walk(&chain(5)), Ok(5));
}

#[test]
fn an_edited_event_is_reported_as_exactly_that_event() {
    let mut rows = chain(5);
    rows[2].reason = Some("edited".into());
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 3);
    assert!(broken.reason.contains("changed"));
}

#[test]
fn a_deleted_event_is_reported_by_its_position() {
    let mut rows = chain(5);
    rows.remove(1);
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 2);
    assert!(broken.reason.contains("missing"));
}

#[test]
fn a_rehashed_edit_still_breaks_the_next_link() {
    let mut rows = chain(5);
    rows[2].reason = Some("edited".into());
    rows[2].hash = rows[2].expected_hash(&rows[1].hash).unwrap().to_vec();
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 4);
}
