//! Explainable scam indicators: hand-written checks that name what in a message looks like
//! fraud (urgency, credential or OTP requests, payment redirection, look-alike or raw-IP links,
//! link shorteners, gift cards and crypto). Each carries a weight the analyser folds into
//! the score; none needs the statistical model.

use std::net::IpAddr;

use serde::Serialize;

/// One indicator found in a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub code: &'static str,
    pub message: String,
    /// Strength in [0, 1]; combined as independent evidence (noisy-or).
    #[serde(skip)]
    pub weight: f64,
}

const URGENCY: &[&str] = &[
    "urgent",
    "immediately",
    "act now",
    "right away",
    "asap",
    "within 24 hours",
    "within 24hrs",
    "within 48 hours",
    "final notice",
    "last chance",
    "last warning",
    "expires today",
    "account will be suspended",
    "account has been suspended",
    "account will be closed",
    "account has been locked",
    "has been locked",
    "will be blocked",
    "unusual activity",
    "suspicious activity",
];

const OTP: &[&str] = &[
    "otp",
    "one-time password",
    "one time password",
    "one-time code",
    "one time code",
    "verification code",
    "security code",
    "authentication code",
    "2fa code",
    "code we sent",
    "code you received",
];

const CREDENTIALS: &[&str] = &[
    "password",
    "passcode",
    "pin number",
    "your pin",
    "login details",
    "log in details",
    "sign-in details",
    "username and password",
    "verify your account",
    "verify your identity",
    "confirm your identity",
    "confirm your account",
    "update your account",
    "card number",
    "cvv",
    "security question",
    "social security number",
    "online banking details",
];

const PAYMENT_REDIRECTION: &[&str] = &[
    "new bank details",
    "new account details",
    "changed our bank",
    "changed bank",
    "change of bank",
    "updated bank details",
    "update the bank details",
    "update payment details",
    "new account number",
    "different account",
    "pay to this account",
    "send the payment to",
    "transfer the money to",
    "wire the funds",
    "wire transfer",
    "safe account",
    "iban",
    "sort code",
];

const GIFT_CARDS: &[&str] = &[
    "gift card",
    "giftcard",
    "itunes card",
    "google play card",
    "steam card",
    "amazon card",
    "voucher code",
    "scratch the back",
];

const CRYPTO: &[&str] = &[
    "bitcoin",
    "btc",
    "crypto",
    "usdt",
    "tether",
    "ethereum",
    "wallet address",
    "binance",
];

const SHORTENERS: &[&str] = &[
    "bit.ly",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "cutt.ly",
    "rb.gy",
    "shorturl.at",
    "tiny.cc",
];

/// Brands impersonated often, with the registrable domains that really belong to them.
const BRANDS: &[(&str, &[&str])] = &[
    ("paypal", &["paypal.com", "paypal.me"]),
    (
        "amazon",
        &[
            "amazon.com",
            "amazon.co.uk",
            "amazon.de",
            "amazon.fr",
            "amazon.in",
        ],
    ),
    ("apple", &["apple.com", "icloud.com"]),
    (
        "microsoft",
        &["microsoft.com", "live.com", "outlook.com", "office.com"],
    ),
    ("google", &["google.com", "gmail.com"]),
    ("netflix", &["netflix.com"]),
    ("facebook", &["facebook.com"]),
    ("instagram", &["instagram.com"]),
    ("whatsapp", &["whatsapp.com"]),
    ("dhl", &["dhl.com", "dhl.de"]),
    ("fedex", &["fedex.com"]),
    ("ups", &["ups.com"]),
    ("usps", &["usps.com"]),
    ("irs", &["irs.gov"]),
    ("hmrc", &["gov.uk"]),
    ("chase", &["chase.com"]),
    ("wellsfargo", &["wellsfargo.com"]),
    ("bankofamerica", &["bankofamerica.com"]),
    ("barclays", &["barclays.co.uk", "barclays.com"]),
    ("hsbc", &["hsbc.com", "hsbc.co.uk"]),
    ("santander", &["santander.co.uk", "santander.com"]),
    ("revolut", &["revolut.com"]),
    ("coinbase", &["coinbase.com"]),
];

