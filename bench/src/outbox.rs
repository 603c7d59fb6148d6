//! The transactional outbox on PostgreSQL: what writing an event into the
//! outbox costs next to publishing it straight after the commit, and how
//! fast one `Relay` drains a backlog next to a hand-written loop reading the
//! same rows.
//!
//! Both measure on the PostgreSQL at `--postgres-url` and on NATS JetStream,
//! or on the memory broker when NATS cannot be reached (the section's
//! heading says which). Every cycle creates its own tables (named after the
//! process and the cycle) and streams, and drops them at its end.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use accord::broker::memory::MemoryBroker;
use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::broker::{Message, Publish};
use accord_postgres::{Outbox, Relay, RelayOptions, Staged};
use anyhow::{bail, Context, Result};
use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{Config, StorageType};
use bytes::Bytes;
use orders_contract::OrderPlaced;
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Row};
use tokio::time::Instant;

use crate::bare_nats;
use crate::brokers::{event_headers, run_id};
use crate::contract::{BenchOrdersPublisher, TOPIC};
use crate::report::{Better, Comparison, Report, Unit, Written};
use crate::stats::quantile;
use crate::work::order_placed;
use crate::Plan;

/// Tasks writing at once, each one operation at a time.
pub const WRITERS: usize = 16;
/// Events per transaction when the backlog is filled.
const FILL_BATCH: u64 = 500;
/// Rows the hand-written relay reads at a time (the relay's default batch).
const BARE_BATCH: i64 = 100;
/// The most a drain of the backlog may take.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(600);
/// Name prefixes of the streams the runs declare.
const ACCORD_PREFIX: &str = "OBENCH";
const BARE_PREFIX: &str = "OBENCHBARE";

/// What one side of one write cycle measured.
#[derive(Debug, Clone, Copy)]
struct Writes {
    /// Operations (a business row and its event) committed per second.
    rate: f64,
    /// Latency of one operation, milliseconds.
    p50: f64,
    p99: f64,
}

/// The broker of the section: NATS when it answers, else the memory broker.
#[derive(Clone)]
enum Bus {
    Nats {
        url: String,
        js: Box<async_nats::jetstream::Context>,
    },
    Memory,
}

impl Bus {
    fn name(&self) -> &'static str {
        match self {
            Bus::Nats { .. } => "NATS JetStream",
            Bus::Memory => "the memory broker (NATS JetStream was not usable)",
        }
    }
}

/// Where the hand-written side of one cycle publishes.
#[derive(Clone)]
enum Bare {
    Nats {
        js: Box<async_nats::jetstream::Context>,
        subject: String,
    },
    Memory(MemoryBroker),
}

impl Bare {
    /// Declares what the hand-written side of one cycle publishes to.
    async fn open(bus: &Bus, id: &str) -> Result<Self> {
        Ok(match bus {
            Bus::Nats { js, .. } => {
                let subject = format!("accord-bench-outbox.{id}.orders.placed");
                bare_nats::create_stream(js, format!("{BARE_PREFIX}{id}"), &subject)
                    .await
                    .context("cannot create the hand-written side's stream")?;
                Bare::Nats {
                    js: js.clone(),
                    subject,
                }
            }
            Bus::Memory => Bare::Memory(MemoryBroker::with_capacity(1 << 22)),
        })
    }

    async fn close(&self, id: &str) {
        if let Bare::Nats { js, .. } = self {
            let _ = js.delete_stream(format!("{BARE_PREFIX}{id}")).await;
        }
    }

    /// One event published by hand, awaiting the broker's confirm: the
    /// same message accord sends.
    async fn publish_event(&self, event: &OrderPlaced) -> Result<()> {
        let payload = Bytes::from(serde_json::to_vec(event)?);
        let id = uuid::Uuid::new_v4().to_string();
        let headers = event_headers(&id, &event.customer_id.0);
        self.publish(&id, Some(&event.customer_id.0), headers, payload)
            .await
    }

    /// One message with these headers, awaiting the confirm.
    async fn publish<N: AsRef<str>>(
        &self,
        id: &str,
        key: Option<&str>,
        headers: Vec<(N, String)>,
        payload: Bytes,
    ) -> Result<()> {
        match self {
            Bare::Nats { js, subject } => {
                let mut map = async_nats::HeaderMap::new();
                for (name, value) in &headers {
                    map.insert(name.as_ref(), value.as_str());
                }
                let message = PublishMessage::build()
                    .payload(payload)
                    .headers(map)
                    .message_id(id);
                js.send_publish(subject.clone(), message).await?.await?;
            }
            Bare::Memory(broker) => {
                let mut message = Message::new(TOPIC, payload);
                if let Some(key) = key {
                    message = message.with_key(key);
                }
                for (name, value) in headers {
                    message = message.with_header(name.as_ref(), value);
                }
                broker.publish(message).await?;
            }
        }
        Ok(())
    }
}

