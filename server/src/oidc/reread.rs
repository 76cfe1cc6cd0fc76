//! Reading a login's groups again from the IdP (membership that stays fresh): with the sealed
//! refresh token where one is kept, else userinfo.

use super::*;

impl Upstream {
    /// Reads a login's groups again: with the IdP's refresh token where one is kept, else
    /// userinfo with the access token while it lasts. `subject` must still be the one named.
    pub async fn reread(
        &self,
        tokens: &SealedTokens,
        subject: &str,
        session_id: uuid::Uuid,
        now: OffsetDateTime,
    ) -> Result<Reread, UpstreamError> {
        let Some(seal) = &self.seal else {
            return Err(UpstreamError::NoTokens(
                "no master key is configured, so the identity provider's tokens are not kept"
                    .into(),
            ));
        };
        let open = |sealed: &Option<String>, what: &str| -> Option<SecretString> {
            let sealed = sealed.as_deref()?;
            match seal.open(sealed, &context(session_id, what)) {
                Ok(s) => Some(s),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot open a sealed identity provider token");
                    None
                }
            }
        };
        if let Some(refresh) = open(&tokens.refresh, "refresh") {
            return self.reread_by_refresh(refresh, subject, session_id).await;
        }
        let access = open(&tokens.access, "access")
            .filter(|_| tokens.access_expires_at.is_none_or(|at| at > now))
            .ok_or_else(|| {
                UpstreamError::NoTokens(
                    "the identity provider gave no refresh token and its access token has expired"
                        .into(),
                )
            })?;
        let endpoint = self.userinfo_endpoint().await?;
        let info = userinfo::fetch(&self.http, &endpoint, access.expose_secret(), subject).await?;
        Ok(Reread {
            groups: claims::groups(&info, &self.config.groups_claim),
            tokens: tokens.clone(),
        })
    }

    async fn reread_by_refresh(
        &self,
        refresh: SecretString,
        subject: &str,
        session_id: uuid::Uuid,
    ) -> Result<Reread, UpstreamError> {
        let client = self.client().await?;
        let token = RefreshToken::new(refresh.expose_secret().to_owned());
        let response = client
            .exchange_refresh_token(&token)
            .map_err(|e| UpstreamError::Rejected(e.to_string()))?
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let mut claims = Map::new();
        if let Some(id_token) = response.extra_fields().id_token() {
            // A refreshed ID token carries no nonce (OIDC Core 12.2).
            let named = self
                .verified_subject(client, id_token, |_: Option<&Nonce>| Ok(()))
                .await?;
            if named != subject {
                return Err(UpstreamError::Gone(
                    "the identity provider's refreshed ID token names another person".into(),
                ));
            }
            claims = claims::payload(&id_token.to_string());
        }
        if !claims.contains_key(&self.config.groups_claim) {
            let endpoint = self.userinfo_endpoint().await?;
            let info = userinfo::fetch(
                &self.http,
                &endpoint,
                response.access_token().secret(),
                subject,
            )
            .await?;
            claims::merge(&mut claims, info);
        }
        // The IdP may rotate its refresh token; keep the newest.
        let tokens = self.seal_tokens(&response, session_id, Some(&refresh));
        Ok(Reread {
            groups: claims::groups(&claims, &self.config.groups_claim),
            tokens,
        })
    }
}
