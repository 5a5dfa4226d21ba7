//! Token material: the HS256 key file, access tokens (JWT), opaque refresh tokens, API key
//! secrets and their hashes. Only hashes of refresh tokens and API keys are stored.

use std::path::Path;

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `n` random bytes, base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 hex of a secret, the form stored in the database.
pub fn sha256_hex(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A new API key: `lg_` followed by 32 random bytes in base62.
pub fn new_api_key() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    // Big-number base conversion of the 32 bytes keeps all 256 bits.
    let mut digits = Vec::with_capacity(44);
    let mut num = bytes.to_vec();
    while num.iter().any(|&b| b != 0) {
        let mut rem = 0u32;
        for b in num.iter_mut() {
            let acc = (rem << 8) | u32::from(*b);
            *b = (acc / 62) as u8;
            rem = acc % 62;
        }
        digits.push(BASE62[rem as usize]);
    }
    while digits.len() < 43 {
        digits.push(b'0');
    }
    digits.reverse();
    format!("lg_{}", String::from_utf8_lossy(&digits))
}

/// Whether `s` looks like one of our API keys (cheap pre-check before hashing).
pub fn looks_like_api_key(s: &str) -> bool {
    s.len() >= 40
        && s.len() <= 64
        && s.starts_with("lg_")
        && s[3..].bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
    /// The refresh-token family (session) this token was issued for.
    pub sid: String,
}

/// The HS256 signing key and the pinned validation rules.
pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
}

impl Jwt {
    pub fn new(key: &[u8], issuer: &str, audience: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.algorithms = vec![Algorithm::HS256];
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(key),
            decoding: DecodingKey::from_secret(key),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
        }
    }

    /// Signs an access token for `sub` valid `ttl_s` seconds.
    pub fn issue(
        &self,
        sub: &str,
        role: &str,
        sid: &str,
        ttl_s: i64,
    ) -> Result<(String, Claims), String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            role: role.to_owned(),
            jti: uuid::Uuid::now_v7().to_string(),
            iat: now,
            exp: now + ttl_s,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sid: sid.to_owned(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| format!("cannot sign token: {e}"))?;
        Ok((token, claims))
    }

    /// Verifies signature, algorithm, issuer, audience and expiry.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|d| d.claims)
    }
}

/// Reads the 32-byte key at `path`, creating it (mode 0600) when missing.
pub fn load_or_create_key(path: &Path) -> Result<Vec<u8>, String> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => Ok(bytes),
        Ok(_) => Err(format!(
            "the JWT key {} is shorter than 32 bytes",
            path.display()
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = path.parent() {
                crate::store::ensure_private_dir(parent).map_err(|e| e.to_string())?;
            }
            let mut key = vec![0u8; 32];
            rand::rng().fill_bytes(&mut key);
            write_private(path, &key)
                .map_err(|e| format!("cannot create the JWT key {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("cannot read the JWT key {}: {e}", path.display())),
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_have_the_documented_shape() {
        let k = new_api_key();
        assert!(looks_like_api_key(&k), "{k}");
        assert_eq!(k.len(), 46);
        assert_ne!(new_api_key(), new_api_key());
    }

    #[test]
    fn tokens_round_trip_and_foreign_ones_fail() {
        let jwt = Jwt::new(&[7u8; 32], "ledgerguard", "ledgerguard");
        let (t, c) = jwt.issue("user-1", "admin", "fam", 60).unwrap();
        assert_eq!(jwt.verify(&t).unwrap().jti, c.jti);
        let other = Jwt::new(&[8u8; 32], "ledgerguard", "ledgerguard");
        assert!(other.verify(&t).is_none());
        let wrong_aud = Jwt::new(&[7u8; 32], "ledgerguard", "someone-else");
        assert!(wrong_aud.verify(&t).is_none());
        let (expired, _) = jwt.issue("user-1", "admin", "fam", -60).unwrap();
        assert!(jwt.verify(&expired).is_none());
    }
}
