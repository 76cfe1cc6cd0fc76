//! Plain-text tables: a header row, left-aligned columns two spaces apart, no borders, the last
//! column not padded; and the cells that go in them, safe to print and measured in terminal
//! columns (a CJK character or an emoji takes two, a combining accent none).

use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Column widths, fitted to some rows and usable for rows that arrive later (`--follow`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    widths: Vec<usize>,
}

impl Columns {
    /// Widths that fit every cell of `rows` (the header included).
    pub fn fit<R: AsRef<[String]>>(rows: &[R]) -> Self {
        let mut widths: Vec<usize> = Vec::new();
        for row in rows {
            for (i, cell) in row.as_ref().iter().enumerate() {
                let w = cell.width();
                match widths.get_mut(i) {
                    Some(width) => *width = (*width).max(w),
                    None => widths.push(w),
                }
            }
        }
        Self { widths }
    }

    /// Widens columns to at least `min` terminal columns each.
    pub fn at_least(mut self, min: &[usize]) -> Self {
        if self.widths.len() < min.len() {
            self.widths.resize(min.len(), 0);
        }
        for (width, &m) in self.widths.iter_mut().zip(min) {
            *width = (*width).max(m);
        }
        self
    }

    /// One line of the table, ending in a newline. A cell wider than its column pushes the rest
    /// of the line right rather than being cut.
    pub fn line(&self, cells: &[String]) -> String {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            out.push_str(cell);
            let width = self.widths.get(i).copied().unwrap_or(0);
            let pad = width.saturating_sub(cell.width());
            out.extend(std::iter::repeat_n(' ', pad));
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    }
}

/// The whole table: every row (the header first) in columns that fit them all.
pub fn render<R: AsRef<[String]>>(rows: &[R]) -> String {
    let columns = Columns::fit(rows);
    rows.iter().map(|row| columns.line(row.as_ref())).collect()
}

/// A header row from its column names.
pub fn header(names: &[&str]) -> Vec<String> {
    names.iter().map(|&name| name.to_owned()).collect()
}

/// `text` made safe and short for one table cell: line breaks and tabs become spaces, other
/// control and bidirectional-override characters are shown escaped, and past `max` columns the
/// rest is replaced by `…`.
pub fn cell(text: &str, max: usize) -> String {
    let mut safe = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => safe.push(' '),
            c if c.is_control() || is_bidi_control(c) => safe.extend(c.escape_default()),
            c => safe.push(c),
        }
    }
    if safe.width() <= max {
        return safe;
    }
    let room = max.saturating_sub(1);
    let mut short = String::with_capacity(safe.len());
    let mut used = 0;
    for c in safe.chars() {
        let w = c.width().unwrap_or(0);
        if used + w > room {
            break;
        }
        used += w;
        short.push(c);
    }
    short.push('…');
    short
}

/// [`cell`] of a value that may be missing, shown as `-`.
pub fn cell_or_dash(value: Option<&str>, max: usize) -> String {
    value.map_or_else(|| "-".to_owned(), |v| cell(v, max))
}

/// `2024-05-01T12:00:03Z`: UTC to the second (the same form `--since` takes); an unreadable time
/// is shown as sent.
pub fn display_time(text: &str) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .and_then(|t| t.to_offset(UtcOffset::UTC).format(&format).ok())
        .unwrap_or_else(|| cell(text, 32))
}

/// Characters that reorder the text around them on screen (Trojan Source).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        header(cells)
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell_and_lines_have_no_trailing_space() {
        let out = render(&[row(&["A", "B", "C"]), row(&["long", "x", ""])]);
        assert_eq!(out, "A     B  C\nlong  x\n");
    }

    #[test]
    fn a_later_row_wider_than_its_column_pushes_the_line_right() {
        let columns = Columns::fit(&[row(&["A", "B"])]).at_least(&[3]);
        assert_eq!(columns.line(&row(&["abcdef", "b"])), "abcdef  b\n");
        assert_eq!(columns.line(&row(&["a", "b"])), "a    b\n");
    }

    #[test]
    fn a_wide_cell_is_padded_by_its_display_width() {
        let out = render(&[row(&["名前", "B"]), row(&["🔑", "c"]), row(&["ab", "d"])]);
        assert_eq!(out, "名前  B\n🔑    c\nab    d\n");
    }

    #[test]
    fn a_combining_character_takes_no_width() {
        let out = render(&[row(&["e\u{301}", "x"]), row(&["ab", "y"])]);
        assert_eq!(out, "e\u{301}   x\nab  y\n");
    }

    #[test]
    fn a_long_cell_is_cut_to_its_width_in_columns() {
        assert_eq!(cell("abcdef", 4), "abc…");
        assert_eq!(cell("日本語のテキスト", 7), "日本語…");
        assert_eq!(cell("日本語のテキスト", 7).width(), 7);
        assert_eq!(
            cell("ae\u{301}z", 3),
            "ae\u{301}z",
            "the accent takes no room"
        );
    }

    #[test]
    fn terminal_escapes_and_bidi_overrides_in_a_cell_are_shown_escaped() {
        assert_eq!(cell("dev\u{1b}[2J", 40), "dev\\u{1b}[2J");
        assert_eq!(cell("ab\u{202e}cd", 40), "ab\\u{202e}cd");
        assert_eq!(cell("two\nlines", 40), "two lines");
    }

    #[test]
    fn a_missing_value_is_a_dash() {
        assert_eq!(cell_or_dash(None, 10), "-");
        assert_eq!(cell_or_dash(Some("dev"), 10), "dev");
    }

    #[test]
    fn a_time_with_an_offset_is_shown_in_utc_and_an_unreadable_one_as_sent() {
        assert_eq!(
            display_time("2026-11-28T14:00:00.5+02:00"),
            "2026-11-28T12:00:00Z"
        );
        assert_eq!(display_time("yesterday"), "yesterday");
    }
}
