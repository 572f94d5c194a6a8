//! Unit properties from the config's annotations, as runc takes them:
//! `org.systemd.property.NAME` = a value in GVariant text format, added to
//! the unit when it starts (CRI-O sets `TimeoutStopUSec` this way). NAME is
//! at least three ASCII letters; `...Sec` names become `...USec` with the
//! value in microseconds. The value forms understood are those such
//! annotations use: `true`/`false`, integers (`123` is an int32, as in
//! GVariant; `uint64 123`, `@t 123`, `uint32`, `int64`, `int32`), strings
//! (`'text'` or `"text"`) and string arrays (`['a', 'b']`, `@as []`).
//! Anything else is an error naming the annotation, never dropped.

use std::collections::HashMap;

use super::wire::Value;

pub const PREFIX: &str = "org.systemd.property.";

/// The properties the annotations ask for, in annotation-name order.
pub fn properties(annotations: &HashMap<String, String>) -> Result<Vec<(String, Value)>, String> {
    let mut keys: Vec<&String> = annotations.keys().filter(|k| k.starts_with(PREFIX)).collect();
    keys.sort();
    let mut out = Vec::new();
    for k in keys {
        let v = &annotations[k];
        let mut name = k[PREFIX.len()..].to_owned();
        if name.len() < 3 || !name.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(format!("annotation `{k}`: `{name}` is not a property name (three or more ASCII letters)"));
        }
        let mut value = parse(v).map_err(|e| format!("annotation `{k}`: value `{v}`: {e}"))?;
        if let Some(stem) = name.strip_suffix("Sec").filter(|s| s.ends_with(|c: char| c.is_ascii_lowercase())) {
            let secs: u64 = match value {
                Value::U32(n) => u64::from(n),
                Value::U64(n) => n,
                Value::I32(n) => u64::try_from(n).map_err(|_| format!("annotation `{k}`: negative seconds"))?,
                Value::I64(n) => u64::try_from(n).map_err(|_| format!("annotation `{k}`: negative seconds"))?,
                _ => return Err(format!("annotation `{k}`: value `{v}` is not a number of seconds")),
            };
            name = format!("{stem}USec");
            value = Value::U64(secs.checked_mul(1_000_000).ok_or(format!("annotation `{k}`: too many seconds"))?);
        }
        out.push((name, value));
    }
    Ok(out)
}

/// One value in the GVariant text format subset described above.
fn parse(s: &str) -> Result<Value, String> {
    let s = s.trim();
    match s {
        "true" => return Ok(Value::Bool(true)),
        "false" => return Ok(Value::Bool(false)),
        "@as []" | "@as[]" => return Ok(Value::array("s", vec![])),
        _ => {}
    }
    if let Some(list) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items = split_list(list)?.into_iter().map(|i| string(i).map(Value::Str)).collect::<Result<_, _>>()?;
        return Ok(Value::array("s", items));
    }
    if s.starts_with(['\'', '"']) {
        return string(s).map(Value::Str);
    }
    let (ty, num) = match s.split_once(char::is_whitespace) {
        Some((ty, num)) => (ty, num.trim()),
        None => ("int32", s),
    };
    let bad = |_| format!("`{num}` is not a {ty}");
    match ty {
        "uint64" | "@t" => num.parse().map(Value::U64).map_err(bad),
        "int64" | "@x" => num.parse().map(Value::I64).map_err(bad),
        "uint32" | "@u" => num.parse().map(Value::U32).map_err(bad),
        "int32" | "@i" => num.parse().map(Value::I32).map_err(bad),
        _ => Err("not a boolean, integer, string or string array".into()),
    }
}

/// A quoted string: `'...'` or `"..."`, with backslash escapes.
fn string(s: &str) -> Result<String, String> {
    let s = s.trim();
    let quote = s.chars().next().filter(|c| *c == '\'' || *c == '"').ok_or("not a quoted string")?;
    let body = s[1..].strip_suffix(quote).ok_or("unterminated string")?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next().ok_or("dangling backslash")?),
            c if c == quote => return Err("unescaped quote inside a string".into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// The elements of a list body, split at commas outside quotes.
fn split_list(body: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let (mut start, mut quote, mut escaped) = (0, None, false);
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(_), '\\') if !escaped => {
                escaped = true;
                continue;
            }
            (Some(q), c) if c == q && !escaped => quote = None,
            (None, '\'' | '"') => quote = Some(c),
            (None, ',') => {
                out.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        escaped = false;
    }
    if quote.is_some() {
        return Err("unterminated string".into());
    }
    let last = &body[start..];
    if !last.trim().is_empty() || !out.is_empty() {
        out.push(last);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Result<Vec<(String, Value)>, String> {
        properties(&pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn values() {
        assert_eq!(parse("true").unwrap(), Value::Bool(true));
        assert_eq!(parse("uint64 30000000").unwrap(), Value::U64(30_000_000));
        assert_eq!(parse("@t 5").unwrap(), Value::U64(5));
        assert_eq!(parse("7").unwrap(), Value::I32(7));
        assert_eq!(parse("'crio.service'").unwrap(), Value::str("crio.service"));
        assert_eq!(parse(r#""a\"b""#).unwrap(), Value::str("a\"b"));
        assert_eq!(
            parse("['a.service', 'b,c.service']").unwrap(),
            Value::array("s", vec![Value::str("a.service"), Value::str("b,c.service")])
        );
        assert_eq!(parse("[]").unwrap(), Value::array("s", vec![]));
        assert_eq!(parse("@as []").unwrap(), Value::array("s", vec![]));
        for bad in ["uint64 -1", "maybe", "'open", "[1, 2]", "<1>", "double 1.5"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_seconds() {
        let p = props(&[
            ("org.systemd.property.TimeoutStopSec", "uint64 30"),
            ("org.systemd.property.After", "['crio.service']"),
            ("org.systemd.property.CollectMode", "'inactive-or-failed'"),
            ("io.other", "x"),
        ])
        .unwrap();
        let names: Vec<&str> = p.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["After", "CollectMode", "TimeoutStopUSec"]);
        assert_eq!(p[2].1, Value::U64(30_000_000));
        // USec stays as it is; a capital before Sec is no seconds suffix
        let p = props(&[("org.systemd.property.TimeoutStopUSec", "uint64 5")]).unwrap();
        assert_eq!(p[0], ("TimeoutStopUSec".to_string(), Value::U64(5)));
        for (k, v) in [
            ("org.systemd.property.No", "true"),
            ("org.systemd.property.Bad_Name", "true"),
            ("org.systemd.property.TimeoutStopSec", "'x'"),
            ("org.systemd.property.TimeoutStopSec", "-1"),
            ("org.systemd.property.Delegate", "yes please"),
        ] {
            let e = props(&[(k, v)]).unwrap_err();
            assert!(e.contains(k), "{e}");
        }
    }
}
