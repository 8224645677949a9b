//! What [`serve`](super::serve) accepts connections from: a TCP listener, or a Unix domain
//! socket ([`UnixSocket`]).

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite};

/// A listener [`serve`](crate::serve) takes connections from: `tokio::net::TcpListener`, or a
/// [`UnixSocket`]. Not meant to be implemented elsewhere.
pub trait Listener: Send + 'static {
    /// A connection.
    type Io: AsyncRead + AsyncWrite + Unpin + Send + 'static;

    /// Accepts the next connection, with its peer's address when it has one (TCP).
    #[doc(hidden)]
    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Io, Option<SocketAddr>)>>;

    /// Readies a new connection (`TCP_NODELAY`), and says the address it came to, if any.
    #[doc(hidden)]
    fn prepare(io: &Self::Io) -> Option<SocketAddr>;

    /// The transport's name in metrics and spans (`network.transport`): `tcp`, `unix`.
    #[doc(hidden)]
    const NETWORK: &'static str;
}

impl Listener for tokio::net::TcpListener {
    type Io = tokio::net::TcpStream;
    const NETWORK: &'static str = "tcp";

    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Io, Option<SocketAddr>)>> {
        tokio::net::TcpListener::poll_accept(self, cx).map_ok(|(io, peer)| (io, Some(peer)))
    }

    fn prepare(io: &Self::Io) -> Option<SocketAddr> {
        let _ = io.set_nodelay(true);
        io.local_addr().ok()
    }
}

/// A Unix domain socket to serve on, whose file is the access control: created with mode 0600
/// (only its owner may connect) unless [`mode`](UnixSocket::mode) says otherwise, and removed
/// when the server stops (when this is dropped).
///
/// ```no_run
/// # async fn run(app: axum::Router) -> std::io::Result<()> {
/// let socket = rpc_server::UnixSocket::bind("/run/app/rpc.sock")?;
/// rpc_server::serve(socket, app)
///     .with_graceful_shutdown(rpc_server::shutdown_signal())
///     .await
/// # }
/// ```
#[cfg(unix)]
#[derive(Debug)]
pub struct UnixSocket {
    listener: tokio::net::UnixListener,
    path: PathBuf,
}

#[cfg(unix)]
impl UnixSocket {
    /// Listens at `path`, with mode 0600. A file already there is replaced only when it is a
    /// socket nothing listens on (left by a server that died); when a server answers on it,
    /// binding fails with `AddrInUse`, and any other file is left alone (`AlreadyExists`).
    /// Must be called within a tokio runtime.
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixSocket> {
        use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
        let path = path.as_ref();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a socket", path.display()),
                ));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(io::Error::new(
                    io::ErrorKind::AddrInUse,
                    format!("a server already listens on {}", path.display()),
                ));
            }
            tracing::debug!(path = %path.display(), "replacing a stale socket file");
            std::fs::remove_file(path)?;
        }
        let listener = tokio::net::UnixListener::bind(path)?;
        let socket = UnixSocket {
            listener,
            path: path.to_owned(),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        Ok(socket)
    }

    /// Sets the socket file's mode (default 0600: its owner only; 0660 lets its group in).
    pub fn mode(self, mode: u32) -> io::Result<Self> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode))?;
        Ok(self)
    }

    /// The socket file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(unix)]
impl Drop for UnixSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(unix)]
impl Listener for UnixSocket {
    type Io = tokio::net::UnixStream;
    const NETWORK: &'static str = "unix";

    fn poll_accept(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<(Self::Io, Option<SocketAddr>)>> {
        self.listener.poll_accept(cx).map_ok(|(io, _)| (io, None))
    }

    fn prepare(_: &Self::Io) -> Option<SocketAddr> {
        None
    }
}
