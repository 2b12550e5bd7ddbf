//! `report`'s table: one line per row, columns aligned, durations as h:mm:ss.

use crate::domain::ReportRow;

fn duration(seconds: i64) -> String {
    format!(
        "{}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

/// The rows as an aligned table: text left, numbers right; breaks by reason last.
pub fn report_table(rows: &[ReportRow]) -> String {
    let mut lines = vec![
        [
            "agent",
            "from",
            "to",
            "available",
            "on_call",
            "wrap_up",
            "on_break",
            "logged_out",
            "breaks",
            "calls",
            "wrap-ups",
            "over limit",
            "over-limit time",
            "longest break",
            "occupancy",
            "breaks by reason",
        ]
        .map(str::to_owned)
        .to_vec(),
    ];
    for r in rows {
        let (s, c) = (&r.seconds, &r.counts);
        let reasons: Vec<String> = r
            .break_seconds
            .iter()
            .map(|(code, secs)| format!("{code} {}", duration(*secs)))
            .collect();
        lines.push(vec![
            r.agent_id.clone(),
            r.from.to_string(),
            r.to.to_string(),
            duration(s.available),
            duration(s.on_call),
            duration(s.wrap_up),
            duration(s.on_break),
            duration(s.logged_out),
            c.breaks.to_string(),
            c.calls.to_string(),
            c.wrap_ups.to_string(),
            c.over_limit_breaks.to_string(),
            duration(r.over_limit_seconds),
            duration(r.longest_break),
            r.occupancy
                .map_or("-".to_owned(), |o| format!("{:.1}%", o * 100.0)),
            reasons.join(", "),
        ]);
    }
    let columns = lines[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for line in &lines {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(i, cell)| match i {
                0 | 15 => format!("{cell:<w$}", w = widths[i]),
                _ => format!("{cell:>w$}", w = widths[i]),
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Tally;

    #[test]
    fn columns_line_up() {
        let mut tally = Tally::default();
        tally.seconds.available = 3725;
        tally.break_seconds.insert("lunch".into(), 60);
        let rows = [
            ReportRow::new("7", None, 0, 86_400, tally),
            ReportRow::new("agent-42", None, 0, 86_400, Tally::default()),
        ];
        let table = report_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].starts_with("7         "), "{table}");
        assert!(lines[1].contains("1:02:05"), "{table}");
        assert!(lines[1].ends_with("lunch 0:01:00"), "{table}");
        let at = |l: &str| l.find("86400").unwrap();
        assert_eq!(at(lines[1]), at(lines[2]));
    }
}
