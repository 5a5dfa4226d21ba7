//! Input rules for identity fields, shared by the API and the CLI.

use crate::http::FieldError;

/// A normalised email (trimmed, lower-case) or why it is not one.
pub fn email(raw: &str) -> Result<String, String> {
    let e = raw.trim().to_lowercase();
    if e.is_empty() {
        return Err("must not be empty".into());
    }
    if e.len() > 254 {
        return Err("must be at most 254 characters".into());
    }
    let Some((local, domain)) = e.split_once('@') else {
        return Err("must be an email address".into());
    };
    let bad = |c: char| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"'`".contains(c);
    if local.is_empty()
        || domain.is_empty()
        || !domain.contains('.')
        || e.chars().any(bad)
        || domain.contains('@')
    {
        return Err("must be an email address".into());
    }
    Ok(e)
}

/// A display name: 1–200 characters, no control characters.
pub fn name(raw: &str) -> Result<String, String> {
    let n = raw.trim();
    if n.is_empty() {
        return Err("must not be empty".into());
    }
    if n.chars().count() > 200 {
        return Err("must be at most 200 characters".into());
    }
    if n.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    Ok(n.to_owned())
}

/// Collects a field check into `errors`.
pub fn collect<T>(errors: &mut Vec<FieldError>, field: &str, r: Result<T, String>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(m) => {
            errors.push(FieldError::new(field, m));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(email(" Alice@Example.COM ").unwrap(), "alice@example.com");
        for bad in [
            "",
            "nope",
            "a@b",
            "a b@c.de",
            "x@y.z<script>",
            "' OR 1=1 --@x.io",
            "a@b@c.de",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(email(&format!("{}@example.com", "a".repeat(300))).is_err());
    }

    #[test]
    fn names_refuse_control_characters() {
        assert!(name("Zoë 李").is_ok());
        assert!(name("a\u{0}b").is_err());
        assert!(name("   ").is_err());
    }
}
