//! Where webhooks may go: URL validation when an endpoint is created, and the address check
//! made at send time on the resolved addresses (so a DNS name cannot smuggle a request to a
//! private or loopback service when `notify.webhooks.allow_private = false`).

use std::net::{IpAddr, SocketAddr};

use reqwest::Url;

/// Longest accepted endpoint URL.
pub const MAX_URL_LEN: usize = 2_048;

/// Parses and checks an endpoint URL: http(s), a host, no credentials, no fragment; with
/// `allow_private = false` also no literal private or loopback address or `localhost`.
pub fn parse_url(raw: &str, allow_private: bool) -> Result<Url, String> {
    if raw.len() > MAX_URL_LEN {
        return Err(format!("must be at most {MAX_URL_LEN} characters"));
    }
    let url = Url::parse(raw).map_err(|_| "must be an absolute http or https URL".to_owned())?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err("must use http or https".into());
    }
    let Some(host) = url.host_str() else {
        return Err("must name a host".into());
    };
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    if !allow_private {
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let is_private = match literal.parse::<IpAddr>() {
            Ok(ip) => !is_public(ip),
            Err(_) => host.eq_ignore_ascii_case("localhost") || host.ends_with(".localhost"),
        };
        if is_private {
            return Err("must not point at a private or loopback address".into());
        }
    }
    Ok(url)
}

/// True for addresses on the public internet: not loopback, private, link-local, shared
/// (CGNAT), unspecified, multicast, documentation or unique-local.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8))
        }
    }
}

/// Resolves the URL's host and refuses if any address is not public; returns the address to
/// pin the connection to.
pub async fn resolve_public(url: &Url) -> Result<SocketAddr, String> {
    let host = url
        .host_str()
        .ok_or_else(|| "the URL has no host".to_owned())?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = url.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot resolve the host: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err("the host resolves to no address".into());
    }
    if let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "refused: the host resolves to the non-public address {} (notify.webhooks.allow_private = false)",
            bad.ip()
        ));
    }
    Ok(addrs[0])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_need_http_a_host_and_no_credentials() {
        assert!(parse_url("https://hooks.example.com/x?y=1", true).is_ok());
        assert!(parse_url("ftp://example.com/", true).is_err());
        assert!(parse_url("javascript:alert(1)", true).is_err());
        assert!(parse_url("https://user:pw@example.com/", true).is_err());
        assert!(parse_url("not a url", true).is_err());
        assert!(parse_url(&format!("https://e.com/{}", "a".repeat(3000)), true).is_err());
    }

    #[test]
    fn private_literals_are_refused_only_when_configured() {
        for u in [
            "http://127.0.0.1:8080/",
            "http://10.1.2.3/",
            "http://[::1]/",
            "http://169.254.169.254/latest/meta-data",
            "http://localhost/",
            "http://[::ffff:192.168.0.1]/",
        ] {
            assert!(parse_url(u, true).is_ok(), "{u}");
            assert!(parse_url(u, false).is_err(), "{u}");
        }
        assert!(parse_url("http://93.184.216.34/", false).is_ok());
    }

    #[tokio::test]
    async fn resolution_to_loopback_is_refused() {
        let url = Url::parse("http://localhost:9/").unwrap();
        assert!(resolve_public(&url).await.is_err());
    }
}
