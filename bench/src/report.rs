//! The measurements of a run, and BENCHMARKS.md written from them.

use std::fmt::Write as _;

use crate::kept::{
    ANALYSIS_END, ANALYSIS_START, CASCADE_END, CASCADE_START, MACHINE, OUTBOX_END, OUTBOX_START,
};
use crate::stats::{median, ratios, spread};

/// What a figure counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Requests per second.
    PerSecond,
    /// Milliseconds.
    Millis,
}

/// Which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

/// One figure read from a measurement of type `T`, and its goal.
#[derive(Debug, Clone, Copy)]
pub struct Metric<T> {
    pub name: &'static str,
    pub unit: Unit,
    pub better: Better,
    pub value: fn(&T) -> f64,
    /// The bound on the median ratio accord / baseline.
    pub goal: Option<f64>,
}

/// accord against a baseline, over interleaved runs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The section heading it belongs to.
    pub section: &'static str,
    /// What was measured.
    pub what: String,
    /// The baseline's name, as a column value.
    pub baseline: &'static str,
    pub unit: Unit,
    pub better: Better,
    /// One figure per run.
    pub accord: Vec<f64>,
    /// One figure per run, measured next to the same run of accord.
    pub base: Vec<f64>,
    /// The bound on the median ratio accord / baseline.
    pub goal: Option<f64>,
}

impl Comparison {
    /// Per-run ratios accord / baseline.
    pub fn ratios(&self) -> Vec<f64> {
        ratios(&self.accord, &self.base)
    }

    /// Whether the median ratio meets the goal; `None` without one.
    pub fn met(&self) -> Option<bool> {
        let goal = self.goal?;
        let ratio = median(&self.ratios());
        Some(match self.better {
            Better::Higher => ratio >= goal,
            Better::Lower => ratio <= goal,
        })
    }

    fn goal_text(&self) -> String {
        match (self.goal, self.better) {
            (None, _) => String::new(),
            (Some(goal), Better::Higher) => format!("≥ {goal:.2}×"),
            (Some(goal), Better::Lower) => format!("≤ {goal:.2}×"),
        }
    }
}

/// A figure of accord's alone (the CLI), over repeated runs.
#[derive(Debug, Clone)]
pub struct Absolute {
    pub section: &'static str,
    pub what: String,
    pub unit: Unit,
    pub values: Vec<f64>,
    /// The most the median may be, in `unit`.
    pub goal: Option<f64>,
}

impl Absolute {
    pub fn met(&self) -> Option<bool> {
        Some(median(&self.values) <= self.goal?)
    }
}

/// A section written whole by its benchmark, with its goal lines.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// The section, heading and all.
    pub markdown: String,
    /// One line per goal, `met` or `**missed**`, also inside `markdown`.
    pub goals: Vec<String>,
}

/// Everything a run measured and what it ran on.
#[derive(Debug, Default)]
pub struct Report {
    pub comparisons: Vec<Comparison>,
    pub absolutes: Vec<Absolute>,
    /// The cascade section, when it was run.
    pub cascade: Option<Written>,
    /// The outbox section, when it was run.
    pub outbox: Option<Written>,
    /// Facts the run observed, one line each (counts, sizes).
    pub observations: Vec<String>,
    pub machine: Vec<(String, String)>,
    pub versions: Vec<(String, String)>,
    pub command: String,
    pub started: String,
    pub wall_seconds: f64,
    pub runs: usize,
}

/// A figure in `unit`, short.
pub fn figure(value: f64, unit: Unit) -> String {
    match unit {
        Unit::PerSecond if value >= 10_000.0 => format!("{:.1}k", value / 1000.0),
        Unit::PerSecond if value >= 1_000.0 => format!("{:.2}k", value / 1000.0),
        Unit::PerSecond => format!("{value:.0}"),
        Unit::Millis if value >= 1_000.0 => format!("{:.2} s", value / 1000.0),
        Unit::Millis if value >= 10.0 => format!("{value:.1} ms"),
        Unit::Millis => format!("{value:.3} ms"),
    }
}

fn with_spread(values: &[f64], unit: Unit) -> String {
    let (lo, hi) = spread(values);
    format!(
        "{} ({}–{})",
        figure(median(values), unit),
        figure(lo, unit),
        figure(hi, unit)
    )
}

fn mark(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "",
    }
}

