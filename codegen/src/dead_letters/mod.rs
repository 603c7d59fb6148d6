//! `accord dead-letters`: list, show, replay and purge a subscriber group's
//! dead letters on a running broker.
//!
//! The broker is chosen by the URL's scheme: `nats://` (or `tls://`) for
//! NATS JetStream, `amqp://` (or `amqps://`) for RabbitMQ. The memory
//! broker lives inside one process, so no other process can reach it: its
//! dead letters are read in that process, through
//! [`DeadLetters`](accord::broker::DeadLetters).
//!
//! Every command is bounded: `list` prints one page ([`DEFAULT_PAGE`] by
//! default, at most [`MAX_PAGE`]); `show` prints at most `--max-bytes` of
//! the payload ([`DEFAULT_SHOW_BYTES`] by default); `replay` and `purge` take
//! event ids or everything, and a purge of everything asks for `--yes`.

mod render;

use std::collections::BTreeSet;
use std::time::Duration;

#[cfg(feature = "amqp")]
use accord::broker::amqp::{AmqpBroker, AmqpOptions};
use accord::broker::dead_letters::{
    replay_dead_letters, select_dead_letters, DEFAULT_PAGE, MAX_PAGE,
};
#[cfg(feature = "nats")]
use accord::broker::nats::{NatsBroker, NatsOptions};
use accord::broker::{DeadLetters, Publish, Selection};
use anyhow::{anyhow, bail, Context as _};

pub use render::{render_letter, render_page, DEFAULT_SHOW_BYTES};

/// How long connecting to the broker may take unless `--connect-timeout`
/// says otherwise: 10 s.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the dead letters are: the broker and the group.
#[derive(Debug, Clone, clap::Args)]
pub struct Target {
    /// The broker: nats://host:4222 (NATS JetStream) or amqp://user:pass@host:5672/%2f
    /// (RabbitMQ).
    #[arg(long, env = "ACCORD_BROKER", value_name = "URL")]
    pub broker: String,

    /// The subscriber group whose dead letters to work on.
    #[arg(long, value_name = "GROUP")]
    pub group: String,

    /// The prefix the services were configured with: RabbitMQ's exchange and queue prefix
    /// [default: accord], NATS's stream prefix [default: ACCORD].
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,

    /// NATS only: the subject prefix of dead letters [default: accord.dead-letter].
    #[arg(long, value_name = "SUBJECT")]
    pub dead_letter_subject: Option<String>,

    /// How long connecting to the broker may take.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = humantime::parse_duration)]
    pub connect_timeout: Duration,
}

/// The `dead-letters` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DeadLettersCommand {
    /// List a page of the group's dead letters, oldest first.
    List {
        #[command(flatten)]
        target: Target,
        /// Start after this position (the last position of the previous page).
        #[arg(long, default_value_t = 0, value_name = "POSITION")]
        after: u64,
        /// How many to list, at most 1000.
        #[arg(long, default_value_t = DEFAULT_PAGE, value_name = "N",
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_PAGE as u64))]
        limit: usize,
    },
    /// Show one dead letter in full: its reason, headers and payload.
    Show {
        #[command(flatten)]
        target: Target,
        /// The event id (ce-id) of the dead letter.
        #[arg(value_name = "EVENT_ID")]
        id: String,
        /// The most bytes of the payload to print.
        #[arg(long, default_value_t = DEFAULT_SHOW_BYTES, value_name = "BYTES")]
        max_bytes: usize,
    },
    /// Publish dead letters again for the group, with their event ids, and remove them.
    Replay {
        #[command(flatten)]
        target: Target,
        /// The event ids to replay (repeat the option for several).
        #[arg(long = "id", value_name = "EVENT_ID", required_unless_present = "all")]
        ids: Vec<String>,
        /// Replay every dead letter of the group.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
    /// Remove dead letters: those with the given event ids, or all of them with --yes.
    Purge {
        #[command(flatten)]
        target: Target,
        /// The event ids to remove (repeat the option for several).
        #[arg(long = "id", value_name = "EVENT_ID")]
        ids: Vec<String>,
        /// Remove every dead letter of the group.
        #[arg(long, conflicts_with = "ids")]
        yes: bool,
    },
}

impl DeadLettersCommand {
    fn target(&self) -> &Target {
        match self {
            DeadLettersCommand::List { target, .. }
            | DeadLettersCommand::Show { target, .. }
            | DeadLettersCommand::Replay { target, .. }
            | DeadLettersCommand::Purge { target, .. } => target,
        }
    }
}

/// Runs `command`; what it prints goes to the returned text.
pub fn run(command: &DeadLettersCommand) -> anyhow::Result<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_async(command))
}

