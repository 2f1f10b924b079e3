//! Reading the report that libaio_shim.so appends to `AIO_SHIM_STATS=PATH`
//! at exit: one flat JSON object per line per process, integer values, e.g.
//! `{"pid":123,"calls":5000,"submitted":4000,"kaio":4000,...}`.
//!
//! The parser is deliberately tolerant: unknown keys are kept, non-integer
//! values (strings, floats, booleans, nested values) are skipped, a line that
//! is not an object is counted as malformed and otherwise ignored.

/// The integer fields of one line, in the order they appeared.
pub type Record = Vec<(String, i64)>;

/// Parses one line. `None` if it is not a JSON object.
pub fn parse_line(line: &str) -> Option<Record> {
    let mut p = Parser {
        s: line.as_bytes(),
        i: 0,
    };
    p.ws();
    if !p.eat(b'{') {
        return None;
    }
    let mut rec = Vec::new();
    p.ws();
    if p.eat(b'}') {
        return p.end().then_some(rec);
    }
    loop {
        p.ws();
        let key = p.string()?;
        p.ws();
        if !p.eat(b':') {
            return None;
        }
        p.ws();
        if let Some(v) = p.value()? {
            rec.push((key, v));
        }
        p.ws();
        if p.eat(b',') {
            continue;
        }
        if p.eat(b'}') {
            break;
        }
        return None;
    }
    p.end().then_some(rec)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }
    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn end(&mut self) -> bool {
        self.ws();
        self.i == self.s.len()
    }
    fn string(&mut self) -> Option<String> {
        if !self.eat(b'"') {
            return None;
        }
        let mut out = Vec::new();
        loop {
            let c = self.peek()?;
            self.i += 1;
            match c {
                b'"' => return Some(String::from_utf8_lossy(&out).into_owned()),
                b'\\' => {
                    let e = self.peek()?;
                    self.i += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4)?;
                            self.i += 4;
                            let code =
                                u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                            let ch = char::from_u32(code).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                _ => out.push(c),
            }
        }
    }
    /// A value: `Some(Some(n))` for an integer, `Some(None)` for anything
    /// else that is well-formed, `None` for garbage.
    fn value(&mut self) -> Option<Option<i64>> {
        match self.peek()? {
            b'"' => self.string().map(|_| None),
            b'{' | b'[' => self.skip_nested().map(|_| None),
            b'-' | b'0'..=b'9' => {
                let start = self.i;
                self.i += 1;
                while matches!(
                    self.peek(),
                    Some(b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                ) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).ok()?;
                Some(text.parse::<i64>().ok())
            }
            _ => {
                for word in [&b"true"[..], b"false", b"null"] {
                    if self.s[self.i..].starts_with(word) {
                        self.i += word.len();
                        return Some(None);
                    }
                }
                None
            }
        }
    }
    fn skip_nested(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Some(());
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }
}

/// The fields of every process summed (except `pid`), in first-seen order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub processes: usize,
    pub malformed: usize,
    pub fields: Vec<(String, i64)>,
}

impl Summary {
    pub fn get(&self, key: &str) -> Option<i64> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }

    /// The number of POSIX AIO calls the shim saw: `calls`, or `submitted`
    /// if an older library does not report `calls`.
    pub fn calls(&self) -> i64 {
        self.get("calls")
            .or_else(|| self.get("submitted"))
            .unwrap_or(0)
    }
}

/// Parses a whole stats file.
pub fn summarize(text: &str) -> Summary {
    let mut s = Summary::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        let Some(rec) = parse_line(line) else {
            s.malformed += 1;
            continue;
        };
        s.processes += 1;
        for (k, v) in rec {
            if k == "pid" {
                continue;
            }
            match s.fields.iter_mut().find(|(name, _)| *name == k) {
                Some((_, total)) => *total = total.saturating_add(v),
                None => s.fields.push((k, v)),
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line() {
        let r = parse_line(
            r#"{"pid":123,"calls":5000,"submitted":4000,"kaio":4000,"uring":0,"pool":0}"#,
        )
        .unwrap();
        assert_eq!(r[0], ("pid".to_string(), 123));
        assert_eq!(r[1], ("calls".to_string(), 5000));
        assert_eq!(r.len(), 6);
    }

    #[test]
    fn tolerant() {
        let r = parse_line(
            r#"  { "pid" : 7 , "name":"fio \"x\" \u00e9", "ratio": 1.5, "ok": true, "n": null,
               "nested": {"a": [1, {"b": "}"}]}, "neg": -3 }  "#,
        )
        .unwrap();
        assert_eq!(r, vec![("pid".into(), 7), ("neg".into(), -3)]);
        assert_eq!(parse_line("{}"), Some(vec![]));
        assert_eq!(parse_line(""), None);
        assert_eq!(parse_line("calls=5"), None);
        assert_eq!(parse_line(r#"{"calls":5"#), None); // truncated (a process killed mid-write)
        assert_eq!(parse_line(r#"{"calls":5} trailing"#), None);
        assert_eq!(parse_line(r#"{"calls" 5}"#), None);
    }

    #[test]
    fn sum_over_processes() {
        let text = concat!(
            r#"{"pid":1,"calls":5000,"submitted":4000,"kaio":4000,"uring":0,"pool":0,"immediate":0,"completed":4000,"cancelled":0}"#,
            "\n",
            "\n",
            r#"{"pid":2,"calls":10,"submitted":8,"kaio":0,"pool":8,"completed":8,"extra":1}"#,
            "\n",
            "garbage\n",
        );
        let s = summarize(text);
        assert_eq!(s.processes, 2);
        assert_eq!(s.malformed, 1);
        assert_eq!(s.get("calls"), Some(5010));
        assert_eq!(s.get("pool"), Some(8));
        assert_eq!(s.get("uring"), Some(0));
        assert_eq!(s.get("extra"), Some(1));
        assert_eq!(s.get("pid"), None);
        assert_eq!(s.calls(), 5010);
        let keys: Vec<&str> = s.fields.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(&keys[..4], ["calls", "submitted", "kaio", "uring"]); // first-seen order
    }

    #[test]
    fn empty_and_fallback() {
        let s = summarize("");
        assert_eq!((s.processes, s.calls()), (0, 0));
        let s = summarize(r#"{"pid":1,"submitted":3}"#);
        assert_eq!(s.calls(), 3);
    }
}
