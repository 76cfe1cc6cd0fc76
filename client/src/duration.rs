//! `-d DURATION` values such as `1h`, `90m` or `900s`, turned into whole seconds for the server.

use std::time::Duration;

/// Parses a humantime duration into the `duration_seconds` the server expects (clap value parser).
pub fn parse_duration_seconds(text: &str) -> Result<u32, String> {
    let parsed = humantime::parse_duration(text.trim())
        .map_err(|e| format!("`{text}` is not a duration ({e}); write it like 1h, 90m or 900s"))?;
    if parsed.subsec_nanos() != 0 {
        return Err(format!("`{text}` is not a whole number of seconds"));
    }
    match u32::try_from(parsed.as_secs()) {
        Ok(0) => Err("the duration must be longer than zero".to_owned()),
        Ok(secs) => Ok(secs),
        Err(_) => Err(format!("`{text}` is far too long")),
    }
}

/// Seconds rendered the way people write them: `3600` → `1h`, `5400` → `1h 30m`.
pub fn display_seconds(secs: u32) -> String {
    humantime::format_duration(Duration::from_secs(secs.into())).to_string()
}

/// Time left, to the minute once it is a minute or more: `2h 5m`, `52m`, `40s`, `expired`.
pub fn display_left(secs: i64) -> String {
    match secs {
        ..=0 => "expired".to_owned(),
        1..=59 => format!("{secs}s"),
        60..=3599 => format!("{}m", secs / 60),
        _ if secs % 3600 < 60 => format!("{}h", secs / 3600),
        _ => format!("{}h {}m", secs / 3600, secs % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_left_reads_to_the_minute() {
        assert_eq!(display_left(-5), "expired");
        assert_eq!(display_left(0), "expired");
        assert_eq!(display_left(40), "40s");
        assert_eq!(display_left(52 * 60 + 59), "52m");
        assert_eq!(display_left(3600 + 30), "1h");
        assert_eq!(display_left(2 * 3600 + 5 * 60 + 9), "2h 5m");
    }

    #[test]
    fn hours_minutes_and_seconds_become_whole_seconds() {
        assert_eq!(parse_duration_seconds("1h"), Ok(3600));
        assert_eq!(parse_duration_seconds("900s"), Ok(900));
        assert_eq!(parse_duration_seconds("1h30m"), Ok(5400));
        assert_eq!(parse_duration_seconds("15m"), Ok(900));
    }

    #[test]
    fn a_bare_number_zero_or_fractional_seconds_are_refused() {
        assert!(parse_duration_seconds("3600").is_err());
        assert!(parse_duration_seconds("0s").is_err());
        assert!(parse_duration_seconds("1500ms").is_err());
        assert!(parse_duration_seconds("soon").is_err());
    }

    #[test]
    fn seconds_display_in_the_largest_units() {
        assert_eq!(display_seconds(3600), "1h");
        assert_eq!(display_seconds(5400), "1h 30m");
        assert_eq!(display_seconds(900), "15m");
    }
}
