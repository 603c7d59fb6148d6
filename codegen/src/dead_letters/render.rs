//! How dead letters are printed: a page as a table, one in full with its
//! payload cut to a bound.

use accord::broker::{DeadLetter, DEAD_LETTER_REASON};

/// How many bytes of a payload `show` prints unless asked otherwise: 4 KiB.
pub const DEFAULT_SHOW_BYTES: usize = 4096;

/// The most characters of a reason a listed row shows; `show` prints it
/// whole (reasons are capped at 1 KiB when stored).
const LISTED_REASON_CHARS: usize = 80;

/// A page of `group`'s dead letters, `total` in all, as a table.
pub fn render_page(group: &str, total: u64, page: &[DeadLetter], limit: usize) -> String {
    if page.is_empty() {
        return format!("group `{group}` has {total} dead letters; none on this page\n");
    }
    let mut out = format!(
        "group `{group}` has {total} dead letter{}; {} listed\n",
        if total == 1 { "" } else { "s" },
        page.len()
    );
    let rows: Vec<[String; 5]> = page
        .iter()
        .map(|letter| {
            [
                letter.position.to_string(),
                letter.event_id().unwrap_or("-").to_owned(),
                letter.topic().to_owned(),
                letter
                    .attempts()
                    .map_or_else(|| "-".to_owned(), |n| n.to_string()),
                cut_chars(letter.reason().unwrap_or("-"), LISTED_REASON_CHARS),
            ]
        })
        .collect();
    let header = ["POSITION", "EVENT ID", "TOPIC", "ATTEMPTS", "REASON"];
    let widths: Vec<usize> = (0..4)
        .map(|i| {
            rows.iter()
                .map(|row| row[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: [&str; 5]| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate().take(4) {
            text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
        }
        text.push_str(cells[4]);
        text.push('\n');
        text
    };
    out.push_str(&line(header));
    for row in &rows {
        out.push_str(&line([&row[0], &row[1], &row[2], &row[3], &row[4]]));
    }
    if page.len() == limit {
        let last = page.last().map_or(0, |l| l.position);
        out.push_str(&format!("next page: --after {last}\n"));
    }
    out
}

/// One dead letter in full: where it is, why, its headers, and at most
/// `max_bytes` of its payload.
pub fn render_letter(letter: &DeadLetter, max_bytes: usize) -> String {
    let message = &letter.message;
    let mut out = String::new();
    out.push_str(&format!(
        "event id:  {}\n",
        letter.event_id().unwrap_or("-")
    ));
    out.push_str(&format!("position:  {}\n", letter.position));
    out.push_str(&format!("topic:     {}\n", letter.topic()));
    if let Some(key) = &message.key {
        out.push_str(&format!("key:       {key}\n"));
    }
    if let Some(attempts) = letter.attempts() {
        out.push_str(&format!("attempts:  {attempts}\n"));
    }
    if letter.replays() > 0 {
        out.push_str(&format!("replayed:  {} time(s) before\n", letter.replays()));
    }
    out.push_str(&format!(
        "reason:    {}\n",
        message.header(DEAD_LETTER_REASON).unwrap_or("-")
    ));
    out.push_str("headers:\n");
    for (name, value) in &message.headers {
        out.push_str(&format!("  {name}: {value}\n"));
    }
    let payload = &message.payload;
    out.push_str(&format!("payload ({} bytes):\n", payload.len()));
    let shown = &payload[..payload.len().min(max_bytes)];
    let text = match (shown.len() == payload.len())
        .then(|| serde_json::from_slice::<serde_json::Value>(payload).ok())
        .flatten()
    {
        Some(json) if serde_json::to_string_pretty(&json).is_ok_and(|t| t.len() <= max_bytes) => {
            serde_json::to_string_pretty(&json).unwrap_or_default()
        }
        _ => String::from_utf8_lossy(shown).into_owned(),
    };
    out.push_str(&text);
    out.push('\n');
    if shown.len() < payload.len() {
        out.push_str(&format!(
            "... {} more bytes not shown (--max-bytes)\n",
            payload.len() - shown.len()
        ));
    }
    out
}

fn cut_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord::broker::{Message, DEAD_LETTER_ATTEMPTS, DEAD_LETTER_TOPIC};

    fn letter(payload: &str) -> DeadLetter {
        DeadLetter {
            position: 42,
            message: Message::new("accord.dead-letter.billing", payload.to_owned())
                .with_header("ce-id", "e-1")
                .with_header(DEAD_LETTER_REASON, "x".repeat(200))
                .with_header(DEAD_LETTER_ATTEMPTS, "3")
                .with_header(DEAD_LETTER_TOPIC, "orders.placed"),
        }
    }

    #[test]
    fn a_page_names_each_letter_and_the_next_page() {
        let text = render_page("billing", 5, &[letter("{}")], 1);
        assert!(text.contains("group `billing` has 5 dead letters; 1 listed"));
        assert!(text.contains("42"));
        assert!(text.contains("e-1"));
        assert!(text.contains("orders.placed"));
        assert!(!text.contains(&"x".repeat(81)), "reasons are cut in a list");
        assert!(text.contains("next page: --after 42"));
    }

    #[test]
    fn show_cuts_the_payload_at_the_bound() {
        let big = format!("\"{}\"", "y".repeat(10_000));
        let text = render_letter(&letter(&big), 100);
        assert!(text.contains("payload (10002 bytes)"));
        assert!(text.contains("9902 more bytes not shown"));
        assert!(!text.contains(&"y".repeat(101)));
        assert!(text.contains(&"x".repeat(200)), "the reason is shown whole");
    }

    #[test]
    fn show_prints_a_small_json_payload_readably() {
        let text = render_letter(&letter(r#"{"sku":"A-1","qty":2}"#), 4096);
        assert!(text.contains("\"sku\": \"A-1\""), "{text}");
    }
}
