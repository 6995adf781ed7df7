//! Serving a router over HTTP/1.1 with the limits a server facing the internet needs.
//!
//! `axum::serve` never times out a request's headers: a socket that sends nothing, or adds a
//! header line every few seconds, is held for ever. [`serve`] bounds the time a client may take
//! to send its headers (Kestrel's `RequestHeadersTimeout`), which also closes keep-alive
//! connections that stay idle that long between requests. With
//! [`Serve::with_graceful_shutdown`] it also ends every hub connection cleanly when asked to.

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
use tokio::sync::watch;
use tower::ServiceExt;

use crate::connection::Served;

/// How long a client may take to send a request's headers by default (30 s, as Kestrel's
/// `RequestHeadersTimeout`).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// The longest a graceful shutdown waits for connections to end by default (10 s).
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

type Signal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Serves `router` on `listener`: the recommended way to run hubs in production.
///
/// Like `axum::serve`, but a client that takes longer than the header read timeout (30 s) to
/// send a request's headers, or stays idle that long between requests, is disconnected, and
/// hub and connection-handler paths match without regard to case (as in ASP.NET Core; see
/// [`match_path_case`](crate::match_path_case)).
/// Handlers can read the peer's address with `ConnectInfo<SocketAddr>`.
///
/// ```no_run
/// # async fn run() -> std::io::Result<()> {
/// use std::time::Duration;
///
/// let app = axum::Router::new();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
/// hubs::serve(listener, app)
///     .header_read_timeout(Duration::from_secs(10))
///     .await
/// # }
/// ```
pub fn serve(listener: TcpListener, router: Router) -> Serve {
    Serve {
        listener,
        router,
        header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        shutdown: None,
        shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        allow_reconnect: true,
    }
}

/// A server being configured; `.await` it to run until the listener fails or, with
/// [`with_graceful_shutdown`](Self::with_graceful_shutdown), until it has shut down.
#[must_use = "a server does nothing until awaited"]
pub struct Serve {
    listener: TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: Option<Signal>,
    shutdown_timeout: Duration,
    allow_reconnect: bool,
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

    /// Shuts the server down gracefully once `signal` completes (like axum's
    /// `with_graceful_shutdown`), and makes the server's future resolve when that is done.
    ///
    /// A shutdown closes every connection of every hub this server served with a Close
    /// message (see [`HubContext::close_all`](crate::HubContext::close_all)):
    /// `on_disconnected` runs for each, WebSockets close normally (1000), SSE responses end
    /// and Long Polling clients get the Close message with their next poll (later polls get
    /// 204). New hub connections are refused meanwhile (503), other requests still served.
    /// Once those transports are done (or three quarters of the
    /// [shutdown timeout](Self::shutdown_timeout) have passed) the listener closes, every
    /// HTTP connection is closed after its request in progress, and the future resolves: at
    /// the latest when the shutdown timeout has passed, dropping what is still open.
    ///
    /// Hubs are found through the requests they served, so every hub of the router is
    /// covered. With `axum::serve` instead, call `HubContext::close_all` from its shutdown
    /// signal (upgraded WebSockets are not waited for there).
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let app = axum::Router::new();
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:5000").await?;
    /// // Usually `tokio::signal::ctrl_c()` and SIGTERM (tokio's `signal` feature).
    /// let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    /// # drop(stop);
    /// hubs::serve(listener, app)
    ///     .with_graceful_shutdown(async {
    ///         stopped.await.ok();
    ///     })
    ///     .await
    /// # }
    /// ```
    pub fn with_graceful_shutdown(
        mut self,
        signal: impl Future<Output = ()> + Send + 'static,
    ) -> Self {
        self.shutdown = Some(Box::pin(signal));
        self
    }

    /// The longest a graceful shutdown waits for connections to end (10 s); those still open
    /// then are dropped.
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Whether the Close message of a shutdown lets clients reconnect (true): the official
    /// clients with automatic reconnect then start over, for example with another instance
    /// behind the same address; without automatic reconnect they close either way.
    pub fn allow_reconnect_on_shutdown(mut self, allow: bool) -> Self {
        self.allow_reconnect = allow;
        self
    }

    async fn run(self) -> io::Result<()> {
        let Serve {
            listener,
            router,
            header_read_timeout,
            shutdown,
            shutdown_timeout,
            allow_reconnect,
        } = self;
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        let Some(signal) = shutdown else {
            let accept = |stream, peer| {
                tokio::spawn(serve_connection(
                    http.clone(),
                    stream,
                    peer,
                    router.clone(),
                    None,
                ));
            };
            accept_until(&listener, std::future::pending::<()>(), accept).await;
            return Ok(());
        };
        let served = Served::new();
        // Every HTTP connection holds a receiver: `changed` asks it to finish, and `closed`
        // on the sender says when all have.
        let (finish, finishing) = watch::channel(());
        let accept = |stream, peer| {
            let shutdown = Some((served.clone(), finishing.clone()));
            let connection = serve_connection(http.clone(), stream, peer, router.clone(), shutdown);
            tokio::spawn(connection);
        };
        accept_until(&listener, signal, accept).await;

        let deadline = tokio::time::Instant::now() + shutdown_timeout;
        let endpoints = served.endpoints();
        tracing::info!(
            endpoints = endpoints.len(),
            "shutting down: closing every hub connection"
        );
        for endpoint in &endpoints {
            endpoint.shutdown(allow_reconnect);
        }
        // Requests are still served meanwhile (new hub connections are refused): a Long
        // Polling client fetches its Close message with its next poll, on a new TCP
        // connection if need be. A quarter of the time is left for requests in progress.
        let drained = futures_util::future::join_all(endpoints.iter().map(|e| e.drained()));
        let drain_deadline = deadline - shutdown_timeout / 4;
        let drained = tokio::time::timeout_at(drain_deadline, drained);
        if accept_until(&listener, drained, accept).await.is_err() {
            tracing::warn!("some hub connections had not ended when the shutdown went on");
        }
        drop(listener);
        drop(finishing);
        finish.send_replace(());
        if tokio::time::timeout_at(deadline, finish.closed())
            .await
            .is_err()
        {
            tracing::warn!("HTTP connections were still open when the shutdown timeout passed");
        }
        Ok(())
    }
}

/// Accepts connections, handing each to `accept`, until `until` resolves.
async fn accept_until<T>(
    listener: &TcpListener,
    until: impl Future<Output = T>,
    accept: impl Fn(TcpStream, SocketAddr),
) -> T {
    tokio::pin!(until);
    loop {
        tokio::select! {
            done = &mut until => return done,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => accept(stream, peer),
                Err(error) => wait_after_accept_error(error).await,
            },
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
    shutdown: Option<(Served, watch::Receiver<()>)>,
) {
    // Small messages are the norm for hubs; Nagle's delay would only add latency.
    let _ = stream.set_nodelay(true);
    let (served, finishing) = shutdown.unzip();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        if let Some(served) = &served {
            request.extensions_mut().insert(served.clone());
        }
        let request = crate::axum::match_path_case(request).map(Body::new);
        let router = router.clone();
        async move { Ok::<_, Infallible>(router.oneshot(request).await.unwrap_or_else(|e| match e {})) }
    });
    let connection = http
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let ended = match finishing {
        None => connection.await,
        Some(mut finishing) => {
            tokio::pin!(connection);
            tokio::select! {
                ended = connection.as_mut() => ended,
                _ = finishing.changed() => {
                    // Closes an idle connection at once, a busy one after its response.
                    connection.as_mut().graceful_shutdown();
                    connection.await
                }
            }
        }
    };
    if let Err(error) = ended {
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
