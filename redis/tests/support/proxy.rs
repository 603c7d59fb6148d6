//! A TCP proxy in front of the test Redis that a test can silence: the
//! connections through it stay open but carry nothing, as with a Redis
//! that hangs or a network that drops packets. Restoring it closes the
//! silenced connections, so clients connect again through it.

use std::net::Ipv4Addr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the proxy does with its connections now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mode {
    silent: bool,
    /// Connections accepted in an earlier generation are closed.
    generation: u64,
}

/// A proxy on a loopback port, forwarding to a Redis.
#[derive(Debug)]
pub struct Proxy {
    url: String,
    mode: watch::Sender<Mode>,
    accepting: JoinHandle<()>,
}

impl Proxy {
    /// Starts a proxy to the Redis at `url` (`redis://[user:password@]host:port[/db]`).
    pub async fn start(url: &str) -> Proxy {
        let (scheme, rest) = url.split_once("://").expect("a Redis URL");
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let (userinfo, target) = match authority.rsplit_once('@') {
            Some((userinfo, target)) => (format!("{userinfo}@"), target.to_owned()),
            None => (String::new(), authority.to_owned()),
        };
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .expect("a loopback port for the proxy");
        let addr = listener.local_addr().expect("the proxy's address");
        let (mode, watching) = watch::channel(Mode {
            silent: false,
            generation: 0,
        });
        let accepting = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let watching = watching.clone();
                let target = target.clone();
                tokio::spawn(async move {
                    let generation = watching.borrow().generation;
                    let Ok(server) = TcpStream::connect(&target).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        _ = pipe(client_read, server_write, watching.clone(), generation) => {}
                        _ = pipe(server_read, client_write, watching, generation) => {}
                    }
                });
            }
        });
        Proxy {
            url: format!("{scheme}://{userinfo}{addr}{path}"),
            mode,
            accepting,
        }
    }

    /// The Redis URL through the proxy.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops carrying anything, keeping the connections open.
    pub fn silence(&self) {
        self.mode.send_modify(|mode| mode.silent = true);
    }

    /// Closes the connections made so far and carries new ones again.
    pub fn restore(&self) {
        self.mode.send_modify(|mode| {
            mode.silent = false;
            mode.generation += 1;
        });
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
        // Ends every connection: their generation is over.
        self.mode.send_modify(|mode| mode.generation += 1);
    }
}

/// Copies `from` to `to` while the proxy is not silent, until either side
/// closes or the connection's generation ends.
async fn pipe(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
    generation: u64,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        if !hold(&mut mode, generation).await {
            return;
        }
        tokio::select! {
            read = from.read(&mut buffer) => {
                let n = match read {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                // Silenced while reading: the bytes wait with the rest.
                if !hold(&mut mode, generation).await {
                    return;
                }
                if to.write_all(&buffer[..n]).await.is_err() {
                    return;
                }
            }
            changed = mode.changed() => {
                if changed.is_err() {
                    return;
                }
            }
        }
    }
}

/// Waits while the proxy is silent; `false` once the connection's
/// generation is over.
async fn hold(mode: &mut watch::Receiver<Mode>, generation: u64) -> bool {
    loop {
        let now = *mode.borrow_and_update();
        if now.generation != generation {
            return false;
        }
        if !now.silent {
            return true;
        }
        if mode.changed().await.is_err() {
            return false;
        }
    }
}
