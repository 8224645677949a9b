//! The harness that loses connections: a TCP relay in front of the server that can cut every
//! connection it carries, or freeze them (open but silent, a dead route), and keeps accepting new
//! ones so that the client can reconnect through it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A TCP relay to `upstream` that can cut every connection it carries, and keeps accepting.
pub(crate) struct Relay {
    pub(crate) addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
    freeze: tokio::sync::watch::Sender<u64>,
    /// How many connections it carries now.
    pub(crate) open: Arc<AtomicUsize>,
}

impl Relay {
    pub(crate) async fn start(upstream: SocketAddr) -> Relay {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, cuts) = tokio::sync::watch::channel(0u64);
        let (freeze, freezes) = tokio::sync::watch::channel(0u64);
        let open = Arc::new(AtomicUsize::new(0));
        let counted = open.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                let mut freezes = freezes.clone();
                freezes.mark_unchanged();
                let open = counted.clone();
                open.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(upstream).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                            _ = cuts.changed() => {}
                            // Silent from now on, both sockets held open: a dead route.
                            _ = freezes.changed() => { let _ = cuts.changed().await; }
                        }
                    }
                    open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Relay {
            addr,
            cut,
            freeze,
            open,
        }
    }

    /// Drops every connection open now, both ways.
    pub(crate) fn cut(&self) {
        self.cut.send_modify(|n| *n += 1);
    }

    /// Stops carrying anything over the connections open now, leaving them open.
    pub(crate) fn freeze(&self) {
        self.freeze.send_modify(|n| *n += 1);
    }
}
