//! Access tokens: short EdDSA JWTs signed by this replica's in-memory key.
//!
//! Private keys never leave memory: each replica generates its own key at start (and daily),
//! publishes the public half in Postgres, and every replica verifies tokens of any live key.
//! A restart therefore costs nothing: old tokens still verify until they expire.

use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::{self, signing_keys::PublicKeyRow, DbError};

/// Audience of every access token this server issues.
pub const AUDIENCE: &str = "team-vault";
/// How long one signing key signs before the replica makes a new one.
const KEY_SIGNING_LIFE: Duration = Duration::from_secs(24 * 3600);
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 5;

/// Claims of a team-vault access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub sid: Uuid,
    pub jti: Uuid,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub name: String,
}

/// Why a presented access token was refused (the message is safe to show the client).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("access token rejected: {0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    created: OffsetDateTime,
}

/// Issues and verifies access tokens.
pub struct TokenService {
    issuer: String,
    ttl: Duration,
    db: PgPool,
    current: RwLock<Arc<SigningKey>>,
    known: RwLock<HashMap<String, DecodingKey>>,
}

impl TokenService {
    /// Generates this replica's first key and publishes it.
    pub async fn start(
        db: PgPool,
        issuer: String,
        ttl: Duration,
        now: OffsetDateTime,
    ) -> Result<Self, DbError> {
        let service = TokenService {
            issuer,
            ttl,
            db,
            current: RwLock::new(Arc::new(placeholder_key())),
            known: RwLock::new(HashMap::new()),
        };
        service.rotate(now).await?;
        Ok(service)
    }

    /// Token lifetime in seconds.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Makes a new signing key if the current one has signed long enough.
    pub async fn rotate_if_due(&self, now: OffsetDateTime) -> Result<(), DbError> {
        let created = self.current.read().expect("lock").created;
        if now - created >= KEY_SIGNING_LIFE {
            self.rotate(now).await?;
        }
        Ok(())
    }

    /// Stops publishing this replica's key for longer than its last token can live: called at
    /// shutdown, when the private half is about to vanish and nothing new will be signed.
    pub async fn retire(&self, now: OffsetDateTime) -> Result<(), DbError> {
        let kid = self.current.read().expect("lock").kid.clone();
        let last_valid = now + self.ttl + Duration::from_secs(LEEWAY_SECONDS);
        db::signing_keys::retire(&self.db, &kid, last_valid).await?;
        Ok(())
    }

    async fn rotate(&self, now: OffsetDateTime) -> Result<(), DbError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).expect("the OS random source works");
        let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).expect("ring parses its own key");
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        let kid = URL_SAFE_NO_PAD.encode(&Sha256::digest(x.as_bytes())[..12]);
        let row = PublicKeyRow {
            kid: kid.clone(),
            algorithm: "EdDSA".into(),
            public_key: x.clone(),
        };
        // The key verifies for as long as it signs plus the life of the last token it signed.
        db::signing_keys::insert(&self.db, &row, now, now + KEY_SIGNING_LIFE + self.ttl * 2)
            .await?;
        let decoding = DecodingKey::from_ed_components(&x).expect("valid Ed25519 key");
        self.known
            .write()
            .expect("lock")
            .insert(kid.clone(), decoding);
        *self.current.write().expect("lock") = Arc::new(SigningKey {
            kid,
            encoding: EncodingKey::from_ed_der(pkcs8.as_ref()),
            created: now,
        });
        Ok(())
    }

    /// Signs an access token for a login session; returns it and its lifetime in seconds.
    pub fn issue(
        &self,
        principal_id: Uuid,
        session_id: Uuid,
        display: &str,
        now: OffsetDateTime,
    ) -> (String, u64) {
        let key = self.current.read().expect("lock").clone();
        let iat = now.unix_timestamp();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.into(),
            sub: principal_id,
            sid: session_id,
            jti: Uuid::new_v4(),
            iat,
            nbf: iat,
            exp: iat + self.ttl.as_secs() as i64,
            name: display.to_owned(),
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .expect("EdDSA signing cannot fail");
        (token, self.ttl.as_secs())
    }

    /// Checks signature, algorithm, issuer, audience, expiry and not-before.
    pub async fn verify(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<AccessClaims, TokenError> {
        let invalid = |m: &str| TokenError::Invalid(m.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        if header.alg != Algorithm::EdDSA {
            return Err(invalid("unexpected signing algorithm"));
        }
        let kid = header.kid.ok_or_else(|| invalid("no key id"))?;
        let key = self
            .decoding_key(&kid, now)
            .await?
            .ok_or_else(|| invalid("unknown signing key"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        jsonwebtoken::decode::<AccessClaims>(token, &key, &validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind::*;
                invalid(match e.kind() {
                    ExpiredSignature => "expired",
                    ImmatureSignature => "not valid yet",
                    InvalidIssuer => "wrong issuer",
                    InvalidAudience => "wrong audience",
                    InvalidSignature => "bad signature",
                    _ => "malformed",
                })
            })
    }

    async fn decoding_key(
        &self,
        kid: &str,
        now: OffsetDateTime,
    ) -> Result<Option<DecodingKey>, DbError> {
        if let Some(key) = self.known.read().expect("lock").get(kid) {
            return Ok(Some(key.clone()));
        }
        let Some(row) = db::signing_keys::find_live(&self.db, kid, now).await? else {
            return Ok(None);
        };
        let Ok(key) = DecodingKey::from_ed_components(&row.public_key) else {
            return Ok(None);
        };
        self.known
            .write()
            .expect("lock")
            .insert(kid.to_owned(), key.clone());
        Ok(Some(key))
    }

    /// The JWKS document of every live key.
    pub async fn jwks(&self, now: OffsetDateTime) -> Result<serde_json::Value, DbError> {
        let keys: Vec<_> = db::signing_keys::live(&self.db, now)
            .await?
            .into_iter()
            .map(|k| {
                serde_json::json!({
                    "kty": "OKP", "crv": "Ed25519", "use": "sig",
                    "alg": k.algorithm, "kid": k.kid, "x": k.public_key,
                })
            })
            .collect();
        Ok(serde_json::json!({ "keys": keys }))
    }
}

/// Replaced by a real key before `start` returns.
fn placeholder_key() -> SigningKey {
    SigningKey {
        kid: String::new(),
        encoding: EncodingKey::from_secret(b"unused"),
        created: OffsetDateTime::UNIX_EPOCH,
    }
}
