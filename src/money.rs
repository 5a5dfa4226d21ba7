//! Money: the ISO 4217 currency table with each currency's minor digits, parsing an amount
//! (JSON number or decimal string) into integer minor units, and formatting minor units back
//! as a decimal string. Floats never touch money: a JSON number is read through its decimal
//! text, never through `f64` arithmetic.

use serde::Serialize;

/// Largest accepted amount in minor units (10^15: a quadrillion cents is far beyond any real
/// payment, and sums of millions of such amounts still fit in `i64`).
pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

/// Active ISO 4217 codes with two minor digits.
const TWO_DIGITS: &str = "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW ZWG";
/// Active ISO 4217 codes without minor units.
const ZERO_DIGITS: &str = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF";
/// Active ISO 4217 codes with three minor digits.
const THREE_DIGITS: &str = "BHD IQD JOD KWD LYD OMR TND";
/// Active ISO 4217 codes with four minor digits.
const FOUR_DIGITS: &str = "CLF UYW";

/// Every assigned code, indexed once.
fn table() -> &'static std::collections::HashMap<&'static str, Currency> {
    static TABLE: std::sync::OnceLock<std::collections::HashMap<&'static str, Currency>> =
        std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        [
            (TWO_DIGITS, 2),
            (ZERO_DIGITS, 0),
            (THREE_DIGITS, 3),
            (FOUR_DIGITS, 4),
        ]
        .into_iter()
        .flat_map(|(codes, minor_digits)| {
            codes
                .split(' ')
                .map(move |code| (code, Currency { code, minor_digits }))
        })
        .collect()
    })
}

/// An assigned ISO 4217 currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Currency {
    pub code: &'static str,
    /// Digits after the decimal point (the exponent of its minor unit).
    pub minor_digits: u8,
}

impl Currency {
    /// Looks up an upper-case code; `None` for anything not assigned. Constant time: it
    /// runs several times for every scored transaction.
    pub fn parse(code: &str) -> Option<Currency> {
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return None;
        }
        table().get(code).copied()
    }

    /// 10^minor_digits.
    pub fn scale(self) -> i64 {
        10_i64.pow(u32::from(self.minor_digits))
    }
}

/// Why an amount was refused (the message is shown to the client).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("must be a decimal number such as 125.50, without exponent")]
    NotDecimal,
    #[error("has more decimals than the currency allows ({0})")]
    TooPrecise(u8),
    #[error("must be greater than 0")]
    NotPositive,
    #[error("is too large")]
    TooLarge,
    #[error("must be a number or a decimal string")]
    WrongType,
}

/// Parses `text` (`"125"`, `"125.5"`, `"1.230"`) into minor units of `currency`. Trailing
/// zeros beyond the currency's digits are allowed; significant extra decimals are not.
pub fn parse_decimal(text: &str, currency: Currency) -> Result<i64, AmountError> {
    let text = text.trim();
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, f),
        None => (body, ""),
    };
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() && frac.is_empty()
        || !digits_only(whole)
        || !digits_only(frac)
        || (body.contains('.') && frac.is_empty())
    {
        return Err(AmountError::NotDecimal);
    }
    let allowed = usize::from(currency.minor_digits);
    let (kept, extra) = if frac.len() > allowed {
        frac.split_at(allowed)
    } else {
        (frac, "")
    };
    if extra.bytes().any(|b| b != b'0') {
        return Err(AmountError::TooPrecise(currency.minor_digits));
    }
    let whole = whole.trim_start_matches('0');
    if whole.len() > 16 {
        return Err(AmountError::TooLarge);
    }
    let whole_value: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| AmountError::TooLarge)?
    };
    let mut frac_value: i64 = 0;
    for i in 0..allowed {
        let d = kept
            .as_bytes()
            .get(i)
            .map(|b| i64::from(b - b'0'))
            .unwrap_or(0);
        frac_value = frac_value * 10 + d;
    }
    let minor = whole_value
        .checked_mul(currency.scale())
        .and_then(|v| v.checked_add(frac_value))
        .ok_or(AmountError::TooLarge)?;
    if negative || minor == 0 {
        return Err(AmountError::NotPositive);
    }
    if minor > MAX_MINOR {
        return Err(AmountError::TooLarge);
    }
    Ok(minor)
}

/// Parses a JSON amount: a number (read through its decimal text) or a decimal string.
pub fn parse_json_amount(
    value: &serde_json::Value,
    currency: Currency,
) -> Result<i64, AmountError> {
    match value {
        serde_json::Value::String(s) => parse_decimal(s, currency),
        serde_json::Value::Number(n) => {
            let text = n.to_string();
            if text.contains(['e', 'E']) {
                // serde_json prints very large or tiny floats with an exponent.
                return Err(if n.as_f64().is_some_and(|f| f.abs() >= 1.0) {
                    AmountError::TooLarge
                } else {
                    AmountError::TooPrecise(currency.minor_digits)
                });
            }
            parse_decimal(&text, currency)
        }
        _ => Err(AmountError::WrongType),
    }
}