impl Report {
    /// The sections in the order they were measured.
    fn sections(&self) -> Vec<&'static str> {
        let mut sections: Vec<&'static str> = Vec::new();
        let all = self
            .comparisons
            .iter()
            .map(|c| c.section)
            .chain(self.absolutes.iter().map(|a| a.section));
        for section in all {
            if !sections.contains(&section) {
                sections.push(section);
            }
        }
        sections
    }

    /// The tables, section by section.
    pub fn tables(&self) -> String {
        let mut out = String::new();
        for section in self.sections() {
            let _ = writeln!(out, "### {section}\n");
            let comparisons: Vec<&Comparison> = self
                .comparisons
                .iter()
                .filter(|c| c.section == section)
                .collect();
            if !comparisons.is_empty() {
                out.push_str(
                    "| measurement | accord | baseline | ratio accord / baseline | goal | |\n\
                     |---|---|---|---|---|---|\n",
                );
                for c in comparisons {
                    let _ = writeln!(
                        out,
                        "| {} | {} | {}: {} | **{:.3}** ({:.3}–{:.3}) | {} | {} |",
                        c.what,
                        with_spread(&c.accord, c.unit),
                        c.baseline,
                        with_spread(&c.base, c.unit),
                        median(&c.ratios()),
                        spread(&c.ratios()).0,
                        spread(&c.ratios()).1,
                        c.goal_text(),
                        mark(c.met()),
                    );
                }
                out.push('\n');
            }
            let absolutes: Vec<&Absolute> = self
                .absolutes
                .iter()
                .filter(|a| a.section == section)
                .collect();
            if !absolutes.is_empty() {
                out.push_str(
                    "| measurement | median (min–max) | runs | goal | |\n|---|---|---|---|---|\n",
                );
                for a in absolutes {
                    let goal = a
                        .goal
                        .map(|g| format!("≤ {}", figure(g, a.unit)))
                        .unwrap_or_default();
                    let _ = writeln!(
                        out,
                        "| {} | {} | {} | {} | {} |",
                        a.what,
                        with_spread(&a.values, a.unit),
                        a.values.len(),
                        goal,
                        mark(a.met()),
                    );
                }
                out.push('\n');
            }
        }
        out
    }

    /// One line per goal: met or missed.
    pub fn goals(&self) -> String {
        self.goal_lines(true)
    }

    /// The goal lines; the cascade's only `with_cascade`, as BENCHMARKS.md
    /// has them inside the cascade's own section.
    fn goal_lines(&self, with_cascade: bool) -> String {
        let mut out = String::new();
        for c in &self.comparisons {
            if let Some(met) = c.met() {
                let _ = writeln!(
                    out,
                    "- {}: {} vs {}: {:.3}× (goal {}): {}",
                    c.section,
                    c.what,
                    c.baseline,
                    median(&c.ratios()),
                    c.goal_text(),
                    if met { "met" } else { "**missed**" }
                );
            }
        }
        for line in self
            .cascade
            .iter()
            .filter(|_| with_cascade)
            .flat_map(|c| &c.goals)
        {
            let _ = writeln!(out, "{line}");
        }
        for a in &self.absolutes {
            if let (Some(met), Some(goal)) = (a.met(), a.goal) {
                let _ = writeln!(
                    out,
                    "- {}: {}: {} (goal ≤ {}): {}",
                    a.section,
                    a.what,
                    figure(median(&a.values), a.unit),
                    figure(goal, a.unit),
                    if met { "met" } else { "**missed**" }
                );
            }
        }
        out
    }

    /// The whole of BENCHMARKS.md; `analysis` is kept from the previous
    /// file, and so are `cascade` and `outbox` when this run did not
    /// measure them.
    pub fn markdown(&self, analysis: &str, cascade: Option<&str>, outbox: Option<&str>) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "# Benchmarks\n\n\
             What accord costs compared with the same work written by hand: each figure of \
             accord is measured next to a hand-written baseline doing the same work, in the same \
             run on the same machine, and reported as a ratio. Each row is the median of {runs} \
             interleaved runs (accord and the baseline alternate which goes first), with the \
             smallest and largest of the runs in brackets; the ratio column is the median of the \
             per-run ratios. Only the ratios carry over to another machine.\n\n\
             Measured {started}, {wall:.0} s in all.\n\n\
             ## Reproduce\n\n\
             ```bash\n{command}\n```\n\n\
             It builds the harness (`bench/`) and the `accord` CLI in release mode, runs every \
             benchmark against NATS at `ACCORD_NATS_URL` (default `nats://127.0.0.1:4222`, with \
             JetStream), RabbitMQ at `ACCORD_AMQP_URL` (default \
             `amqp://guest:guest@127.0.0.1:5672/%2f`) and a Kafka broker at `ACCORD_KAFKA_URL` \
             (default `kafka://127.0.0.1:19092`), and PostgreSQL at `ACCORD_POSTGRES_URL` (default \
             `postgres://postgres@127.0.0.1:5432/test`), and rewrites this file; the Analysis \
             section at the end is kept. `scripts/bench.sh --only http-server,memory` runs some \
             sections (`http-server`, `http-client`, `nats`, `amqp`, `kafka`, `memory`, `cli`, `peers`, `cascade`, \
             `outbox`); `--runs N` changes the number of runs. `scripts/bench.sh --only cascade` (about a \
             minute) and `--only outbox` rewrite the cascade or outbox section alone and keep the rest. It needs `wrk` (`apt-get install -y wrk`).\n\n\
             ## Goals\n\n{goals}\n\
             ## Results\n\n{tables}",
            runs = self.runs,
            started = self.started,
            wall = self.wall_seconds,
            command = self.command,
            goals = self.goal_lines(false),
            tables = self.tables(),
        );
        if !self.observations.is_empty() {
            out.push_str("Observed during the run:\n\n");
            for line in &self.observations {
                let _ = writeln!(out, "- {line}");
            }
            out.push('\n');
        }
        let cascade = self
            .cascade
            .as_ref()
            .map(|c| c.markdown.as_str())
            .or(cascade);
        if let Some(cascade) = cascade {
            out.push_str(CASCADE_START);
            out.push_str(cascade);
            out.push_str(CASCADE_END);
            out.push('\n');
        }
        let outbox = self.outbox.as_ref().map(|o| o.markdown.as_str()).or(outbox);
        if let Some(outbox) = outbox {
            out.push_str(OUTBOX_START);
            out.push_str(outbox);
            out.push_str(OUTBOX_END);
            out.push('\n');
        }
        out.push_str(MACHINE);
        out.push_str("\n| | |\n|---|---|\n");
        for (key, value) in &self.machine {
            let _ = writeln!(out, "| {key} | {value} |");
        }
        out.push_str("\n## Versions\n\n| | |\n|---|---|\n");
        for (key, value) in &self.versions {
            let _ = writeln!(out, "| {key} | {value} |");
        }
        out.push('\n');
        out.push_str(METHOD);
        out.push_str(ANALYSIS_START);
        out.push_str(analysis);
        out.push_str(ANALYSIS_END);
        out
    }
}

