//! What every contestant server shares, so they differ only in what they measure.
//!
//! Each runs on a current-thread Tokio runtime (one worker thread; the suite pins the process
//! to one core), listens on `127.0.0.1:<--port>` (0 picks a free port), sets `TCP_NODELAY` on
//! every accepted socket, and prints `listening <port>` on its first stdout line.

use std::future::Future;
use std::io::Write;
use std::time::Duration;

use axum::Router;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::args::Args;

/// WebSocket buffer sizes every Rust contestant uses: those of `hubs` by default
/// (`ConnectionOptions`): a 4 KiB read buffer, a 4 KiB write buffer, 1 MiB messages.
pub const WS_READ_BUFFER: usize = 4 * 1024;
/// See [`WS_READ_BUFFER`].
pub const WS_WRITE_BUFFER: usize = 4 * 1024;
/// See [`WS_READ_BUFFER`].
pub const WS_MAX_MESSAGE: usize = 1024 * 1024;

/// The HMAC key of the `hubs` contestant's authorized hub (`/hub-auth`), and the issuer and
/// audience its tokens carry: the suite signs a token with them.
pub const AUTH_KEY: &[u8] = b"the benchmark's signing key, 32+ bytes";
/// See [`AUTH_KEY`].
pub const AUTH_ISSUER: &str = "hubs-bench";

/// Flags every server takes.
#[derive(Debug, Clone)]
pub struct ServerArgs {
    /// `--port` (0: any free port).
    pub port: u16,
    /// `--keepalive <seconds>`: the server's ping interval where it has one.
    pub keepalive: Option<Duration>,
    /// `--write-buffer <bytes>`: the WebSocket write buffer of the axum contestants (`hubs`,
    /// `raw`), for experiments; [`WS_WRITE_BUFFER`] by default.
    pub write_buffer: usize,
}

impl ServerArgs {
    /// Reads the flags of this process.
    pub fn from_env() -> Self {
        let args = Args::from_env();
        Self {
            port: args.get("port", 0u16),
            keepalive: args.str("keepalive").map(|s| {
                Duration::from_secs_f64(s.parse().unwrap_or_else(|_| {
                    eprintln!("--keepalive: seconds expected");
                    std::process::exit(2)
                }))
            }),
            write_buffer: args.get("write-buffer", WS_WRITE_BUFFER),
        }
    }
}

/// Runs `main` on a current-thread runtime, until it ends or the process gets SIGTERM.
///
/// SIGTERM ends the process by returning from `main`, so that exit handlers run: a build
/// with `-Cprofile-generate` writes its profile then (`scripts/pgo`).
pub fn run<F: Future<Output = ()>>(main: F) {
    crate::procfs::raise_fd_limit();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(async {
            let mut terminate = signal(SignalKind::terminate()).expect("a SIGTERM handler");
            tokio::select! {
                () = main => {}
                _ = terminate.recv() => {}
            }
        })
}

/// Binds `127.0.0.1:port` and announces the port on stdout.
pub async fn listen(port: u16) -> TcpListener {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("bind 127.0.0.1:{port}: {e}"));
    let port = listener.local_addr().expect("a bound address").port();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "listening {port}");
    let _ = out.flush();
    listener
}

/// Serves `app` with axum, `TCP_NODELAY` on every connection.
pub async fn serve_axum(listener: TcpListener, app: Router) {
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app).await.expect("the server runs");
}
