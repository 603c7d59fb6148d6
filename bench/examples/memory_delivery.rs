//! The per-event cost of the generated glue on the memory broker, for a
//! profiler: the memory section's events published by the generated
//! publisher and handled by the generated subscriber, on one thread so
//! that instruction counts repeat from run to run.
//!
//! ```text
//! cargo build --release -p accord-bench --example memory_delivery
//! valgrind --tool=callgrind target/release/examples/memory_delivery 10000
//! valgrind --tool=callgrind target/release/examples/memory_delivery 30000
//! ```
//!
//! A second argument runs it on a multi-thread runtime with that many
//! workers (0, the default, is one thread), as the benchmark does (`memory_delivery 30000 2`): the counts
//! then vary a little from run to run, and include the hand-offs between
//! the workers (their wake-ups and parking) that one thread never makes.
//! A third sets the subscriber's concurrency (default 256, the
//! benchmark's). A fourth, `hot`, puts every event on one key, as the
//! section's one-key row does (`spread`, the default, spreads them over the
//! 1,024 customers).
//!
//! The difference between two counts of events, divided by it, is the
//! cost of one event published and handled, start-up and warm-up left
//! out; `valgrind --tool=memcheck` (its "total heap usage") the same way
//! gives the allocations per event. Nothing in it depends on the clock:
//! the program waits for its handler, not for time to pass.

#[path = "../src/work.rs"]
#[allow(dead_code)]
mod work;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use accord::{MemoryBroker, Subscriber};
use orders_contract::OrderPlaced;
use tokio::sync::Notify;
use work::CUSTOMERS;

/// The benchmark's event, on a topic of its own.
#[accord::service(name = "profile-orders", version = "1.0.0")]
pub trait ProfileOrders {
    /// Published once an order is accepted.
    #[event(topic = "accord-profile.orders.placed", key = "customer_id")]
    async fn order_placed(&self, event: OrderPlaced);
}

/// Events handled before the measured part.
const WARM_UP: u64 = 2_000;

/// Counts what it handles, looking at each event as the benchmark does.
#[derive(Default)]
struct Sink {
    handled: AtomicU64,
    lines: AtomicU64,
    /// The count [`Sink::done`] is notified at.
    target: AtomicU64,
    done: Notify,
}

struct Handler(Arc<Sink>);

impl ProfileOrdersSubscriber for Handler {
    async fn order_placed(&self, event: OrderPlaced) {
        self.0
            .lines
            .fetch_add(event.lines.len() as u64, Ordering::Relaxed);
        let handled = self.0.handled.fetch_add(1, Ordering::AcqRel) + 1;
        if handled == self.0.target.load(Ordering::Acquire) {
            self.0.done.notify_one();
        }
    }
}

fn main() {
    let events: u64 = arg(1, "the number of events", 10_000);
    let workers: usize = arg(2, "the number of worker threads", 0);
    let concurrency: usize = arg(3, "the subscriber's concurrency", 256);
    let hot = match std::env::args().nth(4).as_deref() {
        None | Some("spread") => false,
        Some("hot") => true,
        Some(other) => panic!("the keys: `hot` or `spread`, not `{other}`"),
    };
    let mut builder = if workers == 0 {
        tokio::runtime::Builder::new_current_thread()
    } else {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(workers);
        builder
    };
    let runtime = builder.enable_all().build().expect("a runtime");
    runtime.block_on(run(events, concurrency, hot));
}

/// Command-line argument `n`, or `default` when it is not given.
fn arg<T: std::str::FromStr>(n: usize, what: &str, default: T) -> T {
    std::env::args().nth(n).map_or(default, |value| {
        value
            .parse()
            .unwrap_or_else(|_| panic!("{what}: `{value}` is not a number"))
    })
}

async fn run(events: u64, concurrency: usize, hot: bool) {
    let broker = MemoryBroker::new();
    let sink = Arc::new(Sink::default());
    let handle = Subscriber::new(broker.clone(), "profile")
        .concurrency(concurrency)
        .start(Handler(sink.clone()).into_event_handlers())
        .await
        .expect("the subscriber starts");
    let publisher = ProfileOrdersPublisher::new(broker.clone());
    // Order ids that are multiples of the customer count all fall on the
    // first customer.
    let orders: Vec<OrderPlaced> = (0..CUSTOMERS)
        .map(|n| work::order_placed(if hot { n * CUSTOMERS } else { n }, 0))
        .collect();
    let publish = |from: u64, to: u64| {
        let (publisher, orders, sink) = (&publisher, &orders, &sink);
        async move {
            sink.target.store(to, Ordering::Release);
            for n in from..to {
                publisher
                    .order_placed(&orders[(n % CUSTOMERS) as usize])
                    .await
                    .expect("published");
            }
            // `notify_one` keeps its wake-up for a waiter to come.
            while sink.handled.load(Ordering::Acquire) < to {
                sink.done.notified().await;
            }
        }
    };
    publish(0, WARM_UP).await;
    publish(WARM_UP, WARM_UP + events).await;
    println!("{WARM_UP} + {events} events published and handled");
    handle.shutdown().await;
    broker.close();
}
