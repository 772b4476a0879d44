//! Proxy headers, as uvicorn's `ProxyHeadersMiddleware` reads them: from a trusted peer,
//! `X-Forwarded-Proto` sets the scheme and `X-Forwarded-For` the client (the nearest address
//! that is not a trusted proxy). `Forwarded` (RFC 7239, which uvicorn ignores) is read the same
//! way, for requests that carry no `X-Forwarded-For` (its `for=`) or no `X-Forwarded-Proto`
//! (its `proto=`).

use std::net::IpAddr;

use crate::params::is_python_space;

/// uvicorn's `forwarded_allow_ips`: `*`, or comma-separated addresses, networks and literals.
#[derive(Debug, Default)]
pub struct TrustedProxies {
    always: bool,
    hosts: Vec<IpAddr>,
    networks: Vec<(IpAddr, u8)>,
    /// What is neither an address nor a network (uvicorn compares those as strings).
    literals: Vec<String>,
}

/// The client and scheme the proxy headers give, where they give one.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub client: Option<(String, i64)>,
    pub scheme: Option<&'static str>,
}

impl TrustedProxies {
    pub fn parse(spec: &str) -> TrustedProxies {
        let mut trusted = TrustedProxies { always: spec == "*", ..TrustedProxies::default() };
        if trusted.always {
            return trusted;
        }
        for item in spec.split(',').map(|item| item.trim_matches(is_python_space)) {
            match item.split_once('/') {
                Some((address, prefix)) => match network(address, prefix) {
                    Some(network) => trusted.networks.push(network),
                    None => trusted.literals.push(item.to_string()),
                },
                None => match item.parse::<IpAddr>() {
                    Ok(ip) => trusted.hosts.push(ip),
                    Err(_) => trusted.literals.push(item.to_string()),
                },
            }
        }
        trusted
    }

    /// Whether `host` (an address as the scope shows it, or `None` for a Unix socket peer) is
    /// a trusted proxy.
    pub fn trusts(&self, host: Option<&str>) -> bool {
        if self.always {
            return true;
        }
        let Some(host) = host.filter(|h| !h.is_empty()) else {
            return false;
        };
        match host.parse::<IpAddr>() {
            Ok(ip) => self.hosts.contains(&ip) || self.networks.iter().any(|(net, prefix)| within(ip, *net, *prefix)),
            Err(_) => self.literals.iter().any(|l| l == host),
        }
    }

    /// What the headers of a request from a trusted peer say.
    pub fn resolve(&self, headers: &[httparse::Header<'_>], websocket: bool) -> Forwarded {
        let mut proto: Option<String> = None;
        let mut forwarded_for: Vec<String> = Vec::new();
        let mut rfc7239: Vec<&[u8]> = Vec::new();
        for h in headers {
            if h.name.eq_ignore_ascii_case("x-forwarded-proto") {
                proto = Some(latin1(h.value).trim_matches(is_python_space).to_string());
            } else if h.name.eq_ignore_ascii_case("x-forwarded-for") {
                forwarded_for.push(latin1(h.value));
            } else if h.name.eq_ignore_ascii_case("forwarded") {
                rfc7239.push(h.value);
            }
        }
        let elements = if rfc7239.is_empty() { Vec::new() } else { forwarded_elements(&rfc7239.join(&b","[..])) };
        if proto.is_none() {
            proto = elements.iter().rev().find_map(|e| e.proto.clone()).map(|p| p.to_ascii_lowercase());
        }
        let scheme = proto.and_then(|p| scheme_for(&p, websocket));
        let hosts: Vec<String> = if !forwarded_for.is_empty() {
            forwarded_for.join(", ").split(',').map(|h| h.trim_matches(is_python_space).to_string()).collect()
        } else {
            elements.into_iter().filter_map(|e| e.node).collect()
        };
        let client = (!hosts.is_empty()).then(|| self.client_among(&hosts)).filter(|(host, _)| !host.is_empty());
        Forwarded { client, scheme }
    }

    /// The nearest address that is not a trusted proxy; when all are, the farthest.
    fn client_among(&self, hosts: &[String]) -> (String, i64) {
        if !self.always {
            for value in hosts.iter().rev() {
                let (host, port) = host_and_port(value);
                if !self.trusts(Some(&host)) {
                    return (host, port);
                }
            }
        }
        host_and_port(&hosts[0])
    }
}

/// uvicorn's accepted `X-Forwarded-Proto` values, as the scope shows them.
fn scheme_for(proto: &str, websocket: bool) -> Option<&'static str> {
    let scheme = match proto {
        "http" => "http",
        "https" => "https",
        "ws" => "ws",
        "wss" => "wss",
        _ => return None,
    };
    Some(match (websocket, scheme) {
        (true, "http") => "ws",
        (true, "https") => "wss",
        _ => scheme,
    })
}