/// The tables of one cycle: a business table of orders and an outbox.
struct Tables {
    pool: PgPool,
    orders: String,
    outbox: Outbox,
    insert: String,
}

impl Tables {
    async fn create(pool: &PgPool) -> Result<Self> {
        let id = format!("{}_{}", std::process::id(), run_id());
        let orders = format!("bench_orders_{id}");
        sqlx::query(&format!(
            "CREATE TABLE \"{orders}\" (id bigint PRIMARY KEY, customer_id text NOT NULL,
             lines integer NOT NULL, placed_at timestamptz NOT NULL DEFAULT now())"
        ))
        .execute(pool)
        .await
        .with_context(|| format!("cannot create the table {orders}"))?;
        let outbox = Outbox::new(pool.clone()).table(&format!("bench_outbox_{id}"))?;
        let tables = Tables {
            pool: pool.clone(),
            insert: format!(
                "INSERT INTO \"{orders}\" (id, customer_id, lines) VALUES ($1, $2, $3)"
            ),
            orders,
            outbox,
        };
        if let Err(error) = tables.outbox.migrate().await {
            tables.drop_all().await;
            return Err(error).context("cannot create the outbox table");
        }
        Ok(tables)
    }

    /// The business write: one order row.
    async fn insert(&self, conn: &mut sqlx::PgConnection, event: &OrderPlaced) -> Result<()> {
        sqlx::query(&self.insert)
            .bind(event.order_id.0 as i64)
            .bind(&event.customer_id.0)
            .bind(event.lines.len() as i32)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn drop_all(&self) {
        for table in [self.orders.as_str(), self.outbox.table_name()] {
            let _ = sqlx::query(&format!("DROP TABLE IF EXISTS \"{table}\""))
                .execute(&self.pool)
                .await;
        }
        let _ = sqlx::query("DELETE FROM accord_schema_versions WHERE component = $1")
            .bind(format!("outbox:{}", self.outbox.table_name()))
            .execute(&self.pool)
            .await;
    }
}

/// One write operation of a side.
#[derive(Clone)]
enum Writer {
    /// A transaction: the order row, the event published into a `Staged`
    /// by the generated publisher and written with `Outbox::write`.
    Accord(Arc<Tables>),
    /// A transaction with the order row, committed, then the event
    /// published to the broker, awaiting its confirm.
    Bare(Arc<Tables>, Bare),
}

impl Writer {
    async fn write(&self, n: u64) -> Result<()> {
        let event = order_placed(n, 0);
        match self {
            Writer::Accord(tables) => {
                let mut tx = tables.pool.begin().await?;
                tables.insert(&mut tx, &event).await?;
                let staged = Staged::new();
                BenchOrdersPublisher::new(staged.clone())
                    .order_placed(&event)
                    .await?;
                tables.outbox.write(&mut tx, &staged).await?;
                tx.commit().await?;
            }
            Writer::Bare(tables, bare) => {
                let mut tx = tables.pool.begin().await?;
                tables.insert(&mut tx, &event).await?;
                tx.commit().await?;
                bare.publish_event(&event).await?;
            }
        }
        Ok(())
    }
}

/// [`WRITERS`] tasks writing one operation at a time for the warm-up and
/// the measured period.
async fn measure_writes(plan: &Plan, writer: Writer) -> Result<Writes> {
    let sequence = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let measure_from = start + plan.broker_warmup;
    let end = measure_from + plan.broker_publish;
    let mut tasks = Vec::with_capacity(WRITERS);
    for _ in 0..WRITERS {
        let writer = writer.clone();
        let sequence = sequence.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut counted = 0u64;
            while Instant::now() < end {
                let n = sequence.fetch_add(1, Ordering::Relaxed);
                let began = Instant::now();
                writer.write(n).await?;
                let done = Instant::now();
                if done >= measure_from && done < end {
                    counted += 1;
                }
                if began >= measure_from && done < end {
                    latencies.push(u64::try_from((done - began).as_nanos()).unwrap_or(u64::MAX));
                }
            }
            anyhow::Ok((counted, latencies))
        }));
    }
    let mut counted = 0;
    let mut latencies = Vec::new();
    for task in tasks {
        let (n, mut l) = tokio::time::timeout(plan.broker_publish * 10, task)
            .await
            .context("a writer did not finish within ten measured periods")?
            .context("a writer panicked")??;
        counted += n;
        latencies.append(&mut l);
    }
    Ok(Writes {
        rate: counted as f64 / plan.broker_publish.as_secs_f64(),
        p50: quantile(&mut latencies, 0.50) as f64 / 1e6,
        p99: quantile(&mut latencies, 0.99) as f64 / 1e6,
    })
}

