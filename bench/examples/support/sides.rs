//! The command line of the publish-cost examples: `<example> accord|bare N`
//! runs one side's `N` publishes on a multi-thread runtime.

use std::future::Future;

use anyhow::{bail, Context, Result};

/// Runs `accord(N)` or `bare(N)` as the arguments of `example` say.
pub fn run<A, B>(
    example: &str,
    accord: impl FnOnce(u64) -> A,
    bare: impl FnOnce(u64) -> B,
) -> Result<()>
where
    A: Future<Output = Result<()>>,
    B: Future<Output = Result<()>>,
{
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || format!("use: {example} accord|bare N");
    let count = args
        .get(1)
        .with_context(usage)?
        .parse::<u64>()
        .context("a publish count")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match args[0].as_str() {
        "accord" => runtime.block_on(accord(count)),
        "bare" => runtime.block_on(bare(count)),
        other => bail!("{} (not `{other}`)", usage()),
    }
}
