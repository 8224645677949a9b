//! The `Host` allow-list: a page on another site whose name resolves to this server (DNS
//! rebinding) sends its own name as `Host`, which the list refuses, over HTTP and WebSocket
//! alike.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderValue;

/// The hosts a request's `Host` may name.
#[derive(Clone, Debug, Default)]
pub(crate) enum Hosts {
    /// Loopback names only (`localhost`, `*.localhost`, `127.0.0.0/8`, `[::1]`) when the
    /// connection came to a loopback address; anything otherwise.
    #[default]
    LoopbackWhenLocal,
    /// These, each a name (any port), `name:port`, `*.suffix`, or `*` for any host.
    List(Vec<String>),
}

/// The address a request came to, put in its extensions by [`serve`](crate::serve).
#[derive(Clone, Copy, Debug)]
pub(crate) struct LocalAddr(pub(crate) SocketAddr);

impl Hosts {
    /// Whether a request naming `host` (its `Host` header's value), which came to `local` (when
    /// known), may be answered.
    pub(crate) fn allow(&self, host: Option<&HeaderValue>, local: Option<SocketAddr>) -> bool {
        // No `Host` is no browser (HTTP/1.0, or a program): rebinding needs a browser.
        let Some(host) = host else {
            return true;
        };
        let Ok(host) = host.to_str() else {
            return false;
        };
        let host = host.trim();
        match self {
            // Compared without case and without a lowercased copy: this runs for every request.
            Hosts::LoopbackWhenLocal => match local {
                Some(local) if local.ip().is_loopback() => is_loopback_name(name_of(host)),
                _ => true,
            },
            Hosts::List(list) => {
                let host = host.to_ascii_lowercase();
                list.iter().any(|allowed| matches(allowed, &host))
            }
        }
    }
}

/// The name in a `Host` value, without its port (`[::1]:80` gives `[::1]`).
fn name_of(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_inclusive(']').next().unwrap_or(host);
    }
    host.rsplit_once(':').map_or(host, |(name, _)| name)
}

fn is_loopback_name(name: &str) -> bool {
    const LOCALHOST: &str = "localhost";
    let name = name.trim_end_matches('.');
    let bytes = name.as_bytes();
    // `localhost`, or a name ending in `.localhost`, in any case.
    if bytes.len() >= LOCALHOST.len()
        && bytes[bytes.len() - LOCALHOST.len()..].eq_ignore_ascii_case(LOCALHOST.as_bytes())
        && (bytes.len() == LOCALHOST.len() || bytes[bytes.len() - LOCALHOST.len() - 1] == b'.')
    {
        return true;
    }
    let bare = name.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn matches(allowed: &str, host: &str) -> bool {
    let allowed = allowed.trim().to_ascii_lowercase();
    if allowed == "*" || allowed == host {
        return true;
    }
    let name = name_of(host);
    if let Some(suffix) = allowed.strip_prefix("*.") {
        return name.ends_with(&format!(".{suffix}"));
    }
    // A name without a port allows it on any port.
    !allowed.contains(':') && allowed == name
        || allowed.starts_with('[') && !allowed.contains("]:") && allowed == name
}

/// At most `max` characters of a value a client chose, for a log line.
pub(crate) fn clipped(value: &str, max: usize) -> &str {
    match value.char_indices().nth(max) {
        Some((end, _)) => &value[..end],
        None => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: &str) -> Option<HeaderValue> {
        Some(host.parse().unwrap())
    }

    #[test]
    fn loopback_names_pass_on_a_loopback_address_and_others_do_not() {
        let local = Some("127.0.0.1:8545".parse().unwrap());
        let hosts = Hosts::default();
        for ok in [
            "localhost:8545",
            "LocalHost:8545",
            "A.LOCALHOST.",
            "[0:0:0:0:0:0:0:1]:80",
            "127.0.0.1:8545",
            "127.9.9.9",
            "[::1]:80",
            "a.localhost",
        ] {
            assert!(hosts.allow(headers(ok).as_ref(), local), "{ok}");
        }
        for refused in [
            "evil.example:8545",
            "evil.example",
            "localhost.evil.example",
            "evillocalhost",
            "evil.example.LOCALHOST.evil",
            "10.0.0.1",
        ] {
            assert!(!hosts.allow(headers(refused).as_ref(), local), "{refused}");
        }
        // Served on a public address, any name passes by default.
        let public = Some("10.1.2.3:80".parse().unwrap());
        assert!(hosts.allow(headers("evil.example").as_ref(), public));
        assert!(hosts.allow(headers("evil.example").as_ref(), None));
        assert!(hosts.allow(None, local));
    }

    #[test]
    fn a_list_takes_names_ports_suffixes_and_any() {
        let list = Hosts::List(vec![
            "api.example.com".into(),
            "*.internal".into(),
            "x.io:8080".into(),
        ]);
        let local = Some("127.0.0.1:1".parse().unwrap());
        for ok in [
            "api.example.com",
            "API.example.com:443",
            "a.b.internal:1",
            "x.io:8080",
        ] {
            assert!(list.allow(headers(ok).as_ref(), local), "{ok}");
        }
        for refused in ["example.com", "internal", "x.io:8081", "x.io", "localhost"] {
            assert!(!list.allow(headers(refused).as_ref(), local), "{refused}");
        }
        assert!(Hosts::List(vec!["*".into()]).allow(headers("anything").as_ref(), local));
    }
}
