//! The explorer: one self-contained HTML page, served on `GET` when enabled, that reads the
//! endpoint's OpenRPC document and lets a person call its methods, and subscribe to its
//! subscriptions over a WebSocket to the same address. No CDN, no external asset.
//!
//! The page is written as four files under `explorer/` (the head, the stylesheet, the body's
//! markup and the script), each edited with its own language's tooling, and joined here at
//! compile time into the one document the strict CSP below allows: inline style and script,
//! nothing fetched.

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

const PAGE: &str = concat!(
    include_str!("explorer/head.html"),
    "<style>\n",
    include_str!("explorer/style.css"),
    "</style>\n</head>\n<body>\n",
    include_str!("explorer/body.html"),
    "<script>\n",
    include_str!("explorer/script.js"),
    "</script>\n</body>\n</html>\n",
);

pub(crate) fn page() -> Response {
    let mut response = PAGE.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Everything the page needs is inline; nothing may load from elsewhere. It connects to its
    // own address only: by HTTP for calls, by WebSocket for subscriptions. `'self'` covers the
    // WebSocket only in browsers that follow CSP Level 3 (older Safari does not), and naming
    // the host instead would take the address the browser reached the page by, which a server
    // behind a proxy does not know: hence the `ws:`/`wss:` schemes. The page opens no socket
    // elsewhere, and shows nothing from the service as markup that could open one.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' ws: wss:",
        ),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::PAGE;

    /// The parts join into one document: a part that closed its element early (a `</script>`
    /// in the script, say) would end it there and show the rest as text.
    #[test]
    fn the_parts_make_one_document() {
        for (tag, count) in [
            ("<html", 1),
            ("</html>", 1),
            ("<head>", 1),
            ("</head>", 1),
            ("<body>", 1),
            ("</body>", 1),
            ("<style", 1),
            ("</style", 1),
            ("<script", 1),
            ("</script", 1),
        ] {
            assert_eq!(PAGE.matches(tag).count(), count, "`{tag}` in the page");
        }
        let style = PAGE.find("<style>").expect("a style element");
        let head_end = PAGE.find("</head>").expect("a head");
        let script = PAGE.find("<script>").expect("a script element");
        let body_end = PAGE.find("</body>").expect("a body");
        assert!(style < head_end, "the style is in the head");
        assert!(
            head_end < script && script < body_end,
            "the script ends the body"
        );
        assert!(PAGE.starts_with("<!doctype html>\n"));
    }
}
