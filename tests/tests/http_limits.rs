//! The HTTP server's time, connection and concurrency limits, against the
//! real server on loopback sockets: slow and silent clients are closed after
//! the configured timeouts while a normal client keeps being answered, a
//! body that never arrives gets 408, a slow handler 504, excess load 503
//! with `Retry-After`, the connection cap holds, and SIGINT ends a server
//! with a stalled client within its grace period.
//!
//! Every test configures short limits so it runs in seconds, and every wait
//! has a deadline.

use std::io;
use std::net::SocketAddr;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use accord::http::{HttpServer, ServeOptions};
use accord_tests::{within, DEADLINE};
use axum::Router;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use orders_contract::{
    NewOrder, Order, OrderError, OrderFilter, OrderId, OrderStats, OrdersServer, StatusChange,
};
use orders_server::InMemoryOrders;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The orders service whose `GET /stats` takes `delay`, counting the calls
/// that started, finished, and were dropped before finishing.
#[derive(Debug, Default)]
struct SlowOrders {
    inner: InMemoryOrders,
    delay: Duration,
    calls: Arc<Calls>,
}

#[derive(Debug, Default)]
struct Calls {
    started: AtomicUsize,
    finished: AtomicUsize,
    dropped: AtomicUsize,
}

/// Counts a call as dropped unless it was marked finished.
struct CallGuard<'a>(&'a Calls, bool);

impl Drop for CallGuard<'_> {
    fn drop(&mut self) {
        if self.1 {
            self.0.finished.fetch_add(1, SeqCst);
        } else {
            self.0.dropped.fetch_add(1, SeqCst);
        }
    }
}

impl SlowOrders {
    fn new(delay: Duration) -> (SlowOrders, Arc<Calls>) {
        let service = SlowOrders {
            delay,
            ..SlowOrders::default()
        };
        let calls = service.calls.clone();
        (service, calls)
    }
}

impl OrdersServer for SlowOrders {
    async fn place_order(&self, order: NewOrder) -> Result<Order, OrderError> {
        self.inner.place_order(order).await
    }

    async fn get_order(&self, id: OrderId) -> Result<Order, OrderError> {
        self.inner.get_order(id).await
    }

    async fn list_orders(&self, filter: OrderFilter) -> Result<Vec<Order>, OrderError> {
        self.inner.list_orders(filter).await
    }

    async fn set_status(&self, id: OrderId, change: StatusChange) -> Result<Order, OrderError> {
        self.inner.set_status(id, change).await
    }

    async fn cancel_order(&self, id: OrderId, key: Option<String>) -> Result<(), OrderError> {
        self.inner.cancel_order(id, key).await
    }

    async fn stats(&self) -> OrderStats {
        self.calls.started.fetch_add(1, SeqCst);
        let mut guard = CallGuard(&self.calls, false);
        tokio::time::sleep(self.delay).await;
        guard.1 = true;
        self.inner.stats().await
    }

    async fn health(&self) {
        self.inner.health().await
    }
}

/// A server run by [`ServeOptions::serve`] in the background; dropping it
/// aborts it.
struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<io::Result<()>>,
}

impl Server {
    async fn start(router: Router, options: ServeOptions) -> Server {
        // A deeper backlog than `TcpListener::bind`'s 128: with hundreds of
        // clients connecting at once, the kernel would otherwise hold back
        // the handshakes of silent ones, and the server would see them late.
        let socket = TcpSocket::new_v4().expect("a socket");
        socket
            .bind("127.0.0.1:0".parse().expect("an address"))
            .expect("bind 127.0.0.1:0");
        let listener = socket.listen(1024).expect("listen");
        let addr = listener.local_addr().expect("local address");
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(options.serve(listener, router, async move {
            let _ = stopped.await;
        }));
        Server {
            addr,
            stop: Some(stop),
            task,
        }
    }

    async fn orders(options: ServeOptions) -> Server {
        Server::start(InMemoryOrders::new().into_router(), options).await
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stop.take());
        self.task.abort();
    }
}