async fn run_async(command: &DeadLettersCommand) -> anyhow::Result<String> {
    let target = command.target();
    let url = target.broker.trim();
    let scheme = url
        .split("://")
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase();
    match scheme.as_str() {
        #[cfg(feature = "nats")]
        "nats" | "tls" => {
            let mut options = NatsOptions::new();
            if let Some(prefix) = &target.prefix {
                options = options.stream_prefix(prefix.clone());
            }
            if let Some(subject) = &target.dead_letter_subject {
                options = options.dead_letter_subject(subject.clone());
            }
            let broker = connect(target, NatsBroker::connect_with(url, options)).await?;
            on_broker(&broker, command).await
        }
        #[cfg(feature = "amqp")]
        "amqp" | "amqps" => {
            if target.dead_letter_subject.is_some() {
                bail!("--dead-letter-subject is for NATS; RabbitMQ's dead letters are named after --prefix");
            }
            let mut options = AmqpOptions::default();
            if let Some(prefix) = &target.prefix {
                options = options.prefix(prefix.clone());
            }
            let broker = connect(target, AmqpBroker::connect_with(url, options)).await?;
            let result = on_broker(&broker, command).await;
            broker.close().await;
            result
        }
        #[cfg(not(feature = "nats"))]
        "nats" | "tls" => bail!("this accord was built without its `nats` feature"),
        #[cfg(not(feature = "amqp"))]
        "amqp" | "amqps" => bail!("this accord was built without its `amqp` feature"),
        "kafka" => bail!(
            "`accord dead-letters` does not cover Kafka: a Kafka topic cannot drop single \
             records, so remove and purge have no faithful form there; the dead letters of group \
             `{group}` are the topic `accord.dead-letter.{group}`, readable with any Kafka \
             consumer or, in code, through the subscription `KafkaBroker::dead_letters` returns",
            group = target.group
        ),
        "memory" => bail!(
            "the memory broker lives inside one process, so `accord dead-letters` cannot reach \
             it; read its dead letters in that process with the `DeadLetters` trait \
             (MemoryBroker::list_dead_letters)"
        ),
        _ => bail!(
            "`{url}` is not a broker URL accord knows: use nats://host:4222 for NATS JetStream or \
             amqp://user:password@host:5672/%2f for RabbitMQ (Kafka's dead letters are read \
             with a Kafka consumer)"
        ),
    }
}

async fn connect<B, E: std::fmt::Display>(
    target: &Target,
    connecting: impl std::future::Future<Output = Result<B, E>>,
) -> anyhow::Result<B> {
    match tokio::time::timeout(target.connect_timeout, connecting).await {
        Ok(Ok(broker)) => Ok(broker),
        Ok(Err(error)) => Err(anyhow!(
            "cannot reach the broker at {}: {error}",
            target.broker
        )),
        Err(_) => Err(anyhow!(
            "cannot reach the broker at {}: no connection within {:?} (--connect-timeout)",
            target.broker,
            target.connect_timeout
        )),
    }
}

async fn on_broker<B: DeadLetters + Publish>(
    broker: &B,
    command: &DeadLettersCommand,
) -> anyhow::Result<String> {
    let target = command.target();
    let group = target.group.as_str();
    if !broker.group_exists(group).await? {
        bail!(
            "there is no group `{group}` on {}: no subscriber of that group ever started there, \
             and it has no dead letters (check --group, and --prefix if the services set one)",
            target.broker
        );
    }
    match command {
        DeadLettersCommand::List { after, limit, .. } => {
            let total = broker.count_dead_letters(group).await?;
            let page = broker.list_dead_letters(group, *after, *limit).await?;
            Ok(render_page(group, total, &page, *limit))
        }
        DeadLettersCommand::Show { id, max_bytes, .. } => {
            let selection = Selection::Ids([id.clone()].into());
            let found = select_dead_letters(broker, group, &selection).await?;
            let letter = found.first().ok_or_else(|| {
                anyhow!("group `{group}` has no dead letter with event id `{id}`")
            })?;
            Ok(render_letter(letter, *max_bytes))
        }
        DeadLettersCommand::Replay { ids, all, .. } => {
            let selection = selection(ids, *all);
            check_found(broker, group, &selection).await?;
            let replayed = replay_dead_letters(broker, group, &selection).await?;
            Ok(summary("replayed", group, &replayed))
        }
        DeadLettersCommand::Purge { ids, yes, .. } => {
            if ids.is_empty() && !yes {
                bail!(
                    "purge removes every dead letter of `{group}` for good: pass --yes to confirm, \
                     or choose some with --id"
                );
            }
            if ids.is_empty() {
                let purged = broker.purge_dead_letters(group).await?;
                return Ok(format!(
                    "purged {purged} dead letter{} of `{group}`\n",
                    plural(purged as usize)
                ));
            }
            let selection = selection(ids, false);
            let found = check_found(broker, group, &selection).await?;
            let removed = broker.remove_dead_letters(group, &found).await?;
            Ok(format!(
                "purged {removed} dead letter{} of `{group}`\n",
                plural(removed as usize)
            ))
        }
    }
}

fn selection(ids: &[String], all: bool) -> Selection {
    if all {
        Selection::All
    } else {
        Selection::Ids(ids.iter().cloned().collect())
    }
}

/// The dead letters `selection` takes; an error naming the event ids it
/// names that are not among them.
async fn check_found<B: DeadLetters>(
    broker: &B,
    group: &str,
    selection: &Selection,
) -> anyhow::Result<Vec<accord::broker::DeadLetter>> {
    let found = select_dead_letters(broker, group, selection).await?;
    if let Selection::Ids(ids) = selection {
        let present: BTreeSet<&str> = found.iter().filter_map(|l| l.event_id()).collect();
        let missing: Vec<&str> = ids
            .iter()
            .map(String::as_str)
            .filter(|id| !present.contains(id))
            .collect();
        if !missing.is_empty() {
            bail!(
                "group `{group}` has no dead letter with event id {}; nothing was changed \
                 (`accord dead-letters list` shows the ids)",
                missing
                    .iter()
                    .map(|id| format!("`{id}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    Ok(found)
}

fn summary(done: &str, group: &str, letters: &[accord::broker::DeadLetter]) -> String {
    let mut out = format!(
        "{done} {} dead letter{} of `{group}`\n",
        letters.len(),
        plural(letters.len())
    );
    for letter in letters {
        out.push_str(&format!(
            "  {} on {}\n",
            letter.event_id().unwrap_or("(no event id)"),
            letter.topic()
        ));
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
