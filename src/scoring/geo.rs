//! Countries: the ISO 3166-1 alpha-2 code list (for validation) and approximate centroids of
//! the larger countries (for the impossible-travel feature). Distances between countries
//! without a centroid fall back to a conservative guess.

/// Officially assigned ISO 3166-1 alpha-2 codes.
const CODES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// Approximate centroids (latitude, longitude) of frequently seen countries.
const CENTROIDS: &[(&str, f64, f64)] = &[
    ("AE", 24.0, 54.0),
    ("AR", -34.0, -64.0),
    ("AT", 47.5, 14.5),
    ("AU", -25.0, 134.0),
    ("BE", 50.8, 4.5),
    ("BG", 42.7, 25.5),
    ("BR", -10.0, -52.0),
    ("CA", 56.0, -96.0),
    ("CH", 46.8, 8.2),
    ("CL", -33.0, -71.0),
    ("CN", 35.0, 103.0),
    ("CO", 4.0, -73.0),
    ("CZ", 49.8, 15.5),
    ("DE", 51.0, 10.0),
    ("DK", 56.0, 10.0),
    ("EE", 58.6, 25.0),
    ("EG", 26.0, 30.0),
    ("ES", 40.0, -4.0),
    ("FI", 64.0, 26.0),
    ("FR", 46.5, 2.5),
    ("GB", 54.0, -2.0),
    ("GR", 39.0, 22.0),
    ("HK", 22.3, 114.2),
    ("HR", 45.1, 15.2),
    ("HU", 47.2, 19.5),
    ("ID", -2.0, 118.0),
    ("IE", 53.4, -8.0),
    ("IL", 31.0, 35.0),
    ("IN", 21.0, 78.0),
    ("IS", 65.0, -18.0),
    ("IT", 42.8, 12.8),
    ("JP", 36.0, 138.0),
    ("KE", 0.0, 38.0),
    ("KR", 36.5, 127.9),
    ("LT", 55.2, 24.0),
    ("LU", 49.8, 6.1),
    ("LV", 56.9, 24.6),
    ("MA", 32.0, -6.0),
    ("MX", 23.0, -102.0),
    ("MY", 3.0, 102.0),
    ("NG", 9.0, 8.0),
    ("NL", 52.2, 5.3),
    ("NO", 62.0, 10.0),
    ("NZ", -41.0, 174.0),
    ("PE", -10.0, -76.0),
    ("PH", 13.0, 122.0),
    ("PK", 30.0, 70.0),
    ("PL", 52.0, 19.0),
    ("PT", 39.5, -8.0),
    ("RO", 46.0, 25.0),
    ("RS", 44.0, 21.0),
    ("RU", 60.0, 90.0),
    ("SA", 24.0, 45.0),
    ("SE", 62.0, 15.0),
    ("SG", 1.35, 103.8),
    ("SI", 46.1, 14.8),
    ("SK", 48.7, 19.5),
    ("TH", 15.0, 100.0),
    ("TR", 39.0, 35.0),
    ("TW", 23.7, 121.0),
    ("UA", 49.0, 32.0),
    ("US", 39.8, -98.6),
    ("VN", 16.0, 106.0),
    ("ZA", -29.0, 24.0),
];

/// Distance assumed between two different countries when a centroid is unknown: short
/// enough not to call a real border crossing impossible over a few hours.
const UNKNOWN_DISTANCE_KM: f64 = 500.0;

/// True for an assigned alpha-2 code (upper case).
pub fn is_country(code: &str) -> bool {
    code.len() == 2 && CODES.split(' ').any(|c| c == code)
}

fn centroid(code: &str) -> Option<(f64, f64)> {
    CENTROIDS
        .iter()
        .find(|(c, _, _)| *c == code)
        .map(|(_, lat, lon)| (*lat, *lon))
}

/// Great-circle distance between two countries' centroids, km (0 for the same country).
pub fn distance_km(a: &str, b: &str) -> f64 {
    if a == b {
        return 0.0;
    }
    match (centroid(a), centroid(b)) {
        (Some((lat1, lon1)), Some((lat2, lon2))) => {
            let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
            let dp = (lat2 - lat1).to_radians();
            let dl = (lon2 - lon1).to_radians();
            let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
            2.0 * 6371.0 * h.sqrt().asin()
        }
        _ => UNKNOWN_DISTANCE_KM,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_checked_against_the_assigned_list() {
        assert!(is_country("DE"));
        assert!(is_country("US"));
        assert!(!is_country("XX"));
        assert!(!is_country("de"));
        assert!(!is_country("DEU"));
    }

    #[test]
    fn distances_are_plausible() {
        let de_us = distance_km("DE", "US");
        assert!((7000.0..9000.0).contains(&de_us), "{de_us}");
        assert_eq!(distance_km("FR", "FR"), 0.0);
        assert_eq!(distance_km("AD", "FR"), UNKNOWN_DISTANCE_KM);
    }
}
