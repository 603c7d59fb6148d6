//! Values that need escaping reach the server byte for byte, in every
//! position a request can carry them, over HTTP and in process; a path
//! parameter `.` or `..` travels as a segment no path normaliser removes;
//! and one client reuses one connection.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use accord::prelude::*;
use accord::{InProcess, Transport};
use accord_tests::{within, TestServer};

/// What the server saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Echoed {
    pub first: String,
    pub second: String,
    pub query: EchoQuery,
    pub header: Option<String>,
}

/// Query parameters, one of them repeated.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, accord::Query)]
pub struct EchoQuery {
    pub text: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Echoes every part of a request back.
#[accord::service(name = "echo", version = "0.1.0")]
pub trait Echo {
    /// Echo the path parameters, the query and the header.
    #[request(method = "GET", path = "/echo/{first}/and/{second}")]
    async fn echo(
        &self,
        first: String,
        second: String,
        #[query] query: EchoQuery,
        #[header("x-echo")] header: Option<String>,
    ) -> Echoed;
}

#[derive(Debug, Default)]
struct EchoService;

impl EchoServer for EchoService {
    async fn echo(
        &self,
        first: String,
        second: String,
        query: EchoQuery,
        header: Option<String>,
    ) -> Echoed {
        Echoed {
            first,
            second,
            query,
            header,
        }
    }
}

/// Text that means something to a URL, a form or a header parser.
const AWKWARD: &[&str] = &[
    "plain",
    "with space",
    "two  spaces",
    "a/b",
    "/leading",
    "trailing/",
    "what?",
    "a&b",
    "k=v",
    "100%",
    "%2F",
    "%%",
    "a%20b",
    "#hash",
    "1+1",
    "+",
    "~!$'()*,;:@",
    "[brackets]{braces}|pipe\\back^caret`tick\"quote<lt>gt",
    "ünïcödé",
    "日本語",
    "emoji 🦀",
    "mixed /?&=%#+ ü",
    ".",
    "..",
    "tab\there",
];

async fn assert_echoes<T: Transport>(client: &EchoClient<T>) {
    for (i, value) in AWKWARD.iter().enumerate() {
        let value = (*value).to_owned();
        let other = AWKWARD[(i + 7) % AWKWARD.len()].to_owned();
        let query = EchoQuery {
            text: value.clone(),
            tags: vec![value.clone(), other.clone(), String::new(), value.clone()],
            note: Some(other.clone()),
        };
        let header = Some(value.clone());
        let echoed = within("an echo", client.echo(&value, &other, &query, &header))
            .await
            .unwrap_or_else(|e| panic!("echo {value:?}: {e}"));
        assert_eq!(
            echoed,
            Echoed {
                first: value.clone(),
                second: other.clone(),
                query,
                header,
            },
            "{value:?} arrives unchanged"
        );
    }

    let empty = EchoQuery::default();
    let echoed = within(
        "an echo",
        client.echo(&"x".to_owned(), &"y".to_owned(), &empty, &None),
    )
    .await
    .expect("echo");
    assert_eq!(echoed.query, empty, "empty and absent query values");
    assert_eq!(echoed.header, None, "an absent header stays absent");

    let one = EchoQuery {
        text: String::new(),
        tags: vec!["only".to_owned()],
        note: Some(String::new()),
    };
    let echoed = within(
        "an echo",
        client.echo(
            &"x".to_owned(),
            &"y".to_owned(),
            &one,
            &Some("in  the\tmiddle".to_owned()),
        ),
    )
    .await
    .expect("echo");
    assert_eq!(echoed.query, one, "a single repeated value, empty strings");
    assert_eq!(echoed.header.as_deref(), Some("in  the\tmiddle"));
}

#[tokio::test]
async fn awkward_values_arrive_unchanged_over_http() {
    let server = TestServer::start(EchoService.into_router()).await;
    let client = EchoClient::new(&server.url()).unwrap();
    assert_echoes(&client).await;
}

#[tokio::test]
async fn awkward_values_arrive_unchanged_in_process() {
    let client = EchoClient::with_transport(InProcess::new(EchoService.into_dispatcher()));
    assert_echoes(&client).await;
}

#[tokio::test]
async fn values_that_cannot_be_sent_are_encode_errors() {
    let server = TestServer::start(EchoService.into_router()).await;
    let client = EchoClient::new(&server.url()).unwrap();
    let query = EchoQuery::default();
    let x = "x".to_owned();

    let error = client
        .echo(&String::new(), &x, &query, &None)
        .await
        .expect_err("an empty path parameter");
    assert!(matches!(error, CallError::Encode(_)), "{error}");
    assert!(error.to_string().contains("first"), "{error}");

    for header in ["line\nbreak", "nul\0", " padded", "padded ", "\ttabbed"] {
        let error = client
            .echo(&x, &x, &query, &Some(header.to_owned()))
            .await
            .expect_err("a header value HTTP cannot carry unchanged");
        assert!(matches!(error, CallError::Encode(_)), "{header:?}: {error}");
        assert!(error.to_string().contains("x-echo"), "{error}");
    }
}

#[tokio::test]
async fn one_client_reuses_one_connection() {
    let (server, connections) = TestServer::start_counting(EchoService.into_router()).await;
    let client = EchoClient::new(&server.url()).unwrap();
    let query = EchoQuery {
        text: "again".to_owned(),
        ..EchoQuery::default()
    };
    for i in 0..50 {
        let first = format!("call {i}");
        let echoed = within(
            "an echo",
            client.echo(&first, &"x".to_owned(), &query, &None),
        )
        .await
        .expect("echo");
        assert_eq!(echoed.first, first);
    }
    assert_eq!(connections.get(), 1, "50 sequential calls, one connection");

    // A clone shares the pool.
    let clone = client.clone().with_timeout(Duration::from_secs(5));
    within(
        "an echo",
        clone.echo(&"clone".to_owned(), &"x".to_owned(), &query, &None),
    )
    .await
    .expect("echo");
    assert_eq!(connections.get(), 1, "a clone shares the connection");
    server.shutdown().await.expect("clean shutdown");
}

/// The request targets a server received, before routing.
type Targets = Arc<Mutex<Vec<String>>>;

/// The echo router, recording each request's path as it came off the wire.
fn recording_echo() -> (axum::Router, Targets) {
    let targets = Targets::default();
    let seen = targets.clone();
    let router = EchoService.into_router().layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            seen.lock().unwrap().push(request.uri().path().to_owned());
            next.run(request)
        },
    ));
    (router, targets)
}