/// `ipaddress.ip_network(text)` (strict: no host bits set), as (network address, prefix).
fn network(address: &str, prefix: &str) -> Option<(IpAddr, u8)> {
    let ip: IpAddr = address.parse().ok()?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let prefix: u8 = prefix.parse().ok().filter(|p| *p <= bits)?;
    (masked(ip, prefix) == bits_of(ip)).then_some((ip, prefix))
}

fn bits_of(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `ip` with the bits after `prefix` cleared.
fn masked(ip: IpAddr, prefix: u8) -> u128 {
    let bits: u32 = if ip.is_ipv4() { 32 } else { 128 };
    let host_bits = bits - u32::from(prefix);
    let mask = if host_bits >= 128 { 0 } else { u128::MAX << host_bits };
    bits_of(ip) & mask
}

/// Whether `ip` is inside the network (addresses of the other family never are).
fn within(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    ip.is_ipv4() == network.is_ipv4() && masked(ip, prefix) == masked(network, prefix)
}

/// uvicorn's `_parse_host_port`: `[v6]:port`, `host:port` (one colon), else the value with port 0.
fn host_and_port(value: &str) -> (String, i64) {
    if let Some(inner) = value.strip_prefix('[') {
        let Some(end) = inner.find(']') else {
            return (value.to_string(), 0);
        };
        let (host, rest) = (&inner[..end], &inner[end + 1..]);
        return match rest.strip_prefix(':') {
            _ if rest.is_empty() => (host.to_string(), 0),
            Some(port) => (host.to_string(), python_int(port).unwrap_or(0)),
            None => (value.to_string(), 0),
        };
    }
    if value.matches(':').count() == 1 {
        if let Some((host, port)) = value.rsplit_once(':') {
            return match python_int(port) {
                Some(port) => (host.to_string(), port),
                None => (value.to_string(), 0),
            };
        }
    }
    (value.to_string(), 0)
}

/// Python's `int(text)` for what fits an `i64`: surrounding whitespace, a sign, ASCII digits
/// with single underscores between them.
fn python_int(text: &str) -> Option<i64> {
    let text = text.trim_matches(is_python_space);
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') || digits.contains("__") {
        return None;
    }
    let mut value: i64 = 0;
    for b in digits.bytes().filter(|b| *b != b'_') {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    Some(if negative { -value } else { value })
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// One element of a `Forwarded` header: its `for` node and `proto`, when present.
#[derive(Debug, Default, PartialEq, Eq)]
struct Element {
    node: Option<String>,
    proto: Option<String>,
}

/// RFC 7239 §4: `forwarded-element *( "," forwarded-element )`, each `pair *( ";" pair )`, a
/// pair `token "=" ( token / quoted-string )`. Unparsable pairs are skipped.
fn forwarded_elements(value: &[u8]) -> Vec<Element> {
    let mut elements = vec![Element::default()];
    let mut pos = 0;
    while pos < value.len() {
        match value[pos] {
            b',' => {
                elements.push(Element::default());
                pos += 1;
            }
            b';' | b' ' | b'\t' => pos += 1,
            _ => {
                let name_end =
                    value[pos..].iter().position(|b| matches!(b, b'=' | b';' | b',')).map_or(value.len(), |i| pos + i);
                let name = crate::http::parse::trim(&value[pos..name_end]).to_ascii_lowercase();
                pos = name_end;
                if value.get(pos) != Some(&b'=') {
                    continue;
                }
                let (text, end) = pair_value(value, pos + 1);
                pos = end;
                if let Some(element) = elements.last_mut() {
                    match name.as_slice() {
                        b"for" => element.node = Some(text),
                        b"proto" => element.proto = Some(text),
                        _ => {}
                    }
                }
            }
        }
    }
    elements
}

/// A pair's value starting at `start` (a token, or a quoted-string with its escapes undone)
/// and the position after it.
fn pair_value(value: &[u8], start: usize) -> (String, usize) {
    if value.get(start) != Some(&b'"') {
        let end = value[start..].iter().position(|b| matches!(b, b';' | b',')).map_or(value.len(), |i| start + i);
        return (latin1(crate::http::parse::trim(&value[start..end])), end);
    }
    let mut text = Vec::new();
    let mut pos = start + 1;
    while pos < value.len() {
        match value[pos] {
            b'"' => return (latin1(&text), pos + 1),
            b'\\' if pos + 1 < value.len() => {
                text.push(value[pos + 1]);
                pos += 2;
            }
            b => {
                text.push(b);
                pos += 1;
            }
        }
    }
    (latin1(&text), pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> Vec<httparse::Header<'static>> {
        pairs.iter().map(|(name, value)| httparse::Header { name, value: value.as_bytes() }).collect()
    }

    fn resolve(spec: &str, pairs: &[(&'static str, &'static str)], websocket: bool) -> Forwarded {
        TrustedProxies::parse(spec).resolve(&headers(pairs), websocket)
    }

    fn client(host: &str, port: i64) -> Option<(String, i64)> {
        Some((host.to_string(), port))
    }

    #[test]
    fn trust_lists_as_uvicorn_reads_them() {
        let trusted = TrustedProxies::parse("127.0.0.1, ::1,10.0.0.0/8 ,fd00::/8, 10.1.2.3/8, proxy.local");
        // "10.1.2.3/8" has host bits set: not a network but a literal, as ipaddress.ip_network says.
        for host in ["127.0.0.1", "::1", "10.200.0.1", "10.1.2.3", "fd00::5", "10.1.2.3/8", "proxy.local"] {
            assert!(trusted.trusts(Some(host)), "{host}");
        }
        for host in ["127.0.0.2", "11.0.0.1", "::ffff:127.0.0.1", "", "fe00::1"] {
            assert!(!trusted.trusts(Some(host)), "{host}");
        }
        assert!(!trusted.trusts(None));
        assert!(TrustedProxies::parse("*").trusts(None));
        assert!(!TrustedProxies::parse(" *").trusts(Some("1.2.3.4")));
    }

    #[test]
    fn forwarded_for_takes_the_nearest_untrusted_address() {
        let spec = "127.0.0.1,10.0.0.0/8";
        let chain = [("X-Forwarded-For", "1.2.3.4, 5.6.7.8:99"), ("x-forwarded-for", "10.0.0.2")];
        assert_eq!(resolve(spec, &chain, false).client, client("5.6.7.8", 99));
        let all_trusted = [("X-Forwarded-For", "10.0.0.3:1, 10.0.0.2")];
        assert_eq!(resolve(spec, &all_trusted, false).client, client("10.0.0.3", 1));
        assert_eq!(resolve("*", &chain, false).client, client("1.2.3.4", 0));
        assert_eq!(resolve(spec, &[("X-Forwarded-For", "")], false).client, None);
        let v6 = [("X-Forwarded-For", "[2001:db8::1]:4711")];
        assert_eq!(resolve(spec, &v6, false).client, client("2001:db8::1", 4711));
        for (value, host, port) in [
            ("[::1]x", "[::1]x", 0),
            ("[::1]:x", "::1", 0),
            ("1.2.3.4:x", "1.2.3.4:x", 0),
            ("1.2.3.4: +8_0", "1.2.3.4", 80),
            ("::1", "::1", 0),
        ] {
            assert_eq!(resolve(spec, &[("X-Forwarded-For", value)], false).client, client(host, port), "{value}");
        }
    }

    #[test]
    fn forwarded_proto_sets_the_scheme() {
        assert_eq!(resolve("*", &[("X-Forwarded-Proto", " https ")], false).scheme, Some("https"));
        assert_eq!(resolve("*", &[("X-Forwarded-Proto", "https")], true).scheme, Some("wss"));
        assert_eq!(resolve("*", &[("X-Forwarded-Proto", "ws")], false).scheme, Some("ws"));
        assert_eq!(resolve("*", &[("X-Forwarded-Proto", "HTTPS")], false).scheme, None);
        let last_wins = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Proto", "http")];
        assert_eq!(resolve("*", &last_wins, false).scheme, Some("http"));
    }

    #[test]
    fn rfc7239_forwarded_when_no_x_forwarded_headers() {
        let spec = "127.0.0.1";
        let header = [("Forwarded", r#"for=192.0.2.60;proto=HTTPS;by=203.0.113.43, for="[2001:db8:cafe::17]:4711""#)];
        let got = resolve(spec, &header, false);
        assert_eq!(got, Forwarded { client: client("2001:db8:cafe::17", 4711), scheme: Some("https") });
        let two = [("Forwarded", "for=192.0.2.60"), ("Forwarded", "for=127.0.0.1;proto=http")];
        assert_eq!(resolve(spec, &two, false), Forwarded { client: client("192.0.2.60", 0), scheme: Some("http") });
        let both = [("Forwarded", "for=192.0.2.60;proto=https"), ("X-Forwarded-For", "5.5.5.5")];
        assert_eq!(resolve(spec, &both, false), Forwarded { client: client("5.5.5.5", 0), scheme: Some("https") });
        let quoted = [("Forwarded", r#"For="a\"b";Proto="wss""#)];
        assert_eq!(resolve(spec, &quoted, true), Forwarded { client: client("a\"b", 0), scheme: Some("wss") });
        assert_eq!(resolve(spec, &[("Forwarded", "by=1.2.3.4;;,")], false), Forwarded::default());
    }
}