/// Formats minor units as a decimal string with the currency's digits (`12550` USD → `125.50`).
pub fn format_minor(minor: i64, minor_digits: u8) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    if minor_digits == 0 {
        return format!("{sign}{abs}");
    }
    let scale = 10_u64.pow(u32::from(minor_digits));
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = usize::from(minor_digits)
    )
}

/// Formats minor units of the currency `code` (two digits when the code is unknown).
pub fn format_code(minor: i64, code: &str) -> String {
    let digits = Currency::parse(code).map(|c| c.minor_digits).unwrap_or(2);
    format_minor(minor, digits)
}

/// Minor units as a float in major units, for features and CEL (`txn.amount`) only; never
/// for storing or summing money.
pub fn to_major_f64(minor: i64, code: &str) -> f64 {
    let digits = Currency::parse(code).map(|c| c.minor_digits).unwrap_or(2);
    minor as f64 / 10_f64.powi(i32::from(digits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn currency_table_knows_minor_digits_and_refuses_unassigned_codes() {
        assert_eq!(usd().minor_digits, 2);
        assert_eq!(Currency::parse("JPY").unwrap().minor_digits, 0);
        assert_eq!(Currency::parse("KWD").unwrap().minor_digits, 3);
        assert_eq!(Currency::parse("CLF").unwrap().minor_digits, 4);
        for bad in ["usd", "ZZZ", "US", "USDD", "", "XXX", "€"] {
            assert!(Currency::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn decimal_strings_become_exact_minor_units() {
        assert_eq!(parse_decimal("125.50", usd()), Ok(12550));
        assert_eq!(parse_decimal("125.5", usd()), Ok(12550));
        assert_eq!(parse_decimal("125", usd()), Ok(12500));
        assert_eq!(parse_decimal("1.230", usd()), Ok(123));
        assert_eq!(parse_decimal("0.01", usd()), Ok(1));
        assert_eq!(parse_decimal(".5", usd()), Ok(50));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(parse_decimal("1000", jpy), Ok(1000));
        assert_eq!(parse_decimal("1000.0", jpy), Ok(1000));
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(parse_decimal("1.234", kwd), Ok(1234));
    }

    #[test]
    fn bad_amounts_are_refused_with_a_reason() {
        assert_eq!(
            parse_decimal("1.234", usd()),
            Err(AmountError::TooPrecise(2))
        );
        assert_eq!(parse_decimal("1e3", usd()), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("1.", usd()), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("abc", usd()), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("1,00", usd()), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("", usd()), Err(AmountError::NotDecimal));
        assert_eq!(parse_decimal("0", usd()), Err(AmountError::NotPositive));
        assert_eq!(parse_decimal("-5", usd()), Err(AmountError::NotPositive));
        assert_eq!(
            parse_decimal("99999999999999999999999", usd()),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            parse_decimal("10000000000000.01", usd()),
            Err(AmountError::TooLarge)
        );
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(parse_decimal("1.5", jpy), Err(AmountError::TooPrecise(0)));
    }

    #[test]
    fn json_numbers_are_read_through_their_decimal_text() {
        let v: serde_json::Value = serde_json::from_str("125.5").unwrap();
        assert_eq!(parse_json_amount(&v, usd()), Ok(12550));
        let v: serde_json::Value = serde_json::from_str("0.1").unwrap();
        assert_eq!(parse_json_amount(&v, usd()), Ok(10));
        let v: serde_json::Value = serde_json::from_str("19.99").unwrap();
        assert_eq!(parse_json_amount(&v, usd()), Ok(1999));
        let v: serde_json::Value = serde_json::from_str("1e300").unwrap();
        assert_eq!(parse_json_amount(&v, usd()), Err(AmountError::TooLarge));
        let v = serde_json::json!(true);
        assert_eq!(parse_json_amount(&v, usd()), Err(AmountError::WrongType));
    }

    #[test]
    fn minor_units_format_with_the_currency_digits() {
        assert_eq!(format_minor(12550, 2), "125.50");
        assert_eq!(format_minor(5, 2), "0.05");
        assert_eq!(format_minor(1000, 0), "1000");
        assert_eq!(format_minor(1234, 3), "1.234");
        assert_eq!(format_minor(-150, 2), "-1.50");
        assert_eq!(format_code(12550, "USD"), "125.50");
    }
}
