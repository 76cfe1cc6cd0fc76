//! How a CI job appears in AWS: its session name, source identity and session tags.

use serde_json::{Map, Value};

use crate::sts;

fn text(claims: &Map<String, Value>, name: &str) -> Option<String> {
    claims.get(name).and_then(|v| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `gha-<repository>-<run id>` for GitHub, `glab-<project>-<pipeline id>` for GitLab, else the
/// subject; sanitised for `RoleSessionName`.
pub fn session_name(subject: &str, claims: &Map<String, Value>) -> String {
    let raw = match (text(claims, "repository"), text(claims, "run_id")) {
        (Some(repo), Some(run)) => format!("gha-{repo}-{run}"),
        _ => match (text(claims, "project_path"), text(claims, "pipeline_id")) {
            (Some(project), Some(pipeline)) => format!("glab-{project}-{pipeline}"),
            _ => subject.to_owned(),
        },
    };
    sts::session_name(&raw.replace('/', "-"))
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
            session_name("repo:acme/app:ref:refs/heads/main", c),
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
            session_name("project_path:acme/app", c.as_object().unwrap()),
            "glab-acme-app-77"
        );
    }

    #[test]
    fn other_jobs_fall_back_to_the_sanitised_subject() {
        let c = serde_json::json!({});
        assert_eq!(session_name("job:x y", c.as_object().unwrap()), "job-x-y");
    }
}
