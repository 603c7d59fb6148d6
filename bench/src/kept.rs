//! The parts of BENCHMARKS.md a run keeps from the file it rewrites: the
//! hand-written analysis always, the cascade and outbox sections when the
//! run does not measure them; and those sections put into the file alone.

/// Marks the cascade section of BENCHMARKS.md: kept by a run that does
/// not measure it, and the only part a run of it alone rewrites.
pub const CASCADE_START: &str = "<!-- cascade: kept when a run does not measure it -->\n";
pub const CASCADE_END: &str = "<!-- end of cascade -->\n";

/// Marks the outbox section of BENCHMARKS.md, kept like the cascade's.
pub const OUTBOX_START: &str = "<!-- outbox: kept when a run does not measure it -->\n";
pub const OUTBOX_END: &str = "<!-- end of outbox -->\n";

/// The text between `start` and `end` in `text`.
pub fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(&text[from..to])
}

/// `text` with what lies between `start` and `end` replaced by `with`;
/// `None` if `text` has no such block.
pub fn splice(text: &str, start: &str, end: &str, with: &str) -> Option<String> {
    let from = text.find(start)? + start.len();
    let to = text[from..].find(end)? + from;
    Some(format!("{}{with}{}", &text[..from], &text[to..]))
}

/// `text` with `body`, marked by `start` and `end`, put before the Machine
/// section. `None` if `text` has none.
pub fn insert_block(text: &str, start: &str, end: &str, body: &str) -> Option<String> {
    let at = text.find(MACHINE)?;
    Some(format!(
        "{}{start}{body}{end}\n{}",
        &text[..at],
        &text[at..]
    ))
}

/// `previous` with each block given a body rewritten in place, or put
/// before the Machine section when `previous` has none; blocks without a
/// body are left as they are. `None` if a block could be put nowhere.
pub fn rewrite_blocks(previous: &str, blocks: &[(&str, &str, Option<&str>)]) -> Option<String> {
    blocks.iter().try_fold(
        previous.to_owned(),
        |text, &(start, end, body)| match body {
            None => Some(text),
            Some(body) => {
                splice(&text, start, end, body).or_else(|| insert_block(&text, start, end, body))
            }
        },
    )
}

/// The heading of the Machine section, before which the cascade section goes.
pub const MACHINE: &str = "## Machine\n";

/// Marks the hand-written part of BENCHMARKS.md, kept across runs.
pub const ANALYSIS_START: &str = "<!-- analysis: kept when the file is regenerated -->\n";
pub const ANALYSIS_END: &str = "<!-- end of analysis -->\n";

/// The analysis of an existing BENCHMARKS.md, or a placeholder.
pub fn kept_analysis(previous: Option<&str>) -> String {
    previous
        .and_then(|text| {
            let start = text.find(ANALYSIS_START)? + ANALYSIS_START.len();
            let end = text[start..].find(ANALYSIS_END)? + start;
            Some(text[start..end].to_owned())
        })
        .unwrap_or_else(|| "## Analysis\n\nNot written yet.\n".to_owned())
}
