//! How a CI job appears in AWS: its session name, source identity and session tags.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::sts;

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `gha-<repository>-<run id>` for GitHub, `glab-<project>-<pipeline id>` for GitLab (`/`
/// becomes `-`; a name over 64 characters loses the middle of the repository part, never the
/// run id, which is unique per provider), else the subject named as a user would be.
pub fn session_name(subject: &str, claims: &Map<String, Value>, principal_id: Uuid) -> String {
    let parts = match (text(claims, "repository"), text(claims, "run_id")) {
        (Some(repo), Some(run)) => Some(("gha", repo, run)),
        _ => match (text(claims, "project_path"), text(claims, "pipeline_id")) {
            (Some(project), Some(pipeline)) => Some(("glab", project, pipeline)),
            _ => None,
        },
    };
    let Some((prefix, repo, run)) = parts else {
        return sts::session_name(subject, principal_id);
    };
    let run = sts::sanitise(&run);
    let repo = sts::sanitise(&repo);
    // `<prefix>-` and `-<run>` are kept whole; the repository gets what is left.
    let room = sts::SESSION_NAME_MAX.saturating_sub(prefix.len() + run.len() + 2);
    if room < 3 {
        // A run id too long to leave room: not a real provider's; name it as a user would be.
        return sts::session_name(&format!("{prefix}-{repo}-{run}"), principal_id);
    }
    format!("{prefix}-{}-{run}", cut_middle(&repo, room))
}

/// `text` (ASCII) at most `max` characters long, its middle replaced by `..` when cut.
fn cut_middle(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let keep = max - 2;
    let head = keep.div_ceil(2);
    let tail = keep - head;
    format!("{}..{}", &text[..head], &text[text.len() - tail..])
}

/// Session tags naming the repository and ref (values limited to what STS accepts).
pub fn tags(claims: &Map<String, Value>) -> Vec<(String, String)> {
    let clean = |s: String| -> String {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .take(256)
            .collect()
    };
    [
        ("vault-repository", "repository"),
        ("vault-repository", "project_path"),
        ("vault-ref", "ref"),
    ]
    .into_iter()
    .filter_map(|(tag, claim)| text(claims, claim).map(|v| (tag.to_owned(), clean(v))))
    .fold(Vec::new(), |mut acc: Vec<(String, String)>, (k, v)| {
        if !acc.iter().any(|(existing, _)| *existing == k) {
            acc.push((k, v));
        }
        acc
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_jobs_are_named_after_repository_and_run() {
        let c = serde_json::json!({"repository": "acme/app", "run_id": "4242", "ref": "refs/heads/main"});
        let c = c.as_object().unwrap();
        assert_eq!(
            session_name("repo:acme/app:ref:refs/heads/main", c, Uuid::nil()),
            "gha-acme-app-4242"
        );
        assert_eq!(
            tags(c),
            vec![
                ("vault-repository".to_owned(), "acme/app".to_owned()),
                ("vault-ref".to_owned(), "refs/heads/main".to_owned())
            ]
        );
    }

    #[test]
    fn gitlab_jobs_are_named_after_project_and_pipeline() {
        let c = serde_json::json!({"project_path": "acme/app", "pipeline_id": 77});
        assert_eq!(
            session_name("project_path:acme/app", c.as_object().unwrap(), Uuid::nil()),
            "glab-acme-app-77"
        );
    }

    #[test]
    fn other_jobs_fall_back_to_the_sanitised_subject() {
        let c = serde_json::json!({});
        let name = session_name("job:x y", c.as_object().unwrap(), Uuid::nil());
        assert!(name.starts_with("job-x-y-"), "{name}");
    }

    #[test]
    fn slashes_in_repository_names_become_dashes() {
        let c = serde_json::json!({"repository": "acme/tools/app", "run_id": "9"});
        assert_eq!(
            session_name("s", c.as_object().unwrap(), Uuid::nil()),
            "gha-acme-tools-app-9"
        );
    }

    #[test]
    fn a_long_repository_is_cut_in_the_middle_and_the_run_id_is_kept() {
        let repo = format!("acme/{}-end", "x".repeat(100));
        let c = serde_json::json!({"repository": repo, "run_id": "1234567890123"});
        let name = session_name("s", c.as_object().unwrap(), Uuid::nil());
        assert_eq!(name.len(), 64, "{name}");
        assert!(name.starts_with("gha-acme-x"), "{name}");
        assert!(name.ends_with("-end-1234567890123"), "{name}");
        assert!(name.contains(".."), "{name}");
    }

    #[test]
    fn two_runs_of_one_long_repository_keep_their_different_run_ids() {
        let repo = format!("acme/{}", "y".repeat(100));
        let one = serde_json::json!({"repository": repo, "run_id": "1"});
        let two = serde_json::json!({"repository": repo, "run_id": "2"});
        assert_ne!(
            session_name("s", one.as_object().unwrap(), Uuid::nil()),
            session_name("s", two.as_object().unwrap(), Uuid::nil())
        );
    }
}