async fn accord_writes(plan: &Plan, pool: &PgPool) -> Result<Writes> {
    let tables = Arc::new(Tables::create(pool).await?);
    let measured = measure_writes(plan, Writer::Accord(tables.clone())).await;
    tables.drop_all().await;
    measured
}

async fn bare_writes(plan: &Plan, pool: &PgPool, bus: &Bus) -> Result<Writes> {
    let id = run_id();
    let bare = Bare::open(bus, &id).await?;
    let tables = match Tables::create(pool).await {
        Ok(tables) => Arc::new(tables),
        Err(error) => {
            bare.close(&id).await;
            return Err(error);
        }
    };
    let measured = measure_writes(plan, Writer::Bare(tables.clone(), bare.clone())).await;
    tables.drop_all().await;
    bare.close(&id).await;
    measured
}

/// Fills the outbox with `count` events as a service would: the generated
/// publisher into a `Staged`, written in transactions of [`FILL_BATCH`].
async fn fill(tables: &Tables, count: u64) -> Result<()> {
    let mut n = 0;
    while n < count {
        let staged = Staged::new();
        let publisher = BenchOrdersPublisher::new(staged.clone());
        let mut tx = tables.pool.begin().await?;
        for _ in 0..FILL_BATCH.min(count - n) {
            publisher.order_placed(&order_placed(n, 0)).await?;
            n += 1;
        }
        tables.outbox.write(&mut tx, &staged).await?;
        tx.commit().await?;
    }
    Ok(())
}

