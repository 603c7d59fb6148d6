//! `cargo run -p cascade` runs the scenario with accord's defences on and
//! prints it as it goes, then each phase's figures; `--no-defences` runs it
//! with them off, `--both` one after the other.

use anyhow::Result;
use cascade::process::{shopfront_main, Launcher, ShopfrontArgs};
use cascade::scenario::{self, Plan};
use cascade::services::Defences;
use clap::{Parser, Subcommand};

/// C turns slow, then fails, then heals, under a steady load on A; see
/// how A fares.
#[derive(Debug, Parser)]
#[command(name = "cascade")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Run with the defences off.
    #[arg(long, conflicts_with = "both")]
    no_defences: bool,
    /// Run with the defences on, then off.
    #[arg(long)]
    both: bool,
    /// The short scenario (12 s a side) instead of the standard one (30 s).
    #[arg(long)]
    short: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the shopfront (A); the scenario starts this itself.
    #[command(hide = true)]
    Shopfront(ShopfrontArgs),
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(Command::Shopfront(shopfront)) = args.command {
        return shopfront_main(shopfront);
    }
    let sides = if args.both {
        vec![Defences::On, Defences::Off]
    } else if args.no_defences {
        vec![Defences::Off]
    } else {
        vec![Defences::On]
    };
    let plan = if args.short {
        Plan::short()
    } else {
        Plan::standard()
    };
    let launcher = Launcher {
        program: std::env::current_exe()?,
        args: vec!["shopfront".into()],
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut summaries = Vec::new();
    for defences in sides {
        println!(
            "A → B → C with the defences {}: {} calls a second to each of A's catalog and quote; \
             C slow ({:?} a call), then failing, then healed",
            defences.name(),
            plan.rate,
            plan.slow
        );
        let run = runtime.block_on(scenario::run(&plan, defences, &launcher, &|line| {
            println!("{line}")
        }))?;
        let summary = run.summary();
        println!("\n{}", summary.table());
        summaries.push(summary);
    }
    Ok(())
}