const METHOD: &str = "## Method

- **HTTP server.** Each server runs in a process of its own: accord's orders
  router (`OrdersServer::into_router()` served by `accord::http::serve`) and a
  hand-written axum router with the same two routes (`POST /orders`,
  `GET /orders/{id}`), the same types from `contracts/orders`, serde_json
  through axum's `Json`, and TCP_NODELAY. Both call the same lock-free work
  (`bench/src/work.rs`): pricing the posted order and numbering it from an
  atomic counter, or cloning a stored order. `wrk -t1 -cN --latency` loads
  them (1 s of warm-up, then 4 s measured); the POST body is the same
  ~190-byte order. Latencies are wrk's.
- **HTTP client.** 64 tasks, each sending one request at a time, against
  the hand-written axum server: accord's generated `OrdersClient`, a bare
  hyper-util legacy client (serde_json in and out, TCP_NODELAY) and a bare
  reqwest client (`.json()` in and out). Each client is made once and
  warmed for 0.5 s on each of the two calls; then in each run each client has 3 s, in six
  slices of 0.5 s, the clients taking turns slice by slice (ABC CBA ...,
  the first turning with the run), so that the machine's changes of speed,
  a fifth of a rate within a minute on these machines, fall on every client
  alike. A call that ends after its slice is not counted.
- **Brokers.** Each run declares its own stream, consumer, exchanges and
  queues under a name unique to the run and deletes them at its end. The
  accord side publishes through the generated publisher of the orders
  contract's `order_placed` event (on a topic of the benchmark's own,
  `bench/src/contract.rs`) and consumes through the generated subscriber
  trait run by `accord::Subscriber`; the hand-written side uses async-nats,
  lapin or rdkafka directly and sends the very same messages (the JSON payload and the
  same CloudEvents, `traceparent` and key headers, with the event id as
  `Nats-Msg-Id` or AMQP `message_id`), so the brokers do the same work.
  Guarantees are the same on both sides: every publish waits for its
  JetStream ack or RabbitMQ publisher confirm (persistent messages), with
  1,024 publishes in flight (RabbitMQ: over 4 confirm channels on both
  sides); every delivery is decoded, handled and acked explicitly (JetStream
  durable pull consumer, 256 in flight, max ack pending 1,024; RabbitMQ
  manual acks with prefetch 256; Kafka: acks=all idempotent publishes, a
  consumer group of its own per run, an offset committed only once every
  record before it was handled, on tansu with 2 s session timeouts on both
  sides, the group joined before publishing, each record's `ce_type` header checked
  before it is decoded, consuming timed on both sides from the first record
  handled, so that neither side's group join counts). The hand-written consumer handles and
  acks one delivery at a time in one task; accord's subscriber runs up to
  256 handlers at once. The events are spread over 1,024 customers, the
  event key. Publishing runs for 3 s after 0.5 s of
  warm-up; consuming then takes every message published and is timed until
  the handler saw the last one. Once both sides of a run have done that,
  their consumers still running, the end-to-end latency of both is measured
  at a fixed 2,000 messages per second, paced by tokio's 1 ms timer (two
  messages per millisecond, each published by a task of its own), from just
  before the publish call to the start of the handler, in the same process:
  100 ms of probes on each side first, not counted, then 4 s per side in
  eight slices of 0.5 s, the sides taking turns (ABBA order), so that both
  meet the same states of the broker and the machine (the p99 of one 4 s
  window on RabbitMQ moves up to tenfold from one window to the next).
