//! Running the CLI, finding the tools some tests need, throwaway crates and
//! the example server.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use accord_codegen::emit::digest::DIGEST_FILE;

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("codegen sits in the workspace")
        .to_path_buf()
}

/// The exporter cache the tests share (and `scripts/validate-generated.sh`
/// uses too), so the exporters' dependencies are compiled once.
pub fn cache_dir() -> PathBuf {
    root().join("target").join("accord-export")
}

/// The folder this test process keeps its scratch folders in.
///
/// Test runners that start one process per test (cargo-nextest) run several
/// of this binary at once, so each process writes below a folder of its
/// own, and the first call removes the folders of processes that have
/// ended.
fn process_scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("accord-codegen");
        if let Ok(entries) = std::fs::read_dir(&base) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let pid = name.to_str().and_then(|n| n.strip_prefix("process-"));
                let ended = pid.is_some_and(|pid| !Path::new("/proc").join(pid).exists());
                if ended && Path::new("/proc/self").exists() {
                    let _ = std::fs::remove_dir_all(entry.path());
                }
            }
        }
        base.join(format!("process-{}", std::process::id()))
    })
}

/// An empty folder for one test, below cargo's temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = process_scratch().join(name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("cannot clear a scratch folder");
    }
    std::fs::create_dir_all(&dir).expect("cannot create a scratch folder");
    dir
}

/// Runs the `accord` binary with the shared cache.
pub fn accord<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_accord"))
        .args(args)
        .env("ACCORD_CACHE_DIR", cache_dir())
        .output()
        .expect("cannot run accord")
}

/// Runs `accord generate PATHS --out OUT EXTRA...` and insists it succeeds.
pub fn generate(paths: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let mut args: Vec<&OsStr> = vec![OsStr::new("generate")];
    args.extend(paths.iter().map(|p| p.as_os_str()));
    args.extend([OsStr::new("--out"), out.as_os_str()]);
    args.extend(extra.iter().map(OsStr::new));
    let output = accord(&args);
    assert!(
        output.status.success(),
        "accord {args:?} failed:\n{}",
        text(&output.stderr)
    );
    output
}

/// Lossy UTF-8.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The example contract crates: folder name and path.
pub fn contract_crates() -> Vec<(String, PathBuf)> {
    let mut crates: Vec<(String, PathBuf)> = std::fs::read_dir(root().join("contracts"))
        .expect("contracts/ exists")
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .map(|e| (e.file_name().to_string_lossy().into_owned(), e.path()))
        .collect();
    crates.sort();
    assert!(!crates.is_empty(), "no crate in contracts/");
    crates
}

/// What `accord generate` wrote for one example crate.
#[derive(Debug)]
pub struct Published {
    /// With OpenAPI 3.1 (the default).
    pub v31: PathBuf,
    /// With `--openapi-version 3.0`.
    pub v30: PathBuf,
}

/// Every example crate published, once per test run.
pub fn published() -> &'static BTreeMap<String, Published> {
    static PUBLISHED: OnceLock<BTreeMap<String, Published>> = OnceLock::new();
    PUBLISHED.get_or_init(|| {
        let base = scratch("published");
        contract_crates()
            .into_iter()
            .map(|(name, path)| {
                let v31 = base.join(&name).join("3.1");
                let v30 = base.join(&name).join("3.0");
                generate(&[&path], &v31, &[]);
                generate(&[&path], &v30, &["--openapi-version", "3.0", "--quiet"]);
                (name, Published { v31, v30 })
            })
            .collect()
    })
}

/// The `<service>/<version>` folders below `out`, sorted.
pub fn service_folders(out: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for service in std::fs::read_dir(out).expect("output folder").flatten() {
        for version in std::fs::read_dir(service.path())
            .expect("service folder")
            .flatten()
        {
            found.push(version.path());
        }
    }
    found.sort();
    found
}

/// Every file below `dir`, by path relative to it (with `/`), but the
/// digest files recording what they were rendered from.
pub fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, files: &mut BTreeMap<String, Vec<u8>>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(base, &path, files);
            } else if entry.file_name() == DIGEST_FILE {
                // What the files were rendered from, not one of them: it
                // names accord's version, and has tests of its own.
                continue;
            } else {
                let relative = path.strip_prefix(base).unwrap();
                let key = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                files.insert(key, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut files = BTreeMap::new();
    walk(dir, dir, &mut files);
    files
}

/// `Some(path)` when a tool is there. When it is not: a failure under CI
/// (which installs every tool), else one line saying the test is skipped.
pub fn require_tool(name: &str, found: Option<PathBuf>, install: &str) -> Option<PathBuf> {
    if found.is_some() {
        return found;
    }
    if std::env::var_os("CI").is_some() {
        panic!("{name} is missing, and CI must run this test: {install}");
    }
    // Straight to stderr, past the test harness's capture, so the line
    // shows even though the test passes.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: {name} is not installed ({install})"
    );
    None
}

/// `tsc` from the validators `.ci/run tools` installs.
pub fn tsc() -> Option<PathBuf> {
    let tools = std::env::var_os("ACCORD_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci-cache"));
    let tsc = tools.join("npm/node_modules/.bin/tsc");
    require_tool(
        "tsc",
        tsc.is_file().then_some(tsc),
        "run `bash .ci/run tools`",
    )
}

