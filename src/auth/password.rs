//! Passwords: the policy (length and zxcvbn strength, with a reason when refused) and bcrypt
//! hashing. Hashing and verifying are slow by design; call them off the async executor.

use std::sync::OnceLock;

use crate::config::AuthSettings;

/// Checks `password` against the policy; `Err` says why in a sentence for the user.
pub fn check_policy(
    password: &str,
    user_inputs: &[&str],
    auth: &AuthSettings,
) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < auth.password_min_length {
        return Err(format!(
            "must be at least {} characters long",
            auth.password_min_length
        ));
    }
    if password.len() > 72 {
        // bcrypt reads only the first 72 bytes; a longer password would be silently truncated.
        return Err("must be at most 72 bytes long".into());
    }
    let estimate = zxcvbn::zxcvbn(password, user_inputs);
    let score = estimate.score() as u8;
    if score < auth.password_min_strength {
        let mut why = format!(
            "is too easy to guess (strength {score} of 4, at least {} needed)",
            auth.password_min_strength
        );
        if let Some(feedback) = estimate.feedback() {
            if let Some(w) = feedback.warning() {
                why.push_str(&format!(": {w}"));
            }
            if let Some(s) = feedback.suggestions().first() {
                why.push_str(&format!(". {s}"));
            }
        }
        return Err(why);
    }
    Ok(())
}

/// A bcrypt hash of `password` at `cost`.
pub fn hash(password: &str, cost: u32) -> Result<String, String> {
    bcrypt::hash(password, cost).map_err(|e| format!("cannot hash password: {e}"))
}

/// True when `password` matches `hash`; a malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    bcrypt::verify(password, hash).unwrap_or(false)
}

/// A hash of a random password at `cost`, verified against when the email is unknown so that
/// unknown emails take as long as wrong passwords.
pub fn dummy_hash(cost: u32) -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let random = crate::auth::tokens::random_token(24);
        bcrypt::hash(random, cost).unwrap_or_default()
    })
}

/// A strong random password (printed once by the CLI when none is given).
pub fn generate() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_weak_passwords_are_refused_with_a_reason() {
        let auth = AuthSettings::default();
        assert!(check_policy("short", &[], &auth)
            .unwrap_err()
            .contains("12 characters"));
        let weak = check_policy("passwordpassword", &[], &auth).unwrap_err();
        assert!(weak.contains("too easy to guess"), "{weak}");
        assert!(check_policy("correct horse battery staple 42!", &[], &auth).is_ok());
        assert!(check_policy(&"Ab1!".repeat(20), &[], &auth)
            .unwrap_err()
            .contains("72 bytes"));
    }

    #[test]
    fn email_in_password_lowers_strength() {
        let auth = AuthSettings::default();
        assert!(check_policy(
            "alice.smith@example.com",
            &["alice.smith@example.com"],
            &auth
        )
        .is_err());
    }

    #[test]
    fn generated_passwords_pass_the_policy() {
        let auth = AuthSettings::default();
        for _ in 0..5 {
            check_policy(&generate(), &[], &auth).unwrap();
        }
    }
}
