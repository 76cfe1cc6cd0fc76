//! Plain-text tables: a header row, left-aligned columns two spaces apart, no borders, the last
//! column not padded.

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
                let w = cell.chars().count();
                match widths.get_mut(i) {
                    Some(width) => *width = (*width).max(w),
                    None => widths.push(w),
                }
            }
        }
        Self { widths }
    }

    /// Widens columns to at least `min` characters each.
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
            let pad = width.saturating_sub(cell.chars().count());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[&str]) -> Vec<String> {
        cells.iter().map(|c| (*c).to_owned()).collect()
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
}