- **Memory broker.** Events through the generated publisher on
  `MemoryBroker` and the generated subscriber (256 handlers at once) against a
  bare bounded tokio channel of the same capacity (65,536) carrying the
  serialized event with the same CloudEvents, `traceparent` and key headers
  (built per event, as the other bare loops do) to one consumer task that
  checks the type, decodes the event and runs the same handler. Two rows:
  the events spread over 1,024 customers (the key), and every event on one
  key.
- **CLI.** `accord generate contracts/ --out DIR --cache-dir CACHE --quiet` as
  a process: cold with an empty cache folder (the exporters and accord's
  dependencies are compiled), warm with the cache of the cold run. Emit is
  what the CLI does after export (name checks, rendering every file and
  writing it into an empty folder), through
  `accord_codegen::generate::publish` for 50 synthetic services with 1,000
  operations in all (`accord-bench synth --out DIR` writes their
  descriptors; `bench/src/synth.rs` makes them from the orders contract),
  timed in a process of its own built with the `accord` binary's allocator
  (`accord-bench-emit`; this harness keeps the system allocator for both
  sides of every other section). Each run then emits again into the folder
  just written (the incremental row), and writes the same files, read back
  into memory, into another empty folder by hand on every core: the file
  system's share of the emit. The folders are removed after the last
  run, not between runs.
- **RPC peers.** The same two calls end to end (place an order, get an
  order), 64 calls in flight from 64 tasks of one client process, through
  three frameworks whose servers run together in one other process
  (`accord-bench peers-serve`), so client and server do not share worker
  threads. accord: the generated `OrdersClient` (HTTP/1.1, JSON, a pool with
  a connection per call in flight) to `OrdersServer::into_router()` served by
  `accord::http::serve`. tonic (gRPC unary, protobuf over HTTP/2): messages
  equivalent to the contract's types written with prost's derive (tagged
  enums as `oneof`s), the service generated by tonic-build's manual builder
  (no protoc); both ends convert to and from the contract's types, so they
  hold what an accord user holds. Measured on one channel shared by the 64
  tasks, as tonic is normally used (the goal's baseline), and with a channel
  per task (64 connections, as many as accord's pool). tarpc: its serde
  transport over one TCP connection, length-delimited JSON frames of the
  contract's own types (bincode cannot carry the contract's tagged and
  untagged enums), each call in a task of its own on the server. Every server
  does the same work (`bench/src/work.rs`) and every call checks its answer;
  each framework's clients are made and warmed (0.5 s on each call) once, then
  each has 3 s per run in six slices of 0.5 s, the frameworks taking turns
  slice by slice as in the HTTP client section.
- **Cascade.** The scenario of `examples/cascade` (`cargo run -p cascade`
  shows it in the terminal), run once with the defences on and once off:
  its section says what it does. Not a comparison with hand-written code,
  so it has its own table and goals; `--only cascade` rewrites that
  section alone and keeps the rest of the file, and a run without it keeps
  the section of the previous file.
- **Outbox.** On PostgreSQL, and on NATS JetStream (the memory broker stands
  in when NATS cannot be reached; the section's heading says which). Each
  run creates its own business and outbox tables (`accord-postgres`'s
  migration, 16 partitions) and stream, and drops them at its end. Writes:
  16 tasks, each one operation at a time, for 3 s after 0.5 s of warm-up.
  accord's operation is one transaction: the order row inserted, the
  `order_placed` event published by the generated publisher into a
  `Staged` and written with `Outbox::write`, commit. The hand-written one
  is the same row in its own transaction, committed, then the same message
  published with async-nats, awaiting its JetStream ack. The latency is
  that of one whole operation. Relay: 20,000 events (the same events, 1,024
  customers as keys) committed into the outbox in transactions of 500,
  then drained, timed from the start until the last was confirmed and
  marked sent: by one `Relay` with its default options (batches of 100,
  one event at a time per partition), and by a hand-written loop on one
  connection reading the unsent rows in `seq` order, 100 at a time,
  publishing each with async-nats (awaiting its ack, the event id as
  `Nats-Msg-Id`) and marking it sent before the next, the relay's
  guarantees.
- These are benchmarks, not tests: nothing in `cargo test` asserts a timing.

";
