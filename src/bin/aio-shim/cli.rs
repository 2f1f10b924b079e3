//! Small helpers shared by the subcommands' option parsers and messages.

use std::ffi::{OsStr, OsString};

/// Prints `aio-shim: MSG` (or `aio-shim SUB: MSG`) on stderr.
pub fn error(sub: Option<&str>, msg: &str) {
    match sub {
        Some(s) => eprintln!("aio-shim {s}: {msg}"),
        None => eprintln!("aio-shim: {msg}"),
    }
}

/// Matches a long option that takes a value, in either form `--name=VALUE`
/// or `--name VALUE`. Returns `None` if `args[*i]` is not that option;
/// otherwise the value (advancing `*i` past a separate value) or an error if
/// the value is missing.
pub fn long_value(
    name: &str,
    args: &[OsString],
    i: &mut usize,
) -> Option<Result<OsString, String>> {
    let arg = args[*i].to_str()?;
    if arg == name {
        return Some(match args.get(*i + 1) {
            Some(v) => {
                *i += 1;
                Ok(v.clone())
            }
            None => Err(format!("option '{name}' requires an argument")),
        });
    }
    let rest = arg.strip_prefix(name)?.strip_prefix('=')?;
    // Keep non-UTF-8 values intact by slicing the original bytes.
    use std::os::unix::ffi::OsStrExt;
    let bytes = &args[*i].as_bytes()[name.len() + 1..];
    debug_assert_eq!(bytes, rest.as_bytes());
    Some(Ok(OsStr::from_bytes(bytes).to_os_string()))
}

/// A value that must be one of `allowed`.
pub fn one_of(option: &str, value: &OsStr, allowed: &[&str]) -> Result<String, String> {
    match value.to_str() {
        Some(v) if allowed.contains(&v) => Ok(v.to_string()),
        _ => Err(format!(
            "invalid value '{}' for {option} (expected {})",
            value.to_string_lossy(),
            allowed.join(", ")
        )),
    }
}

pub const BACKENDS: &[&str] = &["auto", "kaio", "uring", "pool"];
pub const LOG_LEVELS: &[&str] = &["off", "warn", "debug"];

/// Quotes a command line for display: `legacy_app --direct 'a b'`.
pub fn shell_words(args: &[OsString]) -> String {
    args.iter()
        .map(|a| {
            let s = a.to_string_lossy();
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
            {
                s.into_owned()
            } else {
                format!("'{}'", s.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn long_values() {
        let a = v(&["--lib", "/x.so", "--lib=/y.so", "--library", "--lib"]);
        let mut i = 0;
        assert_eq!(long_value("--lib", &a, &mut i), Some(Ok("/x.so".into())));
        assert_eq!(i, 1);
        i = 2;
        assert_eq!(long_value("--lib", &a, &mut i), Some(Ok("/y.so".into())));
        assert_eq!(i, 2);
        i = 3;
        assert_eq!(long_value("--lib", &a, &mut i), None);
        i = 4;
        assert!(matches!(long_value("--lib", &a, &mut i), Some(Err(_))));
    }

    #[test]
    fn quoting() {
        assert_eq!(
            shell_words(&v(&["a", "b c", "it's", ""])),
            r"a 'b c' 'it'\''s' ''"
        );
    }
}