/// A response read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as a problem document, checked to be one.
    fn problem(&self) -> accord::Problem {
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "a {} must be a problem document: {:?}",
            self.status,
            self.body
        );
        let problem: accord::Problem =
            serde_json::from_slice(&self.body).expect("a problem document");
        assert_eq!(problem.status, self.status);
        problem
    }
}

/// Reads one HTTP/1.1 response (a body only with `content-length`).
async fn read_answer(reader: &mut BufReader<TcpStream>) -> io::Result<Answer> {
    let mut line = String::new();
    if reader.read_line(&mut line).await? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before a response",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("not a status line: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line).await?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header
            .split_once(':')
            .ok_or_else(|| io::Error::other(format!("not a header: {header:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap_or(0));
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await?;
    Ok(Answer {
        status,
        headers,
        body: body.into(),
    })
}

/// Sends `request` on a fresh connection and reads the answer, within `limit`.
async fn ask(addr: SocketAddr, request: &str, limit: Duration) -> io::Result<Answer> {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_all(request.as_bytes()).await?;
        read_answer(&mut BufReader::new(stream)).await
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, format!("no answer in {limit:?}")))?
}

const HEALTH: &str = "GET /health HTTP/1.1\r\nhost: test\r\n\r\n";
const STATS: &str = "GET /stats HTTP/1.1\r\nhost: test\r\n\r\n";