/// What a proxy or client library that normalises paths makes of `path`:
/// RFC 3986 section 5.2.4, removing `.` and `..` segments (and the segment
/// before each `..`).
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                out.pop();
            }
            other => {
                out.push(other);
                continue;
            }
        }
        if last {
            out.push("");
        }
    }
    format!("/{}", out.join("/"))
}

#[test]
fn the_normaliser_removes_dot_segments() {
    assert_eq!(remove_dot_segments("/echo/../and/x"), "/and/x");
    assert_eq!(remove_dot_segments("/echo/x/and/."), "/echo/x/and/");
    assert_eq!(
        remove_dot_segments("/echo/%2E%2E/and/%2E"),
        "/echo/%2E%2E/and/%2E"
    );
}

#[tokio::test]
async fn dot_segments_survive_a_path_normaliser() {
    let (router, targets) = recording_echo();
    let server = TestServer::start(router).await;
    let client = EchoClient::new(&server.url()).unwrap();
    let query = EchoQuery::default();
    for (first, second) in [("..", "."), (".", ".."), ("..", ".."), ("...", "a.b")] {
        let echoed = within(
            "an echo",
            client.echo(&first.to_owned(), &second.to_owned(), &query, &None),
        )
        .await
        .unwrap_or_else(|e| panic!("echo {first:?} {second:?}: {e}"));
        assert_eq!(
            (echoed.first.as_str(), echoed.second.as_str()),
            (first, second)
        );
        let target = targets.lock().unwrap().pop().expect("a request arrived");
        assert_eq!(
            remove_dot_segments(&target),
            target,
            "a normalising proxy would send {first:?}/{second:?} elsewhere"
        );
    }
    within(
        "an echo",
        client.echo(&"..".to_owned(), &".".to_owned(), &query, &None),
    )
    .await
    .expect("echo");
    let target = targets.lock().unwrap().pop().expect("a request arrived");
    assert_eq!(target, "/echo/%2E%2E/and/%2E", "dots are percent-encoded");
    server.shutdown().await.expect("clean shutdown");
}
