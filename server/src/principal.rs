//! Who acts: a principal as policy and the audit trail see it, whatever authenticated it.

use uuid::Uuid;

/// What kind of principal acts (stored as text in `principals.kind` and audit rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person, logged in through the company's IdP.
    User,
    /// A CI job, by its CI provider's OIDC token.
    Ci,
    /// The server itself (rotation, schedules, start and stop).
    System,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Ci => "ci",
            PrincipalKind::System => "system",
        }
    }
}

/// A known principal: its id, kind and the name people read (an email, a CI subject).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Principal {
    pub id: Uuid,
    pub kind: PrincipalKind,
    pub display: String,
    /// An older principal has the same display name (the IdP gave a second subject the same
    /// verified email): this one's session names always carry its own suffix, so the two never
    /// share a `RoleSessionName` / `SourceIdentity`.
    pub display_shared: bool,
}

/// A principal acting through one login session: whom an audit event is `by`.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub principal: &'a Principal,
    pub session_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::PrincipalKind;

    #[test]
    fn kinds_are_stored_as_the_words_the_schema_allows() {
        let words: Vec<_> = [
            PrincipalKind::User,
            PrincipalKind::Ci,
            PrincipalKind::System,
        ]
        .iter()
        .map(|k| k.as_str())
        .collect();
        assert_eq!(words, ["user", "ci", "system"]);
    }
}
