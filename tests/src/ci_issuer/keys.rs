//! The issuer's RSA signing key, and a foreign one for forgeries (made once per test run).

use super::*;

/// An RSA key pair usable for RS256 signing and publishable as a JWK.
pub struct RsaKey {
    encoding: EncodingKey,
    /// The public key as SPKI PEM (what a confused verifier would use as an HMAC secret).
    pub public_pem: String,
    n: String,
    e: String,
}

impl RsaKey {
    fn generate() -> RsaKey {
        let private = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).expect("RSA key generation");
        let der = private.to_pkcs1_der().expect("PKCS#1 DER");
        let public = private.to_public_key();
        RsaKey {
            encoding: EncodingKey::from_rsa_der(der.as_bytes()),
            public_pem: public
                .to_public_key_pem(LineEnding::LF)
                .expect("public key PEM"),
            n: URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            e: URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
        }
    }

    /// The public key as a JWK naming `kid`.
    pub fn jwk(&self, kid: &str) -> Value {
        json!({ "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid, "n": self.n, "e": self.e })
    }

    /// Signs `claims` with RS256 under this key; `kid` goes into the header.
    pub fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        self.sign_with(&header, claims)
    }

    /// Signs `claims` under this key with a header of the caller's making (RS* algorithms).
    pub fn sign_with(&self, header: &Header, claims: &Value) -> String {
        jsonwebtoken::encode(header, claims, &self.encoding).expect("signing")
    }
}

/// RSA key generation is slow in debug builds: one issuer key and one foreign key per test
/// process, shared by every issuer (each test still has its own issuer URL and server).
pub(crate) fn keys() -> &'static (RsaKey, RsaKey) {
    static KEYS: OnceLock<(RsaKey, RsaKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        let issuer = std::thread::spawn(RsaKey::generate);
        let foreign = RsaKey::generate();
        (issuer.join().expect("key generation thread"), foreign)
    })
}

/// A key no issuer publishes (for forged tokens).
pub fn foreign_key() -> &'static RsaKey {
    &keys().1
}
