//! A loopback TCP proxy in front of the emulator that can fail like a network: [`Proxy::kill`] drops the
//! listener (new connections are refused) and resets every live connection (RST, not FIN); [`Proxy::restart`]
//! listens again on the same port. A trip wire kills it when the N-th request containing a marker (e.g.
//! `SageMaker.StopNotebookInstance`) arrives, before that request is forwarded: an outage in the middle of
//! a run, at a reproducible point.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// A proxy from a loopback port to `upstream`; killed (and stopped) when dropped.
#[derive(Debug)]
pub struct Proxy {
    port: u16,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    upstream: String,
    /// The accept loop and every relay task: aborted (sockets dropped) by a kill.
    tasks: Mutex<Vec<AbortHandle>>,
    /// Requests seen that contained the trip marker.
    marked: AtomicUsize,
    /// Kill when the `n`-th request containing `marker` arrives.
    trip: Mutex<Option<(Vec<u8>, usize)>>,
    /// Kills so far: a kill of a proxy that is already down (two tripping requests racing) is not another.
    kills: AtomicUsize,
    /// Whether the proxy is down (killed and not restarted).
    down: AtomicBool,
}

impl Proxy {
    /// Starts a proxy on a free loopback port forwarding to `upstream` (`host:port`).
    pub async fn start(upstream: &str) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("proxy bind: {e}"))?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        let shared = Arc::new(Shared {
            upstream: upstream.to_owned(),
            tasks: Mutex::default(),
            marked: AtomicUsize::new(0),
            trip: Mutex::default(),
            kills: AtomicUsize::new(0),
            down: AtomicBool::new(false),
        });
        accept(listener, shared.clone());
        Ok(Self { port, shared })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the proxy when the `n`-th request containing `marker` arrives (that request is not forwarded).
    pub fn kill_on(&self, marker: &str, n: usize) {
        self.shared.marked.store(0, Ordering::SeqCst);
        *self.shared.trip.lock().unwrap_or_else(|e| e.into_inner()) = Some((marker.as_bytes().to_vec(), n));
    }

    /// Requests that contained the trip marker (the tripping one included).
    pub fn marked(&self) -> usize {
        self.shared.marked.load(Ordering::SeqCst)
    }

    /// Kills (by hand or by the trip wire) so far; killing a proxy that is down does not count again.
    pub fn kills(&self) -> usize {
        self.shared.kills.load(Ordering::SeqCst)
    }

    /// Stops listening and resets every live connection.
    pub fn kill(&self) {
        self.shared.kill();
    }

    /// Listens again on the same port (after a kill).
    pub async fn restart(&self) -> Result<(), String> {
        *self.shared.trip.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let listener = TcpListener::bind(("127.0.0.1", self.port))
            .await
            .map_err(|e| format!("proxy rebind {}: {e}", self.port))?;
        self.shared.down.store(false, Ordering::SeqCst);
        accept(listener, self.shared.clone());
        Ok(())
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.kill();
    }
}

impl Shared {
    fn kill(&self) {
        if !self.down.swap(true, Ordering::SeqCst) {
            self.kills.fetch_add(1, Ordering::SeqCst);
        }
        for task in self.tasks.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            task.abort();
        }
    }

    fn track(&self, handle: AbortHandle) {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).push(handle);
    }

    /// Whether this chunk of a request trips the wire.
    fn trips(&self, chunk: &[u8]) -> bool {
        let trip = self.trip.lock().unwrap_or_else(|e| e.into_inner());
        let Some((marker, n)) = trip.as_ref() else {
            return false;
        };
        if !chunk.windows(marker.len()).any(|w| w == marker.as_slice()) {
            return false;
        }
        self.marked.fetch_add(1, Ordering::SeqCst) + 1 >= *n
    }
}

fn accept(listener: TcpListener, shared: Arc<Shared>) {
    let inner = shared.clone();
    let handle = tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let relay_shared = inner.clone();
            let relay = tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(&relay_shared.upstream).await {
                    // NOTE: zero linger: dropping the socket (a kill) sends RST, as a crashed peer would.
                    let _ = client.set_zero_linger();
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    relay(client, server, relay_shared).await;
                }
            });
            inner.track(relay.abort_handle());
        }
    });
    shared.track(handle.abort_handle());
}

async fn relay(client: TcpStream, server: TcpStream, shared: Arc<Shared>) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = client_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if shared.trips(&buf[..n]) {
                // Aborts this task too: the request is never forwarded and its connection is reset.
                shared.kill();
                return;
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = server_write.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = server_read.read(&mut buf).await {
            if n == 0 {
                break;
            }
            if client_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = client_write.shutdown().await;
    };
    tokio::join!(up, down);
}
