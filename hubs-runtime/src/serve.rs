//! Serving a router over HTTP/1.1 with the limits a server facing the internet needs.
//!
//! `axum::serve` never times out a request's headers: a socket that sends nothing, or adds a
//! header line every few seconds, is held for ever. [`serve`] bounds the time a client may take
//! to send its headers (Kestrel's `RequestHeadersTimeout`), which also closes keep-alive
//! connections that stay idle that long between requests.

use std::convert::Infallible;
use std::future::{Future, IntoFuture};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// How long a client may take to send a request's headers by default (30 s, as Kestrel's
/// `RequestHeadersTimeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener`: the recommended way to run hubs in production.
///
/// Like `axum::serve`, but a client that takes longer than the header read timeout (30 s) to
/// send a request's headers, or stays idle that long between requests, is disconnected, and
/// hub paths match without regard to case (as in ASP.NET Core).
/// Handlers can read the peer's address with `ConnectInfo<SocketAddr>`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let app = axum::Router::new();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// hubs_runtime::serve(listener, app)
///     .header_read_timeout(Duration::from_secs(10))
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
    }
}

/// A server being configured; `.await` it to run until the listener fails.
#[must_use = "a server does nothing until awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
}

impl Serve {
    /// How long a client may take to send a request's headers, and to start its next request
    /// on a kept-alive connection, before it is disconnected.
    ///
    /// # Panics
    /// When `timeout` is zero.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        assert!(
            !timeout.is_zero(),
            "the header read timeout must be positive"
        );
        self.header_read_timeout = timeout;
        self
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            router,
            header_read_timeout,
        } = self;
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    wait_after_accept_error(error).await;
                    continue;
                }
            };
            tokio::spawn(serve_connection(http.clone(), stream, peer, router.clone()));
        }
    }
}

impl IntoFuture for Serve {
    type Output = io::Result<()>;
    type IntoFuture = Pin<Box<dyn Future<Output = io::Result<()>> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

async fn serve_connection(
    http: http1::Builder,
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
) {
    // Small messages are the norm for hubs; Nagle's delay would only add latency.
    let _ = stream.set_nodelay(true);
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(uri) = crate::axum::hub_path_as_mounted(request.uri()) {
            *request.uri_mut() = uri;
        }
        let request = request.map(Body::new);
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {})) }
    });
    let connection = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    if let Err(error) = connection.await {
        tracing::debug!(%peer, %error, "HTTP connection ended with an error");
    }
}

/// Errors of a client that left before it was accepted are no reason to pause; running out of
/// file descriptors is, or the loop would spin.
async fn wait_after_accept_error(error: io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a connection failed; retrying in 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}
