//! The accept loop shared by the operator interfaces (control socket, metrics).

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tracing::{debug, warn};

/// A listening socket the operator interfaces serve.
pub(crate) trait Accept {
    /// The accepted connection.
    type Stream: Send + 'static;
    /// Waits for the next connection.
    fn accept_stream(&self) -> impl Future<Output = io::Result<Self::Stream>> + Send;
}

impl Accept for tokio::net::UnixListener {
    type Stream = tokio::net::UnixStream;
    async fn accept_stream(&self) -> io::Result<Self::Stream> {
        self.accept().await.map(|(s, _)| s)
    }
}

impl Accept for tokio::net::TcpListener {
    type Stream = tokio::net::TcpStream;
    async fn accept_stream(&self) -> io::Result<Self::Stream> {
        self.accept().await.map(|(s, _)| s)
    }
}

/// Accepts connections on `listener` and serves each in its own task with `handle`, at most
/// `limit` at a time, until the process ends. `what` names the service in log lines.
pub(crate) async fn serve_bounded<L, H, F>(
    what: &'static str,
    limit: usize,
    listener: L,
    handle: H,
) -> io::Result<()>
where
    L: Accept,
    H: Fn(L::Stream) -> F,
    F: Future<Output = io::Result<()>> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(limit));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let stream = match listener.accept_stream().await {
            Ok(stream) => stream,
            Err(e) => {
                // EMFILE and friends: wait for a client to leave instead of spinning.
                warn!(error = %e, "{what} accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let served = handle(stream);
        tokio::spawn(async move {
            if let Err(e) = served.await {
                debug!(error = %e, "{what} connection");
            }
            drop(permit);
        });
    }
}
