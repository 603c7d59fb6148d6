//! accord against hand-written code, measured in one run, as ratios.
//!
//! `accord-bench --all` runs every benchmark and writes BENCHMARKS.md at the
//! workspace root; `scripts/bench.sh` builds what it needs and runs it. See
//! the Method section of BENCHMARKS.md for what each benchmark does.

mod bare_lapin;
mod bare_nats;
mod brokers;
mod cascade;
mod cli;
mod contract;
mod http_client;
mod http_server;
mod kept;
mod outbox;
mod peers;
mod process;
mod report;
mod server;
mod stats;
mod synth;
mod turns;
mod work;
mod wrk;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use report::Report;
use server::ServerKind;

/// Benchmarks accord against the same work written by hand and writes
/// BENCHMARKS.md.
#[derive(Debug, Parser)]
#[command(name = "accord-bench")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,

    /// Run every section.
    #[arg(long)]
    all: bool,

    /// Run only these sections.
    #[arg(long, value_enum, value_delimiter = ',')]
    only: Vec<Section>,

    /// Interleaved runs of each measurement (at least 3 for the report).
    #[arg(long, default_value_t = 3)]
    runs: usize,

    /// Shorter periods, to try the harness; the figures mean little.
    #[arg(long)]
    quick: bool,

    /// The report to write.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,

    /// The command line shown in the report as the way to reproduce it.
    #[arg(long, default_value = "scripts/bench.sh", hide = true)]
    command_line: String,

    /// NATS with JetStream.
    #[arg(long, env = "ACCORD_NATS_URL", default_value = "nats://127.0.0.1:4222")]
    nats_url: String,

    /// RabbitMQ.
    #[arg(
        long,
        env = "ACCORD_AMQP_URL",
        default_value = "amqp://guest:guest@127.0.0.1:5672/%2f"
    )]
    amqp_url: String,

    /// A Kafka broker (tansu in CI).
    #[arg(
        long,
        env = "ACCORD_KAFKA_URL",
        default_value = "kafka://127.0.0.1:19092"
    )]
    kafka_url: String,

    /// PostgreSQL, for the outbox section.
    #[arg(
        long,
        env = "ACCORD_POSTGRES_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    postgres_url: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve one of the two HTTP servers (the harness starts these).
    Serve {
        #[arg(value_enum)]
        kind: ServerKind,
        addr: std::net::SocketAddr,
    },
    /// Serve the cascade's shopfront (A); the cascade benchmark starts this.
    #[command(name = "cascade-shopfront", hide = true)]
    CascadeShopfront(::cascade::process::ShopfrontArgs),
    /// Serve the orders calls over accord, tonic and tarpc; the peers
    /// benchmark starts this.
    #[command(name = "peers-serve", hide = true)]
    PeersServe,
    /// Write the synthetic contracts' descriptors the emit benchmark uses.
    Synth {
        /// The folder to write `<service>.json` files to.
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = synth::EMIT_SERVICES)]
        services: usize,
        #[arg(long, default_value_t = synth::EMIT_OPERATIONS)]
        operations: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Section {
    HttpServer,
    HttpClient,
    Nats,
    Amqp,
    Kafka,
    Memory,
    Cli,
    Cascade,
    Outbox,
    Peers,
}

const ALL: [Section; 10] = [
    Section::HttpServer,
    Section::HttpClient,
    Section::Nats,
    Section::Amqp,
    Section::Kafka,
    Section::Memory,
    Section::Cli,
    Section::Cascade,
    Section::Outbox,
    Section::Peers,
];

/// How long and how often each benchmark measures.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runs: usize,
    pub http_warmup: Duration,
    pub http_measure: Duration,
    pub client_warmup: Duration,
    pub client_measure: Duration,
    pub broker_warmup: Duration,
    pub broker_publish: Duration,
    pub e2e: Duration,
    pub e2e_rate: usize,
    pub memory_events: u64,
    pub cold_runs: usize,
    pub warm_runs: usize,
    pub emit_runs: usize,
    pub nats_url: String,
    pub amqp_url: String,
    /// Shorter periods (`--quick`).
    pub quick: bool,
    pub kafka_url: String,
    pub postgres_url: String,
    /// Events in the outbox backlog a relay drains.
    pub outbox_backlog: u64,
    /// A folder of the run's own, removed at its end.
    pub scratch: PathBuf,
}

impl Plan {
    fn new(args: &Args, scratch: PathBuf) -> Self {
        let runs = args.runs.max(1);
        let quick = args.quick;
        let pick = |full: u64, short: u64| if quick { short } else { full };
        Plan {
            runs,
            http_warmup: Duration::from_secs(1),
            http_measure: Duration::from_secs(pick(4, 1)),
            client_warmup: Duration::from_millis(500),
            client_measure: Duration::from_millis(pick(3000, 1000)),
            broker_warmup: Duration::from_millis(500),
            broker_publish: Duration::from_millis(pick(3000, 1000)),
            e2e: Duration::from_millis(pick(4000, 1000)),
            e2e_rate: 2000,
            memory_events: pick(300_000, 30_000),
            cold_runs: if quick { 1 } else { runs },
            warm_runs: runs,
            emit_runs: runs.max(5),
            nats_url: args.nats_url.clone(),
            amqp_url: args.amqp_url.clone(),
            quick,
            kafka_url: args.kafka_url.clone(),
            postgres_url: args.postgres_url.clone(),
            outbox_backlog: pick(20_000, 2_000),
            scratch,
        }
    }
}

