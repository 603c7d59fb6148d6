//! A TCP proxy that can stop passing bytes on while keeping its
//! connections open: what a client sees of a server that stalled (a frozen
//! machine, a process stopped, a network path gone dark without a reset).
//! The kernel still takes what the client sends; nothing comes back.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Bytes read at a time in each direction.
const CHUNK: usize = 16 * 1024;

/// A proxy on a spare loopback port in front of `upstream`; dropping it
/// closes its listener and every connection.
#[derive(Debug)]
pub struct StallProxy {
    address: SocketAddr,
    stalled: watch::Sender<bool>,
    accepting: JoinHandle<()>,
}

impl StallProxy {
    /// Listens on a spare loopback port and passes each connection on to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr) -> io::Result<StallProxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let (stalled, watch) = watch::channel(false);
        let accepting = tokio::spawn(async move {
            let mut pipes = tokio::task::JoinSet::new();
            while let Ok((client, _)) = listener.accept().await {
                let watch = watch.clone();
                pipes.spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::select! {
                        () = pipe(client_read, server_write, watch.clone()) => {}
                        () = pipe(server_read, client_write, watch) => {}
                    }
                });
                while pipes.try_join_next().is_some() {}
            }
        });
        Ok(StallProxy {
            address,
            stalled,
            accepting,
        })
    }

    /// Where clients connect.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops passing bytes on, both ways, on every connection and on those
    /// to come; what arrives meanwhile is held, not dropped.
    pub fn stall(&self) {
        self.stalled.send_replace(true);
    }

    /// Passes bytes on again, those held first.
    pub fn resume(&self) {
        self.stalled.send_replace(false);
    }
}

impl Drop for StallProxy {
    fn drop(&mut self) {
        // The connections' tasks are in the accepting task's set, which
        // aborts them as it is dropped.
        self.accepting.abort();
    }
}

/// Copies `from` to `to` until either ends, holding each chunk while the
/// proxy is stalled.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut stalled: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; CHUNK];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if stalled.wait_for(|stalled| !*stalled).await.is_err() {
            return;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn bytes_pass_until_stalled_and_again_once_resumed() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream = echo.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = echo.accept().await.unwrap();
            let mut buffer = [0; 64];
            loop {
                let read = socket.read(&mut buffer).await.unwrap();
                if read == 0 {
                    return;
                }
                socket.write_all(&buffer[..read]).await.unwrap();
            }
        });
        let proxy = StallProxy::start(upstream).await.unwrap();
        let mut client = TcpStream::connect(proxy.address()).await.unwrap();
        let mut answer = [0; 4];
        client.write_all(b"ping").await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut answer))
            .await
            .expect("an answer through the proxy")
            .unwrap();
        assert_eq!(&answer, b"ping");

        proxy.stall();
        client.write_all(b"held").await.unwrap();
        let waited =
            tokio::time::timeout(Duration::from_millis(300), client.read_exact(&mut answer)).await;
        assert!(waited.is_err(), "an answer came through a stalled proxy");

        proxy.resume();
        tokio::time::timeout(Duration::from_secs(5), client.read_exact(&mut answer))
            .await
            .expect("the held bytes once the proxy resumed")
            .unwrap();
        assert_eq!(&answer, b"held");
    }
}
