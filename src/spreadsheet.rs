//! CSV cells safe to open in a spreadsheet, shared by every CSV export.

/// Spreadsheet programs run cells starting with these as formulas (CSV injection); such cells
/// get a leading `'`.
pub fn csv_cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::csv_cell;

    #[test]
    fn csv_cells_never_start_a_formula() {
        assert_eq!(csv_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("@a"), "'@a");
        assert_eq!(csv_cell("Ana"), "Ana");
    }
}
