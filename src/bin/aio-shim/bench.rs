//! `aio-shim bench [ARGS...]`: a quick benchmark of this machine, by running
//! the source tree's `scripts/bench --quick ARGS...` (glibc's POSIX AIO, the
//! shim and fio's libaio engine, alternating; see bench/README.md). The
//! script prints the goals table on stdout and writes the full one to
//! `bench/results/latest.md`; its exit status is ours.
//!
//! This file owns only finding the script (`AIO_SHIM_BENCH`, else
//! `../../scripts/bench` relative to the aio-shim executable, i.e. a
//! `target/release/aio-shim` in a checkout) and making path arguments
//! absolute, since the script changes to the repository root.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::error;
use crate::preload::{self, EXIT_CANNOT_RUN, EXIT_NOT_FOUND, EXIT_OWN_FAILURE};

pub const USAGE: &str = "\
Usage: aio-shim bench [ARGS...]

Run the project's benchmark in its quick form: scripts/bench --quick ARGS...
(fio with glibc's POSIX AIO, with the shim and with fio's own libaio engine,
alternating, about a minute). The goals table is printed on stdout; the full
results go to bench/results/latest.md in the source tree.

The script is taken from AIO_SHIM_BENCH if set, else from ../../scripts/bench
relative to the aio-shim executable (a target/release/aio-shim built in a
checkout of the source). An installed aio-shim needs AIO_SHIM_BENCH.

ARGS are passed to the script; relative paths given to --dir, --shim and
--out are made absolute first (the script runs from the repository root):
  --dir DIR        where the test file lives (must support O_DIRECT)
  --runs N         repetitions of every point (quick default 1)
  --only PATTERN   run only the items matching PATTERN, e.g. 'qd32'
  --shim PATH      benchmark this libaio_shim.so (implies --no-build)
  --no-build       do not run `cargo build --release` first
See scripts/bench --help (or bench/README.md) for all of them.

Exit status: the script's (0 every run completed, 1 a run failed, 2 usage
error or unusable directory); 125 if the script cannot be found, 126 if it
cannot be run.
";

const SUB: Option<&str> = Some("bench");

/// Options of scripts/bench whose value is a path.
const PATH_OPTIONS: &[&str] = &["--dir", "--shim", "--out"];

/// Where the script is: `AIO_SHIM_BENCH` (which must exist), else
/// `../../scripts/bench` relative to the executable's directory.
pub fn locate(env: Option<&OsStr>, exe: Option<&Path>) -> Result<PathBuf, String> {
    if let Some(p) = env.filter(|p| !p.is_empty()) {
        let p = Path::new(p);
        return if p.is_file() {
            Ok(preload::absolute(p))
        } else {
            Err(format!("AIO_SHIM_BENCH={} is not a file", p.display()))
        };
    }
    let Some(exe) = exe else {
        return Err(
            "cannot find scripts/bench: the location of aio-shim is unknown; set AIO_SHIM_BENCH to the script in a checkout of the source".into(),
        );
    };
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let cand = dir.join("../../scripts/bench");
    if cand.is_file() {
        return Ok(preload::absolute(&cand));
    }
    Err(format!(
        "cannot find scripts/bench (tried {}): it lives in the source tree, not in an installation; set AIO_SHIM_BENCH=/path/to/checkout/scripts/bench",
        cand.display()
    ))
}

/// ARGS with the values of `--dir`, `--shim` and `--out` made absolute
/// (relative to `cwd`). Everything else is passed through untouched.
pub fn absolutize(args: &[OsString], cwd: &Path) -> Vec<OsString> {
    let abs = |v: &OsStr| -> OsString {
        if v.is_empty() || v.as_bytes().starts_with(b"/") {
            v.to_os_string()
        } else {
            cwd.join(v).into_os_string()
        }
    };
    let mut out = Vec::with_capacity(args.len());
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        let s = a.as_bytes();
        if PATH_OPTIONS.iter().any(|o| s == o.as_bytes()) && i + 1 < args.len() {
            out.push(a.clone());
            out.push(abs(&args[i + 1]));
            i += 2;
            continue;
        }
        if let Some(o) = PATH_OPTIONS
            .iter()
            .find(|o| s.len() > o.len() && s.starts_with(o.as_bytes()) && s[o.len()] == b'=')
        {
            let mut v = OsString::from(format!("{o}="));
            v.push(abs(OsStr::from_bytes(&s[o.len() + 1..])));
            out.push(v);
        } else {
            out.push(a.clone());
        }
        i += 1;
    }
    out
}

pub fn main(args: &[OsString]) -> i32 {
    // Our own help when asked alone; `--help` among other arguments goes to
    // the script.
    if args.len() == 1 && matches!(args[0].to_str(), Some("-h" | "--help")) {
        print!("{USAGE}");
        return 0;
    }
    let env = std::env::var_os("AIO_SHIM_BENCH");
    let exe = std::env::current_exe().ok();
    let script = match locate(env.as_deref(), exe.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            error(SUB, &e);
            return EXIT_OWN_FAILURE;
        }
    };
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            error(
                SUB,
                &format!("cannot get the current directory: {}", preload::errstr(&e)),
            );
            return EXIT_OWN_FAILURE;
        }
    };
    let mut c = Command::new(&script);
    c.arg("--quick").args(absolutize(args, &cwd));
    let e = c.exec(); // returns only on failure
    error(
        SUB,
        &format!("cannot run {}: {}", script.display(), preload::errstr(&e)),
    );
    if e.kind() == std::io::ErrorKind::NotFound {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_RUN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn paths_made_absolute() {
        let cwd = Path::new("/home/u/x");
        assert_eq!(
            absolutize(
                &v(&[
                    "--dir",
                    "work",
                    "--runs",
                    "3",
                    "--shim=lib/s.so",
                    "--only",
                    "qd32",
                    "--out=/abs",
                    "--dir"
                ]),
                cwd
            ),
            v(&[
                "--dir",
                "/home/u/x/work",
                "--runs",
                "3",
                "--shim=/home/u/x/lib/s.so",
                "--only",
                "qd32",
                "--out=/abs",
                "--dir"
            ])
        );
        // Not a path option, or a value that only looks like one: untouched.
        assert_eq!(
            absolutize(&v(&["--only", "dir", "--directory=x", "--no-build"]), cwd),
            v(&["--only", "dir", "--directory=x", "--no-build"])
        );
    }

    #[test]
    fn locate_script() {
        let dir = std::env::temp_dir().join(format!("aio-shim-test-bench-{}", std::process::id()));
        let rel = dir.join("target/release");
        std::fs::create_dir_all(&rel).unwrap();
        std::fs::create_dir_all(dir.join("scripts")).unwrap();
        let exe = rel.join("aio-shim");
        let e = locate(None, Some(&exe)).unwrap_err();
        assert!(
            e.contains("scripts/bench") && e.contains("AIO_SHIM_BENCH"),
            "{e}"
        );
        std::fs::write(dir.join("scripts/bench"), b"#!/bin/sh\n").unwrap();
        let p = locate(None, Some(&exe)).unwrap();
        assert_eq!(p, std::fs::canonicalize(dir.join("scripts/bench")).unwrap());
        // The environment wins; a wrong value is an error, not a fallback.
        assert!(locate(Some(OsStr::new("/nonexistent/bench")), Some(&exe)).is_err());
        let p = locate(Some(dir.join("scripts/bench").as_os_str()), None).unwrap();
        assert!(p.ends_with("scripts/bench"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