fn contains_phrase(text: &str, phrases: &'static [&'static str]) -> Option<&'static str> {
    phrases.iter().copied().find(|p| phrase_present(text, p))
}

/// True when `phrase` occurs in `text` (both lower case) on word boundaries.
fn phrase_present(text: &str, phrase: &str) -> bool {
    let mut from = 0;
    while let Some(pos) = text[from..].find(phrase) {
        let start = from + pos;
        let end = start + phrase.len();
        let before = text[..start].chars().next_back();
        let after = text[end..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        if boundary(before) && boundary(after) {
            return true;
        }
        from = start + phrase.len().max(1);
        if from >= text.len() {
            break;
        }
        while !text.is_char_boundary(from) {
            from += 1;
        }
    }
    false
}

/// Host names of the links in `text`: `scheme://host…`, `www.host…`, and bare
/// `name.tld/…` words.
pub fn link_hosts(text: &str) -> Vec<String> {
    let mut hosts = Vec::new();
    for word in text.split_whitespace().take(2_000) {
        let w = word.trim_matches(|c: char| "()[]<>\"',;!?".contains(c));
        let lower = w.to_lowercase();
        let rest = if let Some(i) = lower.find("://") {
            &lower[i + 3..]
        } else if lower.starts_with("www.") || looks_like_bare_domain(&lower) {
            &lower[..]
        } else {
            continue;
        };
        let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
        let host_port = host_port.rsplit('@').next().unwrap_or(host_port);
        let host = strip_port(host_port).trim_end_matches('.');
        if !host.is_empty() && host.len() <= 253 {
            hosts.push(host.to_owned());
        }
    }
    hosts
}

fn strip_port(host_port: &str) -> &str {
    if host_port.starts_with('[') {
        return host_port
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("");
    }
    match host_port.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    }
}

fn looks_like_bare_domain(word: &str) -> bool {
    let host = word.split('/').next().unwrap_or("");
    let Some((name, tld)) = host.rsplit_once('.') else {
        return false;
    };
    const TLDS: &[&str] = &[
        "com", "net", "org", "info", "biz", "io", "co", "uk", "de", "ru", "cn", "xyz", "top",
        "online", "site", "app", "me", "ly", "gd", "at", "cc", "us",
    ];
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        && TLDS.contains(&tld)
}

/// The registrable part of a host, approximated as its last two labels (three for
/// `co.uk`-style second-level domains).
fn registrable(host: &str) -> String {
    let labels: Vec<&str> = host.split('.').collect();
    let n = labels.len();
    if n >= 3
        && ["co", "com", "org", "gov", "ac"].contains(&labels[n - 2])
        && labels[n - 1].len() == 2
    {
        labels[n - 3..].join(".")
    } else if n >= 2 {
        labels[n - 2..].join(".")
    } else {
        host.to_owned()
    }
}

/// Undoes the character swaps look-alike domains use (`paypa1` → `paypal`, `rn` → `m`).
fn unconfuse(s: &str) -> String {
    s.replace("rn", "m")
        .replace("vv", "w")
        .chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' | '|' => 'l',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            _ => c,
        })
        .filter(|c| *c != '-' && *c != '.')
        .collect()
}

/// The brand a host imitates without belonging to it, if any.
pub fn lookalike_brand(host: &str) -> Option<&'static str> {
    let reg = registrable(host);
    for (brand, domains) in BRANDS {
        if domains.iter().any(|d| reg == *d || host == *d) {
            continue;
        }
        let plain = host.replace(['-', '.'], "");
        if plain.contains(brand) && brand.len() >= 4 {
            return Some(brand);
        }
        if unconfuse(host).contains(brand) && !plain.contains(brand) {
            return Some(brand);
        }
    }
    None
}