/// Events per second one `Relay` (default options) publishes a backlog of
/// `count` to `broker`.
async fn relay_drain<B: Publish>(tables: &Tables, broker: B, count: u64) -> Result<f64> {
    let started = Instant::now();
    let relay = Relay::new(&tables.outbox, broker, RelayOptions::default()).spawn();
    let deadline = started + DRAIN_TIMEOUT;
    while relay.stats().published() < count {
        if Instant::now() >= deadline {
            let published = relay.stats().published();
            relay.shutdown().await;
            bail!(
                "the relay published only {published} of {count} events within {DRAIN_TIMEOUT:?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    let elapsed = started.elapsed();
    relay.shutdown().await;
    let pending = tables.outbox.pending().await?;
    if pending != 0 {
        bail!("the relay reported {count} published, yet {pending} rows are unsent");
    }
    Ok(count as f64 / elapsed.as_secs_f64())
}

async fn accord_relay(plan: &Plan, pool: &PgPool, bus: &Bus) -> Result<f64> {
    let tables = Tables::create(pool).await?;
    let result = async {
        fill(&tables, plan.outbox_backlog).await?;
        match bus {
            Bus::Nats { url, .. } => {
                let id = run_id();
                let options = NatsOptions::new()
                    .stream_prefix(format!("{ACCORD_PREFIX}{id}"))
                    .dead_letter_subject(format!("accord-bench.dead-letter.{id}"));
                let broker = NatsBroker::connect_with(url, options).await?;
                let rate = relay_drain(&tables, broker.clone(), plan.outbox_backlog).await;
                for stream in [
                    broker.topic_stream_name(TOPIC),
                    broker.dead_letter_stream_name().to_owned(),
                ] {
                    let _ = broker.jetstream().delete_stream(&stream).await;
                }
                rate
            }
            Bus::Memory => {
                let broker = MemoryBroker::with_capacity(1 << 22);
                relay_drain(&tables, broker, plan.outbox_backlog).await
            }
        }
    }
    .await;
    tables.drop_all().await;
    result
}

/// The hand-written relay: reads the unsent rows in `seq` order, a batch at
/// a time, publishes each with the bare client awaiting its confirm, and
/// marks it sent, as the relay does; events per second.
async fn bare_drain(tables: &Tables, bare: &Bare, count: u64) -> Result<f64> {
    let table = tables.outbox.table_name();
    let select = format!(
        "SELECT seq, event_id, key, headers::text AS headers, payload FROM \"{table}\"
         WHERE seq > $1 AND sent_at IS NULL AND failed_at IS NULL ORDER BY seq LIMIT $2"
    );
    let sent = format!(
        "UPDATE \"{table}\" SET sent_at = now(), attempts = attempts + 1, last_error = NULL WHERE seq = $1"
    );
    let started = Instant::now();
    let mut conn = tables.pool.acquire().await?;
    let mut after = 0i64;
    let mut published = 0u64;
    loop {
        let rows = sqlx::query(&select)
            .bind(after)
            .bind(BARE_BATCH)
            .fetch_all(&mut *conn)
            .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let seq: i64 = row.try_get("seq")?;
            let id: String = row.try_get("event_id")?;
            let key: Option<String> = row.try_get("key")?;
            let headers: BTreeMap<String, String> =
                serde_json::from_str(row.try_get::<&str, _>("headers")?)?;
            let payload: Vec<u8> = row.try_get("payload")?;
            bare.publish(
                &id,
                key.as_deref(),
                headers.into_iter().collect(),
                Bytes::from(payload),
            )
            .await?;
            sqlx::query(&sent).bind(seq).execute(&mut *conn).await?;
            after = seq;
            published += 1;
        }
    }
    let elapsed = started.elapsed();
    if published != count {
        bail!("the hand-written loop published {published} of {count} events");
    }
    Ok(count as f64 / elapsed.as_secs_f64())
}

async fn bare_relay(plan: &Plan, pool: &PgPool, bus: &Bus) -> Result<f64> {
    let tables = Tables::create(pool).await?;
    let id = run_id();
    let result = async {
        fill(&tables, plan.outbox_backlog).await?;
        let bare = Bare::open(bus, &id).await?;
        let rate = tokio::time::timeout(
            DRAIN_TIMEOUT,
            bare_drain(&tables, &bare, plan.outbox_backlog),
        )
        .await
        .with_context(|| {
            format!("the hand-written loop did not drain the backlog within {DRAIN_TIMEOUT:?}")
        })
        .and_then(|rate| rate);
        bare.close(&id).await;
        rate
    }
    .await;
    tables.drop_all().await;
    result
}

/// Runs `accord` and `bare` once per run, alternating which goes first.
async fn interleave<T: std::fmt::Debug, A, AF, B, BF>(
    plan: &Plan,
    name: &str,
    mut accord: A,
    mut bare: B,
) -> Result<(Vec<T>, Vec<T>)>
where
    A: FnMut() -> AF,
    AF: Future<Output = Result<T>>,
    B: FnMut() -> BF,
    BF: Future<Output = Result<T>>,
{
    let (mut accord_runs, mut bare_runs) = (Vec::new(), Vec::new());
    for run in 0..plan.runs {
        for accord_turn in [run % 2 == 0, run % 2 != 0] {
            if accord_turn {
                let measured = accord().await?;
                eprintln!("  run {run} {name} accord: {measured:?}");
                accord_runs.push(measured);
            } else {
                let measured = bare().await?;
                eprintln!("  run {run} {name} bare: {measured:?}");
                bare_runs.push(measured);
            }
        }
    }
    Ok((accord_runs, bare_runs))
}

/// Connects to NATS, or says why the memory broker stands in.
async fn choose_bus(plan: &Plan) -> (Bus, Option<String>) {
    let url = plan.nats_url.clone();
    let connect = tokio::time::timeout(Duration::from_secs(5), async_nats::connect(&url)).await;
    match connect {
        Ok(Ok(client)) => {
            let version = client.server_info().version;
            let js = async_nats::jetstream::new(client);
            // JetStream must answer too: a stream of the run's own, made
            // and removed.
            let probe = format!("{BARE_PREFIX}PROBE{}", std::process::id());
            let created = tokio::time::timeout(
                Duration::from_secs(5),
                js.create_stream(Config {
                    name: probe.clone(),
                    subjects: vec![format!("accord-bench-outbox.probe.{}", std::process::id())],
                    storage: StorageType::Memory,
                    ..Default::default()
                }),
            )
            .await;
            match created {
                Ok(Ok(_)) => {
                    let _ = js.delete_stream(&probe).await;
                    (
                        Bus::Nats {
                            url,
                            js: Box::new(js),
                        },
                        Some(version),
                    )
                }
                Ok(Err(error)) => {
                    eprintln!(
                        "   NATS at {url} has no usable JetStream ({error}): the memory broker stands in"
                    );
                    (Bus::Memory, None)
                }
                Err(_) => {
                    eprintln!(
                        "   JetStream at {url} did not answer within 5 s: the memory broker stands in"
                    );
                    (Bus::Memory, None)
                }
            }
        }
        _ => {
            eprintln!("   NATS at {url} is not reachable: the memory broker stands in");
            (Bus::Memory, None)
        }
    }
}

/// Measures the outbox section and puts it into `report`.
pub fn run(plan: &Plan, report: &mut Report) -> Result<()> {
    let runtime = crate::runtime()?;
    runtime.block_on(measure(plan, report))
}

async fn measure(plan: &Plan, report: &mut Report) -> Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(WRITERS as u32 + 4)
        .acquire_timeout(Duration::from_secs(10))
        .connect(&plan.postgres_url)
        .await
        .with_context(|| format!("cannot connect to PostgreSQL at {}", plan.postgres_url))?;
    let postgres: String = sqlx::query_scalar("SELECT current_setting('server_version')")
        .fetch_one(&pool)
        .await?;
    let (bus, nats_version) = choose_bus(plan).await;
    eprintln!("   PostgreSQL {postgres}, broker: {}", bus.name());

    let (accord_w, bare_w) = interleave(
        plan,
        "outbox write",
        || accord_writes(plan, &pool),
        || bare_writes(plan, &pool, &bus),
    )
    .await?;
    let (accord_r, bare_r) = interleave(
        plan,
        "outbox relay",
        || accord_relay(plan, &pool, &bus),
        || bare_relay(plan, &pool, &bus),
    )
    .await?;
    pool.close().await;

    let (section, write_baseline, relay_baseline) = match bus {
        Bus::Nats { .. } => (
            "Outbox: PostgreSQL and NATS JetStream, accord-postgres vs publishing by hand",
            "insert, commit, then publish (async-nats)",
            "a bare loop (sqlx, async-nats)",
        ),
        Bus::Memory => (
            "Outbox: PostgreSQL and the memory broker (NATS JetStream was not usable), accord-postgres vs publishing by hand",
            "insert, commit, then publish (MemoryBroker)",
            "a bare loop (sqlx, MemoryBroker)",
        ),
    };
    let series = |runs: &[Writes], f: fn(&Writes) -> f64| runs.iter().map(f).collect::<Vec<_>>();
    let writes = format!("a business row and its event per transaction, {WRITERS} writers");
    let comparisons = vec![
        Comparison {
            section,
            what: format!("{writes}: events/s"),
            baseline: write_baseline,
            unit: Unit::PerSecond,
            better: Better::Higher,
            accord: series(&accord_w, |w| w.rate),
            base: series(&bare_w, |w| w.rate),
            goal: None,
        },
        Comparison {
            section,
            what: format!("{writes}: p50 per operation"),
            baseline: write_baseline,
            unit: Unit::Millis,
            better: Better::Lower,
            accord: series(&accord_w, |w| w.p50),
            base: series(&bare_w, |w| w.p50),
            goal: None,
        },
        Comparison {
            section,
            what: format!("{writes}: p99 per operation"),
            baseline: write_baseline,
            unit: Unit::Millis,
            better: Better::Lower,
            accord: series(&accord_w, |w| w.p99),
            base: series(&bare_w, |w| w.p99),
            goal: None,
        },
        Comparison {
            section,
            what: format!(
                "a backlog of {} events drained by one relay: events/s",
                thousands(plan.outbox_backlog)
            ),
            baseline: relay_baseline,
            unit: Unit::PerSecond,
            better: Better::Higher,
            accord: accord_r,
            base: bare_r,
            goal: None,
        },
    ];
    let tables = Report {
        comparisons,
        ..Report::default()
    }
    .tables();
    let mut markdown = tables.trim_end().to_owned();
    let _ = write!(
        markdown,
        "\n\nPostgreSQL {postgres} at `{}`{}; measured {}, {} runs{}. The write side has no relay \
         running; the relay side starts with the whole backlog committed. The accord column of the \
         write rows commits the event into the outbox only: it is published later, by the relay.\n\n",
        plan.postgres_url,
        match &nats_version {
            Some(version) => format!(", nats-server {version} at `{}`", plan.nats_url),
            None => ", the memory broker (NATS JetStream was not usable)".to_owned(),
        },
        humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
        plan.runs,
        if plan.quick {
            " (--quick: short periods, figures for trying the harness only)"
        } else {
            ""
        },
    );
    report.outbox = Some(Written {
        markdown,
        goals: Vec::new(),
    });
    Ok(())
}

/// `20000` as `20,000`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn groups_thousands() {
        assert_eq!(super::thousands(20_000), "20,000");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1_234_567), "1,234,567");
    }
}
