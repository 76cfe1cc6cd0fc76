//! `vault audit verify [--from-seq N] [--to-seq N] [--anchor SEQ:HASH]...`: has anyone altered
//! the audit log? An anchor is a `SEQ:HASH` line an earlier run printed and an admin kept
//! elsewhere: if the event at SEQ no longer has that hash, history up to it was rewritten, even
//! by someone who recomputed every hash after their edit.

use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use vault_api::audit::VerifyReport;

use crate::auth::Authenticator;
use crate::error::UserError;

/// Recomputing every hash of a long chain takes the server a while.
const VERIFY_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Flags of `vault audit verify`.
#[derive(Debug, clap::Args)]
pub struct Cmd {
    /// First event to check (default: the oldest kept)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    from_seq: Option<i64>,
    /// Last event to check (default: the newest)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(i64).range(1..))]
    to_seq: Option<i64>,
    /// An `anchor SEQ:HASH` line printed by an earlier run: check that the event at SEQ still
    /// has that hash (repeatable)
    #[arg(long, value_name = "SEQ:HASH")]
    anchor: Vec<Anchor>,
}

/// The hash an event had when an earlier verification printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    seq: i64,
    hash: String,
}

impl Anchor {
    /// Whether retention has cut the chain after this anchor's event (so it cannot be checked).
    fn pruned_from(&self, report: &VerifyReport) -> bool {
        report.from_checkpoint && report.first_seq.is_some_and(|first| self.seq < first)
    }
}

impl FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not SEQ:HASH (a chain position, a colon, 64 hex digits)");
        let (seq, hash) = s.trim().split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq.parse().map_err(|_| bad())?;
        let hash = hash.to_ascii_lowercase();
        if seq < 1 || hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        Ok(Anchor { seq, hash })
    }
}

impl Cmd {
    /// Prints the verdict on stdout; a broken chain exits 1.
    pub async fn run(self, auth: &Authenticator<'_>) -> anyhow::Result<ExitCode> {
        if let (Some(from), Some(to)) = (self.from_seq, self.to_seq) {
            if from > to {
                return Err(
                    UserError::new(format!("--from-seq {from} is after --to-seq {to}"))
                        .hint("give the range lowest first, e.g. --from-seq 100 --to-seq 200")
                        .into(),
                );
            }
        }
        let report = fetch(auth, &self.query())
            .await
            .context("verifying the audit log")?;
        let (verdict, intact) = verdict(&report);
        crate::output::print_out(&verdict)?;
        let mut anchors_hold = true;
        for anchor in &self.anchor {
            let line = if anchor.pruned_from(&report) {
                format!(
                    "anchor {}: older than the oldest event kept (pruned by retention), not checked\n",
                    anchor.seq
                )
            } else {
                let seq = anchor.seq.to_string();
                let at = fetch(auth, &[("from_seq", seq.clone()), ("to_seq", seq)])
                    .await
                    .context("checking an anchor")?;
                let (line, holds) = anchor_verdict(anchor, &at);
                anchors_hold &= holds;
                line
            };
            crate::output::print_out(&line)?;
        }
        if intact && anchors_hold {
            return Ok(ExitCode::SUCCESS);
        }
        if intact {
            eprintln!("hint: the chain is consistent but differs from what you recorded: it was rewritten (or rewound) with its hashes recomputed, which takes the database owner's rights; restore from a backup or an earlier `vault audit export`");
        } else {
            eprintln!("hint: the event named or the one before it was changed, removed or inserted outside team-vault; compare with an earlier `vault audit export`");
        }
        Ok(ExitCode::from(1))
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        [("from_seq", self.from_seq), ("to_seq", self.to_seq)]
            .into_iter()
            .filter_map(|(name, seq)| seq.map(|s| (name, s.to_string())))
            .collect()
    }
}