/// Every indicator found in `text` (and in the sender's address, when it is one).
pub fn find(text: &str, sender: Option<&str>) -> Vec<Indicator> {
    let lower = text.to_lowercase();
    let mut found = Vec::new();
    let mut push = |code: &'static str, message: String, weight: f64| {
        if !found.iter().any(|i: &Indicator| i.code == code) {
            found.push(Indicator {
                code,
                message,
                weight,
            });
        }
    };
    if let Some(p) = contains_phrase(&lower, URGENCY) {
        push(
            "urgency",
            format!("Pressures the reader to act fast (\"{p}\")."),
            0.2,
        );
    }
    if let Some(p) = contains_phrase(&lower, OTP) {
        push(
            "otp_request",
            format!("Asks for a one-time or verification code (\"{p}\"); no genuine service asks for one."),
            0.5,
        );
    }
    if let Some(p) = contains_phrase(&lower, CREDENTIALS) {
        push(
            "credential_request",
            format!("Asks for credentials or card details (\"{p}\")."),
            0.4,
        );
    }
    if let Some(p) = contains_phrase(&lower, PAYMENT_REDIRECTION) {
        push(
            "payment_redirection",
            format!("Redirects a payment to another account (\"{p}\")."),
            0.45,
        );
    }
    if let Some(p) = contains_phrase(&lower, GIFT_CARDS) {
        push(
            "gift_card",
            format!("Asks for payment in gift cards (\"{p}\")."),
            0.45,
        );
    }
    if let Some(p) = contains_phrase(&lower, CRYPTO) {
        push(
            "crypto",
            format!("Mentions payment in crypto-currency (\"{p}\")."),
            0.35,
        );
    }
    let mut hosts = link_hosts(text);
    if let Some(s) = sender {
        if let Some((_, domain)) = s.rsplit_once('@') {
            hosts.push(domain.trim_end_matches('>').to_lowercase());
        }
    }
    for host in &hosts {
        if host.parse::<IpAddr>().is_ok() {
            push(
                "raw_ip_link",
                format!("Links to a bare IP address ({host}) instead of a named site."),
                0.45,
            );
        } else if host.starts_with("xn--") || host.contains(".xn--") {
            push(
                "lookalike_domain",
                format!("Uses an internationalised domain ({host}) that can imitate another."),
                0.5,
            );
        } else if let Some(brand) = lookalike_brand(host) {
            push(
                "lookalike_domain",
                format!("{host} imitates {brand} but is not one of its domains."),
                0.55,
            );
        } else if SHORTENERS.contains(&host.as_str()) {
            push(
                "shortened_link",
                format!("Hides its destination behind a link shortener ({host})."),
                0.15,
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        find(text, None).into_iter().map(|i| i.code).collect()
    }

    #[test]
    fn otp_and_urgency_are_named() {
        let c = codes("URGENT: your account has been locked. Reply with the OTP we sent you.");
        assert!(c.contains(&"urgency"), "{c:?}");
        assert!(c.contains(&"otp_request"), "{c:?}");
    }

    #[test]
    fn words_inside_other_words_do_not_match() {
        // "pin" must not match "shopping", "btc" not "abtcd".
        assert!(codes("Went shopping at abtcd market").is_empty());
    }

    #[test]
    fn raw_ip_and_lookalike_links_are_named() {
        assert!(codes("Log in at http://192.168.4.20:8080/login now").contains(&"raw_ip_link"));
        assert!(codes("Verify at https://paypa1-secure.com/x").contains(&"lookalike_domain"));
        assert!(codes("see paypal-support.xyz/verify").contains(&"lookalike_domain"));
        assert!(codes("Receipt at https://www.paypal.com/activity").is_empty());
        assert!(codes("https://xn--pypal-4ve.com").contains(&"lookalike_domain"));
        assert!(codes("track it: bit.ly/abc").contains(&"shortened_link"));
    }

    #[test]
    fn payment_redirection_gift_cards_and_crypto_are_named() {
        let c = codes("We changed bank: please use our new bank details. Or buy a Google Play card, or pay in Bitcoin.");
        assert!(c.contains(&"payment_redirection"));
        assert!(c.contains(&"gift_card"));
        assert!(c.contains(&"crypto"));
    }

    #[test]
    fn sender_domains_count_as_links() {
        let f = find("hello", Some("security@amaz0n-billing.com"));
        assert_eq!(f[0].code, "lookalike_domain");
    }

    #[test]
    fn plain_messages_have_no_indicators() {
        assert!(codes("See you at lunch tomorrow, bring the slides").is_empty());
    }
}
