//! Contestant `socketioxide`: the same handlers as the benchmark hub, in Socket.IO terms, on
//! the default namespace, mounted on axum like `hubs`.
//!
//! Events: `echo(s)` acknowledged with `s`; `broadcast(s)`: everyone gets `msg(s)`;
//! `join(g)` acknowledged once joined; `joinMany(prefix, n)` joins `prefix0` ..
//! `prefix{n-1}`, acknowledged; `toGroup(g, s)`: room `g` gets `msg(s)`.

use bench::server::{self, ServerArgs, WS_MAX_MESSAGE, WS_READ_BUFFER};
use socketioxide::SocketIo;
use socketioxide::extract::{AckSender, Data, SocketRef};

fn main() {
    let args = ServerArgs::from_env();
    server::run(async move {
        let mut builder = SocketIo::builder()
            .ws_read_buffer_size(WS_READ_BUFFER)
            .ws_max_message_size(WS_MAX_MESSAGE);
        if let Some(keepalive) = args.keepalive {
            builder = builder.ping_interval(keepalive);
        }
        let (layer, io) = builder.build_layer();
        io.ns("/", async |socket: SocketRef| {
            socket.on("echo", async |Data::<String>(s), ack: AckSender| {
                let _ = ack.send(&s);
            });
            socket.on("broadcast", async |io: SocketIo, Data::<String>(s)| {
                let _ = io.emit("msg", &s).await;
            });
            socket.on(
                "join",
                async |socket: SocketRef, Data::<String>(g), ack: AckSender| {
                    socket.join(g);
                    let _ = ack.send(&());
                },
            );
            socket.on(
                "joinMany",
                async |socket: SocketRef, Data::<(String, u32)>((prefix, n)), ack: AckSender| {
                    let rooms: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
                    socket.join(rooms);
                    let _ = ack.send(&());
                },
            );
            socket.on(
                "toGroup",
                async |io: SocketIo, Data::<(String, String)>((g, s))| {
                    let _ = io.to(g).emit("msg", &s).await;
                },
            );
        });
        let app = axum::Router::new().layer(layer);
        let listener = server::listen(args.port).await;
        server::serve_axum(listener, app).await;
    });
}