/// `GET /v1/audit/verify` with `query`.
async fn fetch(
    auth: &Authenticator<'_>,
    query: &[(&'static str, String)],
) -> anyhow::Result<VerifyReport> {
    auth.get_query("v1/audit/verify", query, Some(VERIFY_TIMEOUT))
        .await
}

/// The line to print for one anchor, given the verification of just its event, and whether the
/// anchor holds.
fn anchor_verdict(anchor: &Anchor, at: &VerifyReport) -> (String, bool) {
    let seq = anchor.seq;
    if let Some(broken) = &at.broken {
        return (format!("anchor {seq} BROKEN: {}\n", broken.reason), false);
    }
    match (at.last_seq, at.last_hash.as_deref()) {
        (Some(s), Some(hash)) if s == seq && hash == anchor.hash => {
            (format!("anchor {seq} OK\n"), true)
        }
        (Some(s), Some(hash)) if s == seq => (
            format!(
                "anchor {seq} MISMATCH: the event at {seq} now hashes to {hash}, not {}: history up to it was rewritten\n",
                anchor.hash
            ),
            false,
        ),
        _ => (
            format!("anchor {seq} MISSING: the chain holds no event at {seq} (was it rewound?)\n"),
            false,
        ),
    }
}

/// The line to print, and whether the chain is intact.
fn verdict(report: &VerifyReport) -> (String, bool) {
    if let Some(broken) = &report.broken {
        let id = broken
            .id
            .as_deref()
            .map_or(String::new(), |id| format!(" ({id})"));
        let line = format!(
            "chain BROKEN at event {}{id}: {}\n",
            broken.chain_seq, broken.reason
        );
        return (line, false);
    }
    if !report.ok {
        return (
            "chain BROKEN: the server found a break but did not say where\n".into(),
            false,
        );
    }
    let mut line = format!("chain OK: {} events", report.checked);
    if let (Some(first), Some(last)) = (report.first_seq, report.last_seq) {
        line.push_str(&format!(" (seq {first}..{last})"));
    }
    if report.from_checkpoint {
        line.push_str(", starting at a retention checkpoint");
    }
    line.push('\n');
    if let (Some(last), Some(hash)) = (report.last_seq, &report.last_hash) {
        line.push_str(&format!("anchor {last}:{hash}\n"));
    }
    (line, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vault_api::audit::BrokenLink;

    fn intact(from_checkpoint: bool) -> VerifyReport {
        VerifyReport {
            ok: true,
            checked: 120,
            first_seq: Some(1),
            last_seq: Some(120),
            from_checkpoint,
            broken: None,
            last_hash: None,
        }
    }

    #[test]
    fn an_intact_chain_reads_ok_with_its_count_and_range() {
        assert_eq!(
            verdict(&intact(false)),
            ("chain OK: 120 events (seq 1..120)\n".into(), true)
        );
        assert_eq!(
            verdict(&intact(true)).0,
            "chain OK: 120 events (seq 1..120), starting at a retention checkpoint\n"
        );
        let empty = VerifyReport {
            checked: 0,
            first_seq: None,
            last_seq: None,
            ..intact(false)
        };
        assert_eq!(verdict(&empty).0, "chain OK: 0 events\n");
    }

    #[test]
    fn a_broken_chain_names_the_event_and_the_reason_and_fails() {
        let report = VerifyReport {
            ok: false,
            broken: Some(BrokenLink {
                chain_seq: 57,
                id: Some("0b9f4c1e".into()),
                reason: "hash mismatch".into(),
            }),
            ..intact(false)
        };
        assert_eq!(
            verdict(&report),
            (
                "chain BROKEN at event 57 (0b9f4c1e): hash mismatch\n".into(),
                false
            )
        );
        let missing = VerifyReport {
            ok: false,
            broken: Some(BrokenLink {
                chain_seq: 58,
                id: None,
                reason: "event missing".into(),
            }),
            ..intact(false)
        };
        assert_eq!(
            verdict(&missing).0,
            "chain BROKEN at event 58: event missing\n"
        );
    }

    #[test]
    fn a_range_is_sent_only_as_far_as_it_was_given() {
        let cmd = Cmd {
            from_seq: Some(10),
            to_seq: None,
            anchor: Vec::new(),
        };
        assert_eq!(cmd.query(), [("from_seq", "10".to_owned())]);
    }

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn an_intact_chain_prints_its_last_event_as_an_anchor_line() {
        let report = VerifyReport {
            last_hash: Some(HASH.into()),
            ..intact(false)
        };
        let (text, ok) = verdict(&report);
        assert!(ok);
        assert_eq!(
            text,
            format!("chain OK: 120 events (seq 1..120)\nanchor 120:{HASH}\n")
        );
        let printed = text.lines().nth(1).unwrap().trim_start_matches("anchor ");
        assert_eq!(
            printed.parse::<Anchor>(),
            Ok(Anchor {
                seq: 120,
                hash: HASH.into()
            }),
            "what it prints is what --anchor takes"
        );
    }

    #[test]
    fn anchors_that_are_not_seq_colon_64_hex_digits_are_refused() {
        for bad in [
            "", "120", "120:", ":abc", "x:abc", "0:abc", "120:xyz", "-1:00",
        ] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
        let upper = format!("7:{}", HASH.to_uppercase());
        assert_eq!(upper.parse::<Anchor>().unwrap().hash, HASH);
    }

    #[test]
    fn an_anchor_holds_only_while_its_event_keeps_the_recorded_hash() {
        let anchor: Anchor = format!("120:{HASH}").parse().unwrap();
        let at = |hash: Option<&str>, last: Option<i64>| VerifyReport {
            checked: 1,
            first_seq: last,
            last_seq: last,
            last_hash: hash.map(str::to_owned),
            ..intact(false)
        };
        assert_eq!(
            anchor_verdict(&anchor, &at(Some(HASH), Some(120))),
            ("anchor 120 OK\n".into(), true)
        );
        let other = "0".repeat(64);
        let (line, holds) = anchor_verdict(&anchor, &at(Some(&other), Some(120)));
        assert!(!holds);
        assert!(line.starts_with("anchor 120 MISMATCH"), "{line}");
        let (line, holds) = anchor_verdict(&anchor, &at(None, None));
        assert!(!holds);
        assert!(line.starts_with("anchor 120 MISSING"), "{line}");
    }

    #[test]
    fn an_anchor_before_a_retention_cut_is_not_checked_and_one_after_it_is() {
        let anchor: Anchor = format!("50:{HASH}").parse().unwrap();
        let cut_at_100 = VerifyReport {
            first_seq: Some(101),
            ..intact(true)
        };
        assert!(anchor.pruned_from(&cut_at_100));
        let later: Anchor = format!("150:{HASH}").parse().unwrap();
        assert!(!later.pruned_from(&cut_at_100));
        let uncut = VerifyReport {
            first_seq: Some(101),
            ..intact(false)
        };
        assert!(
            !anchor.pruned_from(&uncut),
            "without a retention checkpoint, a missing start is a break, not a cut"
        );
    }
}