/// The pinned Python client tools `.ci/run tools` installs (mypy, ruff,
/// pytest, pip with httpx and pydantic): the folder of their executables.
pub fn python_tools() -> Option<PathBuf> {
    let tools = std::env::var_os("ACCORD_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".ci-cache"));
    let bin = tools.join("venv-client/bin");
    let complete = ["python", "mypy", "ruff", "pytest"]
        .iter()
        .all(|tool| bin.join(tool).is_file());
    require_tool(
        "the Python client tools (mypy, ruff, pytest)",
        complete.then_some(bin),
        "run `bash .ci/run tools`",
    )
}

/// `node` from the PATH.
pub fn node() -> Option<PathBuf> {
    require_tool("node", on_path(&["node"]), "install Node.js")
}

/// Chromium from the PATH.
pub fn chromium() -> Option<PathBuf> {
    require_tool(
        "chromium",
        on_path(&["chromium", "chromium-browser"]),
        "apt-get install -y chromium",
    )
}

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|candidate| candidate.is_file())
}

/// Runs `command`, killing it after `limit`.
pub fn run_with_timeout(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = read(Box::new(child.stdout.take().unwrap()));
    let stderr = read(Box::new(child.stderr.take().unwrap()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("cannot wait for a child") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    }
}

/// A throwaway contract crate in its own workspace, depending on this
/// workspace's accord and pinned to its lock file (so its exporter reuses
/// the compiled dependencies). `files` are `(path under src/, contents)`.
pub fn temp_crate(name: &str, manifest_deps: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = scratch(&format!("crates/{name}"));
    let runtime = root().join("runtime");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [dependencies]\n{}\nserde = {{ version = \"1\", features = [\"derive\"] }}\nschemars = \"1\"\n\n\
         [workspace]\n",
        manifest_deps.replace("{runtime}", &runtime.display().to_string().replace('\\', "/")),
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    for (path, contents) in files {
        let file = dir.join("src").join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, contents).unwrap();
    }
    dir
}

/// The example orders server, served in this process on a free loopback
/// port until dropped.
pub struct OrdersServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OrdersServer {
    /// Starts the server.
    pub fn start() -> Self {
        use orders_contract::OrdersServer as _;

        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let app = orders_server::InMemoryOrders::new().into_router();
                accord::http::serve(listener, app, async {
                    let _ = stop.await;
                })
                .await
                .expect("the orders server failed");
            });
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the orders server did not start");
        OrdersServer {
            base_url: format!("http://127.0.0.1:{port}"),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for OrdersServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The example payments server, behind its authentication, on a loopback
/// port in a thread of its own, with credentials made at start: a token
/// granting every scope, one granting none, and an API key.
pub struct PaymentsServer {
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// A token granting `payments:write` and `payments:refund`.
    pub token: String,
    /// A valid token granting no scope.
    pub read_token: String,
    /// The back office's API key.
    pub api_key: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// A CA made for one test and the server certificate it signed, as PEM.
pub struct TestCa {
    /// The CA certificate, for the client to trust.
    pub ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl TestCa {
    /// A CA, and a certificate for `127.0.0.1` signed by it.
    pub fn new() -> Self {
        use rcgen::{
            BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
            IsCa, KeyPair, KeyUsagePurpose,
        };
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "accord codegen test CA");
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("a CA key"))
            .expect("a CA certificate");
        let mut params =
            CertificateParams::new(vec!["127.0.0.1".to_owned()]).expect("server params");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().expect("a server key");
        let cert = params.signed_by(&key, &ca).expect("a server certificate");
        TestCa {
            ca_pem: ca.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

impl PaymentsServer {
    /// Starts the server over plain HTTP.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts the server over HTTPS with `ca`'s server certificate.
    pub fn start_https(ca: &TestCa) -> Self {
        let tls = accord::http::ServerTls::from_pem(ca.cert_pem.clone(), ca.key_pem.clone())
            .expect("server TLS settings");
        Self::start_with(Some(tls))
    }

    fn start_with(tls: Option<accord::http::ServerTls>) -> Self {
        use accord::auth::{AuthLayer, Authenticator};
        use payments_contract::{Payments, PaymentsServer as _};

        let credentials =
            payments_server::DevCredentials::generate().expect("development credentials");
        let read_token = credentials
            .token_for("reader", &[])
            .expect("a token without scopes");
        let authenticator = Authenticator::new()
            .bearer(credentials.verifier.clone())
            .api_keys(credentials.api_keys.clone());
        let layer = AuthLayer::new(Payments::descriptor(), authenticator).expect("the auth layer");
        let https = tls.is_some();
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a tokio runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("a loopback port");
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let dispatcher = payments_server::InMemoryPayments::new()
                    .into_dispatcher()
                    .layer(layer);
                let app = accord::HttpServer::new(dispatcher).into_router();
                let mut options = accord::http::ServeOptions::new();
                if let Some(tls) = tls {
                    options = options.tls(tls);
                }
                options
                    .serve(listener, app, async {
                        let _ = stop.await;
                    })
                    .await
                    .expect("the payments server failed");
            });
        });
        let port = port_rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the payments server did not start");
        let scheme = if https { "https" } else { "http" };
        PaymentsServer {
            base_url: format!("{scheme}://127.0.0.1:{port}"),
            token: credentials.token.clone(),
            read_token,
            api_key: credentials.api_key.clone(),
            shutdown: Some(shutdown),
            thread: Some(thread),
        }
    }
}

impl Drop for PaymentsServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
