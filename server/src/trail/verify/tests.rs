//! The chain walk over COPY tuples, without a database.

use super::*;
use crate::audit::chain::AuditRow;

/// Walks `rows` as Postgres would stream them; the number checked, or the first broken link.
fn walk(rows: &[AuditRow]) -> Result<u64, BrokenLink> {
    let mut w = ChainWalk::starting(1, Some(GENESIS.to_vec()));
    let mut broken = None;
    let _stopped_or_not = CopyReader::default()
        .feed(&copy::stream(rows), |t| match w.check_tuple(t) {
            Ok(()) => ControlFlow::Continue(()),
            Err(link) => {
                broken = Some(link);
                ControlFlow::Break(())
            }
        })
        .expect("a well-formed stream");
    broken.map_or(Ok(w.checked), Err)
}

#[test]
fn an_untouched_chain_verifies() {
    assert_eq!(walk(&copy::sealed_chain(5)), Ok(5));
}

#[test]
fn an_edited_event_is_reported_as_exactly_that_event() {
    let mut rows = copy::sealed_chain(5);
    rows[2].reason = Some("edited".into());
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 3);
    assert!(broken.reason.contains("changed"));
}

#[test]
fn a_deleted_event_is_reported_by_its_position() {
    let mut rows = copy::sealed_chain(5);
    rows.remove(1);
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 2);
    assert!(broken.reason.contains("missing"));
}

#[test]
fn a_rehashed_edit_still_breaks_the_next_link() {
    let mut rows = copy::sealed_chain(5);
    rows[2].reason = Some("edited".into());
    rows[2].hash = rows[2].expected_hash(&rows[1].hash).unwrap().to_vec();
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 4);
}

#[test]
fn a_version_1_event_is_checked_by_its_json_encoding_and_an_unknown_version_is_named() {
    let mut rows = copy::sealed_chain(3);
    rows[1].hash_version = 1;
    rows[1].hash = rows[1].expected_hash(&rows[0].hash).unwrap().to_vec();
    rows[2].prev_hash = rows[1].hash.clone();
    rows[2].hash = rows[2].expected_hash(&rows[1].hash).unwrap().to_vec();
    assert_eq!(walk(&rows), Ok(3));

    rows[1].hash_version = 7;
    let broken = walk(&rows).unwrap_err();
    assert_eq!(broken.chain_seq, 2);
    assert!(broken.reason.contains("hash_version 7"), "{broken:?}");
}
