//! `vault audit verify [--from-seq N] [--to-seq N]`: has anyone altered the audit log?

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use vault_api::audit::VerifyReport;

use super::endpoint;
use crate::auth::Authenticator;
use crate::error::UserError;
use crate::http::Http;

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
}

impl Cmd {
    /// Prints the verdict on stdout; a broken chain exits 1.
    pub async fn run(self, http: &Http, auth: &Authenticator<'_>) -> anyhow::Result<ExitCode> {
        if let (Some(from), Some(to)) = (self.from_seq, self.to_seq) {
            if from > to {
                return Err(
                    UserError::new(format!("--from-seq {from} is after --to-seq {to}"))
                        .hint("give the range lowest first, e.g. --from-seq 100 --to-seq 200")
                        .into(),
                );
            }
        }
        let url = endpoint(http.server(), "v1/audit/verify", &self.query());
        let report: VerifyReport = auth
            .call(|token| {
                let url = url.clone();
                async move { http.get_url(url, &token, Some(VERIFY_TIMEOUT)).await }
            })
            .await
            .context("verifying the audit log")?;
        let (verdict, intact) = verdict(&report);
        crate::print_out(&verdict)?;
        if intact {
            return Ok(ExitCode::SUCCESS);
        }
        eprintln!("hint: the event named or the one before it was changed, removed or inserted outside team-vault; compare with an earlier `vault audit export`");
        Ok(ExitCode::from(1))
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        [("from_seq", self.from_seq), ("to_seq", self.to_seq)]
            .into_iter()
            .filter_map(|(name, seq)| seq.map(|s| (name, s.to_string())))
            .collect()
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
        };
        assert_eq!(cmd.query(), [("from_seq", "10".to_owned())]);
    }
}