pub use synth::workspace_root;

/// A runtime for one section, on every core, as services run.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start a runtime")
}

fn main() -> Result<()> {
    let args = Args::parse();
    match &args.command {
        Some(Command::Serve { kind, addr }) => return server::serve(*kind, *addr),
        Some(Command::CascadeShopfront(shopfront)) => {
            return ::cascade::process::shopfront_main(shopfront.clone())
        }
        Some(Command::PeersServe) => return peers::serve(),
        Some(Command::Synth {
            out,
            services,
            operations,
        }) => {
            let descriptors = synth::services(*services, *operations);
            for path in synth::write(out, &descriptors)? {
                println!("{}", path.display());
            }
            return Ok(());
        }
        None => {}
    }
    let sections: Vec<Section> = if args.all {
        ALL.to_vec()
    } else if !args.only.is_empty() {
        ALL.into_iter().filter(|s| args.only.contains(s)).collect()
    } else {
        bail!("say what to run: --all, or --only with sections (see --help)");
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| workspace_root().join("BENCHMARKS.md"));
    let scratch = std::env::temp_dir().join(format!("accord-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let plan = Plan::new(&args, scratch.clone());
    let result = run(&args, &plan, &sections, &out);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run(args: &Args, plan: &Plan, sections: &[Section], out: &Path) -> Result<()> {
    let started = Instant::now();
    let mut report = Report {
        runs: plan.runs,
        command: args.command_line.clone(),
        started: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        ..Report::default()
    };
    let load_before = load_average();
    for section in sections {
        eprintln!("== {section:?}");
        let section_started = Instant::now();
        match section {
            Section::HttpServer => http_server::run(plan, &mut report)?,
            Section::HttpClient => http_client::run(plan, &mut report)?,
            Section::Nats => brokers::run_nats(plan, &mut report)?,
            Section::Amqp => brokers::run_amqp(plan, &mut report)?,
            Section::Kafka => brokers::run_kafka(plan, &mut report)?,
            Section::Memory => brokers::run_memory(plan, &mut report)?,
            Section::Cli => cli::run(plan, &mut report)?,
            Section::Cascade => cascade::run(plan, &mut report)?,
            Section::Outbox => outbox::run(plan, &mut report)?,
            Section::Peers => peers::run(plan, &mut report)?,
        }
        eprintln!(
            "   {section:?} took {:.0} s",
            section_started.elapsed().as_secs_f64()
        );
    }
    report.wall_seconds = started.elapsed().as_secs_f64();
    report.machine = machine(&load_before);
    report.versions.splice(0..0, versions());
    if sections.len() < ALL.len() {
        report.observations.push(format!(
            "Sections run: {}.",
            sections
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if args.quick {
        report
            .observations
            .push("A --quick run: short periods, figures for trying the harness only.".into());
    }
    let previous = std::fs::read_to_string(out).ok();
    // A run of only the sections written whole (the cascade, the outbox)
    // rewrites them in the previous file and keeps the rest.
    let whole_only = sections
        .iter()
        .all(|s| matches!(s, Section::Cascade | Section::Outbox));
    let blocks = [
        (
            kept::CASCADE_START,
            kept::CASCADE_END,
            report.cascade.as_ref().map(|w| w.markdown.as_str()),
        ),
        (
            kept::OUTBOX_START,
            kept::OUTBOX_END,
            report.outbox.as_ref().map(|w| w.markdown.as_str()),
        ),
    ];
    let text = match previous.as_deref() {
        Some(previous) if whole_only => kept::rewrite_blocks(previous, &blocks),
        _ => None,
    };
    let text = text.unwrap_or_else(|| {
        let analysis = kept::kept_analysis(previous.as_deref());
        let kept = |start, end| {
            previous
                .as_deref()
                .and_then(|p| kept::between(p, start, end))
        };
        report.markdown(
            &analysis,
            kept(kept::CASCADE_START, kept::CASCADE_END),
            kept(kept::OUTBOX_START, kept::OUTBOX_END),
        )
    });
    std::fs::write(out, text).with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!("{}", report.goals());
    eprintln!("wrote {} in {:.0} s", out.display(), report.wall_seconds);
    Ok(())
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".into())
}

fn machine(load_before: &str) -> Vec<(String, String)> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find_map(|line| line.strip_prefix("model name"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(_, model)| model.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let kb: f64 = text
                .lines()
                .find_map(|line| line.strip_prefix("MemTotal:"))?
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .ok()?;
            Some(format!("{:.1} GiB", kb / 1024.0 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "unknown".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("cores (nproc)".into(), cores),
        ("CPU".into(), cpu),
        ("memory".into(), memory),
        ("kernel".into(), kernel),
        (
            "load average (1, 5, 15 min) before / after".into(),
            format!("{load_before} / {}", load_average()),
        ),
    ]
}

/// The first line `program args` prints, or "unknown".
pub fn first_line(program: &str, args: &[&str]) -> String {
    std::process::Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|output| {
            let text = if output.stdout.is_empty() {
                output.stderr
            } else {
                output.stdout
            };
            String::from_utf8_lossy(&text)
                .lines()
                .next()
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into())
}

fn versions() -> Vec<(String, String)> {
    let mut versions = vec![
        ("rustc".into(), first_line("rustc", &["--version"])),
        (
            "wrk".into(),
            first_line("wrk", &["--version"])
                .split_whitespace()
                .take(2)
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ];
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).unwrap_or_default();
    for krate in [
        "axum",
        "hyper",
        "hyper-util",
        "reqwest",
        "tokio",
        "serde_json",
        "async-nats",
        "lapin",
        "rdkafka",
        "tonic",
        "prost",
        "tarpc",
    ] {
        versions.push((
            format!("{krate} (Cargo.lock)"),
            locked_version(&lock, krate),
        ));
    }
    versions
}

/// The version of `krate` in a Cargo.lock.
fn locked_version(lock: &str, krate: &str) -> String {
    let header = format!("name = \"{krate}\"\nversion = \"");
    lock.find(&header)
        .and_then(|at| {
            let rest = &lock[at + header.len()..];
            rest.split('"').next().map(str::to_owned)
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_versions_from_a_lockfile() {
        let lock = "[[package]]\nname = \"axum\"\nversion = \"0.8.9\"\n";
        assert_eq!(locked_version(lock, "axum"), "0.8.9");
        assert_eq!(locked_version(lock, "hyper"), "unknown");
    }

    #[test]
    fn a_cascade_run_alone_rewrites_only_its_section() {
        let block = |body: &str| format!("{}{body}{}", kept::CASCADE_START, kept::CASCADE_END);
        let previous = format!(
            "# B\n\n## Results\n\nold tables\n{}\n## Machine\n\nold\n",
            block("old cascade\n")
        );
        let spliced = kept::splice(
            &previous,
            kept::CASCADE_START,
            kept::CASCADE_END,
            "new cascade\n",
        )
        .unwrap();
        assert_eq!(spliced, previous.replace("old cascade", "new cascade"));

        let without = "# B\n\nold tables\n\n## Machine\n\nold\n";
        assert!(kept::splice(without, kept::CASCADE_START, kept::CASCADE_END, "x").is_none());
        let inserted = kept::insert_block(
            without,
            kept::CASCADE_START,
            kept::CASCADE_END,
            "new cascade\n",
        )
        .unwrap();
        assert_eq!(
            inserted,
            format!(
                "# B\n\nold tables\n\n{}\n## Machine\n\nold\n",
                block("new cascade\n")
            )
        );
        assert_eq!(
            kept::between(&inserted, kept::CASCADE_START, kept::CASCADE_END),
            Some("new cascade\n")
        );
    }

    #[test]
    fn an_outbox_run_alone_rewrites_or_adds_its_section_and_keeps_the_cascade() {
        let previous = format!(
            "# B\n\nold tables\n\n{}old cascade\n{}\n## Machine\n\nold\n",
            kept::CASCADE_START,
            kept::CASCADE_END
        );
        let blocks = [
            (kept::CASCADE_START, kept::CASCADE_END, None),
            (kept::OUTBOX_START, kept::OUTBOX_END, Some("outbox 1\n")),
        ];
        let added = kept::rewrite_blocks(&previous, &blocks).unwrap();
        assert_eq!(
            kept::between(&added, kept::OUTBOX_START, kept::OUTBOX_END),
            Some("outbox 1\n")
        );
        assert_eq!(
            kept::between(&added, kept::CASCADE_START, kept::CASCADE_END),
            Some("old cascade\n")
        );
        assert!(added.find(kept::OUTBOX_END).unwrap() < added.find(kept::MACHINE).unwrap());

        let blocks = [
            (kept::CASCADE_START, kept::CASCADE_END, None),
            (kept::OUTBOX_START, kept::OUTBOX_END, Some("outbox 2\n")),
        ];
        let rewritten = kept::rewrite_blocks(&added, &blocks).unwrap();
        assert_eq!(rewritten, added.replace("outbox 1", "outbox 2"));
        assert!(kept::rewrite_blocks("# no machine section\n", &blocks).is_none());
    }

    #[test]
    fn keeps_the_analysis_of_the_previous_report() {
        let previous = format!(
            "# old\n{}## Analysis\n\nkept\n{}",
            kept::ANALYSIS_START,
            kept::ANALYSIS_END
        );
        assert_eq!(
            kept::kept_analysis(Some(&previous)),
            "## Analysis\n\nkept\n"
        );
        assert!(kept::kept_analysis(None).contains("Not written yet"));
    }
}
