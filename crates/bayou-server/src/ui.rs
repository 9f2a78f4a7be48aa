//! The web UI: the page app built from `ui/` (`npm run build` writes `ui/dist`, checked in),
//! embedded in the binary and served at `/`. The page calls the server's own gRPC API as
//! gRPC-web with the user's key, so it can do nothing the CLI could not.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

const INDEX: &[u8] = include_bytes!("../../../ui/dist/index.html");
const SCRIPT: &[u8] = include_bytes!("../../../ui/dist/assets/app.js");
const STYLE: &[u8] = include_bytes!("../../../ui/dist/assets/app.css");

/// Security headers every answer of the UI carries: nothing but this origin runs or loads in
/// the page, and no other site frames it.
const POLICY: &str = "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn asset(body: &'static [u8], content_type: &'static str) -> Response {
    let mut r = (StatusCode::OK, body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // The names do not change between builds: the browser asks again each time (cheaply).
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    r
}

/// The page's files: path, body and content type.
const FILES: [(&str, &[u8], &str); 4] = [
    ("/", INDEX, "text/html; charset=utf-8"),
    ("/index.html", INDEX, "text/html; charset=utf-8"),
    ("/assets/app.js", SCRIPT, "text/javascript; charset=utf-8"),
    ("/assets/app.css", STYLE, "text/css; charset=utf-8"),
];

/// `/`, `/index.html` and the page's assets.
pub(crate) fn router() -> axum::Router {
    FILES.iter().fold(
        axum::Router::new(),
        |router, &(path, body, content_type)| {
            router.route(path, get(move || async move { asset(body, content_type) }))
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_loads_the_assets_served_next_to_it() {
        let index = std::str::from_utf8(super::INDEX).unwrap();
        assert!(index.contains("src=\"/assets/app.js\""), "{index}");
        assert!(index.contains("href=\"/assets/app.css\""), "{index}");
        assert!(!super::SCRIPT.is_empty() && !super::STYLE.is_empty());
    }
}