/// Waits until the peer closes `stream` (EOF or a reset), reading and
/// discarding anything it sends first.
async fn until_closed(stream: &mut TcpStream) {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// A client that asks `GET /health` on a fresh connection every 100 ms until
/// stopped, and returns how many times it was answered and every failure.
fn steady_client(addr: SocketAddr) -> (oneshot::Sender<()>, JoinHandle<(usize, Vec<String>)>) {
    let (stop, mut stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let mut answered = 0;
        let mut failures = Vec::new();
        loop {
            let started = Instant::now();
            match ask(addr, HEALTH, Duration::from_secs(2)).await {
                Ok(answer) if answer.status == 204 => answered += 1,
                Ok(answer) => failures.push(format!("status {}", answer.status)),
                Err(error) => failures.push(format!("after {:?}: {error}", started.elapsed())),
            }
            tokio::select! {
                _ = &mut stopped => return (answered, failures),
                () = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
    });
    (stop, task)
}

async fn steady_client_result(
    stop: oneshot::Sender<()>,
    task: JoinHandle<(usize, Vec<String>)>,
) -> usize {
    let _ = stop.send(());
    let (answered, failures) = within("the steady client", task)
        .await
        .expect("the steady client did not panic");
    assert!(
        failures.is_empty(),
        "a normal client must be answered throughout: {failures:?}"
    );
    answered
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_connections_are_closed_after_the_header_read_timeout() {
    let header_read = Duration::from_secs(2);
    let server = Server::orders(ServeOptions::new().header_read_timeout(header_read)).await;
    let addr = server.addr;
    let (stop, steady) = steady_client(addr);

    // 40 clients trickle an HTTP/1.1 head, 10 the HTTP/2 preface (which
    // hyper-util's protocol detection reads with no timer of its own): one
    // byte every half second, so none ever completes.
    let h1 = b"GET /health HTTP/1.1\r\nhost: test\r\nx-slow: ".to_vec();
    let h2 = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let slow: Vec<_> = (0..50)
        .map(|i| {
            let bytes = if i % 5 == 0 { h2.clone() } else { h1.clone() };
            tokio::spawn(async move {
                let opened = Instant::now();
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                let mut next = bytes.into_iter().chain(std::iter::repeat(b'a'));
                let mut buf = [0u8; 256];
                loop {
                    tokio::select! {
                        read = stream.read(&mut buf) => match read {
                            Ok(0) | Err(_) => return opened.elapsed(),
                            Ok(_) => {}
                        },
                        () = tokio::time::sleep(Duration::from_millis(500)) => {
                            let byte = [next.next().expect("endless")];
                            if stream.write_all(&byte).await.is_err() {
                                return opened.elapsed();
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for (i, client) in slow.into_iter().enumerate() {
        let open_for = within("a slowloris connection to be closed", client)
            .await
            .expect("the slow client did not panic");
        assert!(
            open_for >= header_read - Duration::from_millis(300)
                && open_for <= header_read + Duration::from_secs(2),
            "slow connection {i} was closed after {open_for:?}, not after the header-read timeout of {header_read:?}"
        );
    }
    let answered = steady_client_result(stop, steady).await;
    assert!(answered >= 10, "only {answered} normal requests answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_are_closed_after_the_idle_and_header_timeouts() {
    let header_read = Duration::from_secs(1);
    let idle = Duration::from_secs(3);
    let server = Server::orders(
        ServeOptions::new()
            .header_read_timeout(header_read)
            .idle_timeout(idle),
    )
    .await;
    let addr = server.addr;
    let (stop, steady) = steady_client(addr);

    // 400 connections make one request and keep the connection; 100 never
    // send a byte. Each reports how long it stayed open after going idle.
    let progress = Arc::new([const { AtomicUsize::new(0) }; 4]);
    let flood: Vec<_> = (0..500)
        .map(|i| {
            let progress = progress.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.expect("connect");
                progress[0].fetch_add(1, SeqCst);
                let kept_alive = i % 5 != 0;
                if kept_alive {
                    stream.write_all(HEALTH.as_bytes()).await.expect("send");
                    let mut reader = BufReader::new(stream);
                    let answer = read_answer(&mut reader).await.expect("an answer");
                    assert_eq!(answer.status, 204);
                    stream = reader.into_inner();
                }
                progress[1].fetch_add(1, SeqCst);
                let idle_from = Instant::now();
                until_closed(&mut stream).await;
                progress[if kept_alive { 2 } else { 3 }].fetch_add(1, SeqCst);
                (kept_alive, idle_from.elapsed())
            })
        })
        .collect();

    // Waiting longer than the header-read timeout between requests is not
    // a slow head: the connection is still served.
    let mut patient = TcpStream::connect(addr).await.expect("connect");
    patient.write_all(HEALTH.as_bytes()).await.expect("send");
    let mut reader = BufReader::new(patient);
    assert_eq!(
        within("a first answer", read_answer(&mut reader))
            .await
            .expect("answer")
            .status,
        204
    );
    tokio::time::sleep(header_read * 2).await;
    reader
        .get_mut()
        .write_all(HEALTH.as_bytes())
        .await
        .expect("send again");
    let again = within("an answer after a pause", read_answer(&mut reader)).await;
    assert_eq!(
        again
            .expect("a kept-alive connection idle for less than the idle timeout is served")
            .status,
        204
    );

    let closed = tokio::time::timeout(DEADLINE, futures_util::future::join_all(flood))
        .await
        .unwrap_or_else(|_| {
            panic!(
                "idle connections still open after {DEADLINE:?}: of 500, {} connected, {} went idle, {} of 400 kept alive and {} of 100 silent were closed",
                progress[0].load(SeqCst),
                progress[1].load(SeqCst),
                progress[2].load(SeqCst),
                progress[3].load(SeqCst)
            )
        });
    for client in closed {
        let (kept_alive, open_for) = client.expect("the idle client did not panic");
        let expected = if kept_alive { idle } else { header_read };
        assert!(
            open_for >= expected - Duration::from_millis(300)
                && open_for <= expected + Duration::from_secs(2),
            "an idle connection (kept alive: {kept_alive}) was closed after {open_for:?}, expected {expected:?}"
        );
    }
    steady_client_result(stop, steady).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_shorter_than_its_content_length_gets_408_after_the_body_timeout() {
    let body_read = Duration::from_secs(1);
    let router = HttpServer::new(InMemoryOrders::new().into_dispatcher())
        .body_read_timeout(body_read)
        .into_router();
    let server = Server::start(router, ServeOptions::new()).await;

    let started = Instant::now();
    let mut stream = TcpStream::connect(server.addr).await.expect("connect");
    stream
        .write_all(
            b"POST /orders HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"customer",
        )
        .await
        .expect("send");
    let mut reader = BufReader::new(stream);
    let answer = within("the answer to an unfinished body", read_answer(&mut reader))
        .await
        .expect("an answer, not a dropped connection");
    let waited = started.elapsed();
    assert_eq!(answer.status, 408, "{answer:?}");
    assert!(
        waited >= body_read && waited <= body_read + Duration::from_secs(2),
        "answered after {waited:?}"
    );
    let problem = answer.problem();
    assert!(
        problem.detail.unwrap_or_default().contains("body"),
        "the detail names the body"
    );
    assert_eq!(answer.header("connection"), Some("close"));
    within("the connection to close", until_closed(reader.get_mut())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_slower_than_the_request_timeout_gets_504_and_is_dropped() {
    let timeout = Duration::from_millis(500);
    let (service, calls) = SlowOrders::new(Duration::from_secs(20));
    let router = HttpServer::new(service.into_dispatcher())
        .request_timeout(timeout)
        .into_router();
    let server = Server::start(router, ServeOptions::new()).await;
    let addr = server.addr;

    let slow = tokio::spawn(async move {
        let started = Instant::now();
        let answer = ask(addr, STATS, Duration::from_secs(10)).await;
        (answer, started.elapsed())
    });
    // While the handler hangs, the server answers others at once.
    for _ in 0..5 {
        let answer = ask(addr, HEALTH, Duration::from_secs(2))
            .await
            .expect("other requests are answered while a handler hangs");
        assert_eq!(answer.status, 204);
    }
    let (answer, waited) = within("the slow request", slow).await.expect("no panic");
    let answer = answer.expect("an answer");
    assert_eq!(answer.status, 504, "{answer:?}");
    assert!(
        waited >= timeout && waited <= timeout + Duration::from_secs(2),
        "answered after {waited:?}"
    );
    assert!(answer
        .problem()
        .detail
        .unwrap_or_default()
        .contains("500ms"));
    within("the handler to be dropped", async {
        while calls.dropped.load(SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    assert_eq!(calls.finished.load(SeqCst), 0, "the handler never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_beyond_the_concurrency_limit_are_shed_with_retry_after() {
    let (service, calls) = SlowOrders::new(Duration::from_secs(2));
    let router = HttpServer::new(service.into_dispatcher())
        .concurrency_limit(2)
        .retry_after(Duration::from_millis(1500))
        .into_router();
    let server = Server::start(router, ServeOptions::new()).await;
    let addr = server.addr;

    let within_limit: Vec<_> = (0..2)
        .map(|_| tokio::spawn(async move { ask(addr, STATS, Duration::from_secs(10)).await }))
        .collect();
    within("both slow requests to start", async {
        while calls.started.load(SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;

    for request in [HEALTH, STATS] {
        let answer = ask(addr, request, Duration::from_secs(1))
            .await
            .expect("a shed request is answered at once");
        assert_eq!(
            calls.finished.load(SeqCst),
            0,
            "answered while the slow requests still run"
        );
        assert_eq!(answer.status, 503, "{answer:?}");
        assert_eq!(answer.header("retry-after"), Some("2"));
        assert!(answer
            .problem()
            .detail
            .unwrap_or_default()
            .contains("limit of 2"));
    }
    assert_eq!(calls.started.load(SeqCst), 2, "a shed request never runs");

    for request in within_limit {
        let answer = within("a request within the limit", request)
            .await
            .expect("no panic")
            .expect("an answer");
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let answer = ask(addr, HEALTH, Duration::from_secs(1))
        .await
        .expect("an answer once the load is gone");
    assert_eq!(answer.status, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_cap_holds_new_connections_in_the_backlog() {
    let server = Server::orders(ServeOptions::new().max_connections(3)).await;
    let addr = server.addr;

    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(HEALTH.as_bytes()).await.expect("send");
        let mut reader = BufReader::new(stream);
        let answer = within("an answer within the cap", read_answer(&mut reader)).await;
        assert_eq!(answer.expect("answer").status, 204);
        held.push(reader);
    }

    let waiting = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr)
            .await
            .expect("the backlog takes it");
        stream.write_all(HEALTH.as_bytes()).await.expect("send");
        let asked = Instant::now();
        let answer = read_answer(&mut BufReader::new(stream)).await;
        (answer, asked.elapsed())
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !waiting.is_finished(),
        "a fourth connection must wait while three are open"
    );
    drop(held.pop());
    let (answer, waited) = within("the waiting connection", waiting)
        .await
        .expect("no panic");
    assert_eq!(answer.expect("served once a slot frees").status, 204);
    assert!(
        waited >= Duration::from_secs(1),
        "answered after {waited:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_h2c_connection_is_closed_after_the_idle_timeout() {
    let idle = Duration::from_secs(2);
    let server = Server::orders(
        ServeOptions::new()
            .header_read_timeout(Duration::from_secs(1))
            .idle_timeout(idle),
    )
    .await;
    let stream = TcpStream::connect(server.addr).await.expect("connect");
    let (mut sender, connection) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .expect("an h2c handshake");
    let connection = tokio::spawn(connection);
    for _ in 0..2 {
        let request = http::Request::get(format!("http://{}/health", server.addr))
            .body(Empty::<Bytes>::new())
            .expect("a request");
        let response = within("an h2c answer", sender.send_request(request))
            .await
            .expect("served over h2c");
        assert_eq!(response.version(), http::Version::HTTP_2);
        assert_eq!(response.status(), 204);
        response.into_body().collect().await.expect("the body");
        // Still open past the header-read timeout: only idleness counts.
        tokio::time::sleep(Duration::from_millis(1200)).await;
    }
    let idle_from = Instant::now() - Duration::from_millis(1200);
    let _ = within("the server to close the idle h2c connection", connection).await;
    let open_for = idle_from.elapsed();
    assert!(
        open_for >= idle - Duration::from_millis(300) && open_for <= idle + Duration::from_secs(2),
        "closed {open_for:?} after its last response"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigint_with_a_stalled_client_exits_within_the_grace_period() {
    let grace = Duration::from_secs(1);
    // A long header-read timeout, so only the grace period can end the
    // stalled exchanges.
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_limits-server"))
        .args(["--header-read-ms", "60000", "--grace-ms"])
        .arg(grace.as_millis().to_string())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start limits-server");
    let pid = child.id().expect("a running child");
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    within("the server to listen", stdout.read_line(&mut line))
        .await
        .expect("read its first line");
    let addr: SocketAddr = line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .expect("an address");
    let answer = ask(addr, HEALTH, Duration::from_secs(5)).await;
    assert_eq!(answer.expect("served").status, 204);

    // One client stops halfway through its head, another halfway through
    // its body.
    let mut half_head = TcpStream::connect(addr).await.expect("connect");
    half_head
        .write_all(b"GET /health HTTP/1.1\r\nhost: te")
        .await
        .expect("send");
    let mut half_body = TcpStream::connect(addr).await.expect("connect");
    half_body
        .write_all(
            b"POST /orders HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n\
              content-length: 100\r\n\r\n{\"customer",
        )
        .await
        .expect("send");
    tokio::time::sleep(Duration::from_millis(300)).await;

    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT {pid} failed");
    let signalled = Instant::now();
    let exit = tokio::time::timeout(grace + Duration::from_secs(4), child.wait()).await;
    let waited = signalled.elapsed();
    let exit = match exit {
        Ok(exit) => exit.expect("wait for the server"),
        Err(_) => {
            let _ = child.kill().await;
            panic!("the server had not exited {waited:?} after SIGINT (grace {grace:?})");
        }
    };
    assert!(exit.success(), "the server exited with {exit}");
    assert!(
        waited >= grace - Duration::from_millis(100),
        "exited after {waited:?}, before the grace period of {grace:?} ran out"
    );
    // The stalled clients see their connections closed.
    within(
        "the half-sent head's connection to close",
        until_closed(&mut half_head),
    )
    .await;
    within(
        "the half-sent body's connection to close",
        until_closed(&mut half_body),
    )
    .await;
}
