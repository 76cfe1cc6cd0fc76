//! Postgres's text form of a `jsonb` value, as `jsonb_send` and `details::text` produce it, so
//! that sealing hashes exactly the bytes Postgres sends back at verification: object keys
//! ordered by byte length and then bytewise, `", "` and `": "` separators, strings escaped as
//! Postgres's `escape_json` does (which is also what serde_json does), numbers as `numeric`
//! prints them.

use serde_json::{Number, Value};

/// Appends the Postgres text form of `v` to `out`.
pub fn write(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => out.extend_from_slice(numeric(n).as_bytes()),
        Value::String(s) => string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|(a, _), (b, _)| {
                a.len()
                    .cmp(&b.len())
                    .then_with(|| a.as_bytes().cmp(b.as_bytes()))
            });
            out.push(b'{');
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                string(out, key);
                out.extend_from_slice(b": ");
                write(out, value);
            }
            out.push(b'}');
        }
    }
}

/// The text of `v` as a string (tests and diagnostics).
pub fn to_string(v: &Value) -> String {
    let mut out = Vec::new();
    write(&mut out, v);
    String::from_utf8(out).expect("JSON text is UTF-8")
}

fn string(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(out, s).expect("writing to a Vec cannot fail");
}

/// How Postgres's `numeric` prints the number serde_json sent it: integers as they are, other
/// numbers in plain decimal notation keeping the fraction digits written (`1.0` stays `1.0`,
/// `1e-7` becomes `0.0000001`, `1.5e3` becomes `1500`), and no sign on zero.
fn numeric(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    // The very text sqlx sends (serde_json), which Postgres parses into a `numeric`.
    let text = serde_json::to_string(n).expect("a number serialises");
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.as_str()),
    };
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (unsigned, 0),
    };
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{int_part}{frac_part}");
    let scale = (frac_part.len() as i64 - exponent).max(0) as usize;
    // Position of the decimal point within `digits`, once the exponent is applied.
    let point = int_part.len() as i64 + exponent;
    let (mut whole, fraction) = if point <= 0 {
        let zeros = "0".repeat((-point) as usize);
        (String::new(), format!("{zeros}{digits}"))
    } else if point as usize >= digits.len() {
        let zeros = "0".repeat(point as usize - digits.len());
        (format!("{digits}{zeros}"), String::new())
    } else {
        let (w, f) = digits.split_at(point as usize);
        (w.to_owned(), f.to_owned())
    };
    let trimmed = whole.trim_start_matches('0');
    whole = if trimmed.is_empty() {
        "0".into()
    } else {
        trimmed.into()
    };
    let mut fraction: String = fraction.chars().take(scale).collect();
    while fraction.len() < scale {
        fraction.push('0');
    }
    let zero = whole == "0" && fraction.bytes().all(|b| b == b'0');
    let sign = if negative && !zero { "-" } else { "" };
    if scale == 0 {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{fraction}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn object_keys_are_ordered_by_length_then_bytes_like_jsonb() {
        let v = json!({"bb": 1, "a": 2, "c": [true, null], "ab": {"z": "x", "yy": {}}});
        assert_eq!(
            to_string(&v),
            r#"{"a": 2, "c": [true, null], "ab": {"z": "x", "yy": {}}, "bb": 1}"#
        );
    }

    #[test]
    fn strings_are_escaped_like_postgres_escape_json() {
        let v = json!(["q\"b\\s/\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}é😀"]);
        assert_eq!(
            to_string(&v),
            "[\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001f\u{7f}é😀\"]"
        );
    }

    #[test]
    fn numbers_print_as_postgres_numeric_prints_them() {
        let cases = [
            (json!(0), "0"),
            (json!(-17), "-17"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(1.0), "1.0"),
            (json!(-0.0), "0.0"),
            (json!(0.1), "0.1"),
            (json!(123.456), "123.456"),
            (json!(1e20), "100000000000000000000"),
            (json!(1e-7), "0.0000001"),
            (json!(-1.5e-7), "-0.00000015"),
            (json!(1.5e300), format!("15{}", "0".repeat(299)).leak()),
        ];
        for (v, want) in cases {
            assert_eq!(to_string(&v), want, "{v}");
        }
    }

    #[test]
    fn empty_containers_print_without_spaces() {
        assert_eq!(
            to_string(&json!({"a": [], "b": {}})),
            r#"{"a": [], "b": {}}"#
        );
    }
}
