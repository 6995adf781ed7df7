//! What the functional tests' server does to a request before routing, in its order: CORS for
//! any origin, `/echoredirect`, `/redirect`, the negotiate cookies, `/bad-negotiate`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

/// Redirects `/redirect` has answered, process-wide.
static REDIRECTS: AtomicU64 = AtomicU64::new(0);

/// Runs every request through the steps of the functional tests' `Startup.Configure`.
pub async fn before_routing(request: Request, next: Next) -> Response {
    let cors = cors_headers(request.headers());
    // Preflights are answered here, whatever the path.
    if request.method() == Method::OPTIONS {
        return with_headers(empty(StatusCode::NO_CONTENT), cors);
    }
    let path = request.uri().path().to_owned();
    let query = request.uri().query().map(str::to_owned);
    let response = if starts_with_segment(&path, "/echoredirect") {
        echo_redirect(&path, query.as_deref())
    } else if starts_with_segment(&path, "/redirect") {
        negotiate_redirect(query.as_deref())
    } else {
        let negotiate = path.contains("/negotiate");
        let response = if starts_with_segment(&path, "/bad-negotiate") {
            let mut response = Response::new(Body::from("Some response from server"));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        } else {
            let mut response = next.run(request).await;
            allowed_origin(&cors, response.headers_mut());
            response
        };
        match negotiate {
            true => with_headers(response, negotiate_cookies()),
            false => response,
        }
    };
    with_headers(response, cors)
}

/// ASP.NET Core's `PathString.StartsWithSegments`: `prefix` itself, or `prefix/...`, ignoring
/// case.
fn starts_with_segment(path: &str, prefix: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    lower == prefix || lower.starts_with(&format!("{prefix}/"))
}

/// The test server's own CORS: any request with an `Origin` gets it back, with credentials
/// allowed and whatever method and headers a preflight asks for.
fn cors_headers(request: &HeaderMap) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let Some(origin) = request.get(header::ORIGIN).filter(|o| !o.is_empty()) else {
        return headers;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        HeaderValue::from_static("true"),
    );
    let echoed = [
        (
            header::ACCESS_CONTROL_REQUEST_METHOD,
            header::ACCESS_CONTROL_ALLOW_METHODS,
        ),
        (
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
        ),
    ];
    for (asked, allowed) in echoed {
        if let Some(value) = request.get(asked).filter(|v| !v.is_empty()) {
            headers.insert(allowed, value.clone());
        }
    }
    headers
}

/// ASP.NET Core's CORS policy after routing allows local origins only: their responses also
/// vary by origin.
fn allowed_origin(cors: &HeaderMap, response: &mut HeaderMap) {
    let Some(origin) = cors.get(header::ACCESS_CONTROL_ALLOW_ORIGIN) else {
        return;
    };
    let origin = origin.to_str().unwrap_or_default();
    let local = [
        "http://localhost:",
        "http://127.0.0.1:",
        "https://localhost:",
        "https://127.0.0.1:",
    ];
    if local.iter().any(|prefix| origin.starts_with(prefix)) {
        response.append(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// `/echoredirect...`: 307 to the same path with `echo` for `echoredirect`, query kept.
fn echo_redirect(path: &str, query: Option<&str>) -> Response {
    let mut location = path.replace("echoredirect", "echo");
    if let Some(query) = query {
        location = format!("{location}?{query}");
    }
    let mut response = empty(StatusCode::TEMPORARY_REDIRECT);
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// `/redirect...`: a negotiate redirect to `{baseUrl}/testHub`, counting redirects in the
/// hub URL's `numRedirects`.
fn negotiate_redirect(query: Option<&str>) -> Response {
    let base = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key.eq_ignore_ascii_case("baseUrl"))
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let count = REDIRECTS.fetch_add(1, Ordering::Relaxed) + 1;
    let body = format!("{{ \"url\": \"{base}/testHub?numRedirects={count}\" }}");
    Response::new(Body::from(body))
}

/// The cookies every negotiate response sets: two the client keeps, one already expired.
fn negotiate_cookies() -> HeaderMap {
    let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
    let cookies = [
        "testCookie=testValue; path=/".to_owned(),
        "testCookie2=testValue2; path=/".to_owned(),
        format!(
            "expiredCookie=doesntmatter; expires={}; path=/",
            httpdate::fmt_http_date(an_hour_ago)
        ),
    ];
    let mut headers = HeaderMap::new();
    for cookie in cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    headers
}

fn empty(status: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = status;
    response
}

fn with_headers(mut response: Response, headers: HeaderMap) -> Response {
    for (name, value) in &headers {
        if name == header::SET_COOKIE {
            response.headers_mut().append(name, value.clone());
        } else {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}
