//! `bench-hello ADDR`: answers `GET /` with `hello`, and nothing else. The floor bench/run
//! measures each route against: the same machine, load generator and settings, with axum's
//! own server and none of the service's work.

use axum::Router;
use axum::routing::get;

#[tokio::main]
async fn main() {
    let addr = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:0".into());
    let listener = tokio::net::TcpListener::bind(&addr).await.expect("bind");
    let app = Router::new().route("/", get(|| async { "hello" }));
    axum::serve(listener, app).await.expect("serve");
}
