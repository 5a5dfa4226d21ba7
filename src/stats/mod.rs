//! Dashboard statistics: `GET /stats/overview` and `GET /stats/timeseries`, answered from the
//! per-minute roll-up tables (`stats_minute`, `stats_blocked_minute`) and a few indexed counts,
//! never a scan of `transactions`.
//!
//! `rollup` is how writers keep those tables right in the same write as the change (ingestion
//! calls it for every transaction; alert resolution for fraud labels). `store` reads them,
//! `routes` serves them.

pub mod rollup;
pub mod routes;
pub mod store;

pub use store::{overview, Overview};

/// ISO 4217 minor digits for the currencies that do not have two.
fn minor_digits(currency: &str) -> u32 {
    match currency {
        "BIF" | "CLP" | "DJF" | "GNF" | "ISK" | "JPY" | "KMF" | "KRW" | "PYG" | "RWF" | "UGX"
        | "UYI" | "VND" | "VUV" | "XAF" | "XOF" | "XPF" => 0,
        "BHD" | "IQD" | "JOD" | "KWD" | "LYD" | "OMR" | "TND" => 3,
        "CLF" | "UYW" => 4,
        _ => 2,
    }
}

/// Integer minor units as the API's decimal string (`12550`, `USD` → `"125.50"`).
pub fn format_amount(minor: i64, currency: &str) -> String {
    let digits = minor_digits(currency);
    if digits == 0 {
        return minor.to_string();
    }
    let scale = 10i128.pow(digits);
    let value = i128::from(minor);
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.abs();
    format!(
        "{sign}{}.{:0width$}",
        abs / scale,
        abs % scale,
        width = digits as usize
    )
}

#[cfg(test)]
mod tests {
    use super::format_amount;

    #[test]
    fn amounts_use_the_currency_minor_digits() {
        assert_eq!(format_amount(12550, "USD"), "125.50");
        assert_eq!(format_amount(5, "EUR"), "0.05");
        assert_eq!(format_amount(-5, "EUR"), "-0.05");
        assert_eq!(format_amount(1000, "JPY"), "1000");
        assert_eq!(format_amount(1234, "KWD"), "1.234");
        assert_eq!(format_amount(i64::MIN, "USD"), "-92233720368547758.08");
    }
}
