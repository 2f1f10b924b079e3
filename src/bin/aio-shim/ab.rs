//! `aio-shim ab [--runs N] [--lib PATH] [--quiet] [--] CMD ARGS...`: an A/B
//! test of the shim against glibc on one command. CMD runs N times with
//! glibc's POSIX AIO and N times with the shim, alternating (glibc, shim,
//! glibc, shim, ...) so that drifts in machine load hit both sides alike.
//! Exit status and stdout must be identical across all runs.
//!
//! Exit status: 0 same behaviour and the shim served POSIX AIO calls; 1
//! behaviour differs; 2 aio-shim ab's own error, or glibc's own runs disagree
//! (nondeterministic output: nothing can be compared); 3 same behaviour but
//! nothing proven (the shim was not loaded, or CMD made no POSIX AIO calls).

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::cli::{self, long_value, one_of, shell_words};
use crate::preload;
use crate::run;
use crate::stats::{self, Summary};

pub const USAGE: &str = "\
Usage: aio-shim ab [OPTIONS] [--] CMD [ARGS...]

Run CMD N times with glibc's POSIX AIO and N times with libaio_shim.so,
alternating, and check that exit status and stdout are identical in every
run. CMD's stdin is /dev/null; its stdout and stderr are captured. The stdout
of the first glibc run is shown once at the end (unless --quiet), then a
report on stderr: same or different, median wall time of each side, the
speedup (glibc median / shim median), and the shim's counters (from
AIO_SHIM_STATS) summed over the processes of each run.

Options:
  --runs N           runs per side (default 3)
  --lib PATH         the libaio_shim.so to test (default as for 'aio-shim')
  --backend auto|kaio|uring|pool
                     force a backend for the shim runs (AIO_SHIM_BACKEND)
  --direct           sets AIO_SHIM_DIRECT=1 for the shim runs
  -q, --quiet        do not show CMD's stdout
  -h, --help         show this help

Exit status:
  0  same behaviour, and the shim served POSIX AIO calls
  1  behaviour differs (the first differing stdout line or the exit statuses
     are shown)
  2  aio-shim ab's own error, or glibc's runs differ among themselves
     (nondeterministic output: nothing can be compared)
  3  same behaviour but nothing proven: the shim was not loaded, or CMD made
     no POSIX AIO calls
";

const SUB: Option<&str> = Some("ab");
const EXIT_SAME: i32 = 0;
const EXIT_DIFFERENT: i32 = 1;
const EXIT_ERROR: i32 = 2;
const EXIT_UNPROVEN: i32 = 3;

#[derive(Debug, PartialEq, Eq)]
pub struct AbOptions {
    pub runs: usize,
    pub lib: Option<OsString>,
    pub quiet: bool,
    pub backend: Option<String>,
    pub direct: bool,
    pub cmd: Vec<OsString>,
}

impl Default for AbOptions {
    fn default() -> Self {
        AbOptions {
            runs: 3,
            lib: None,
            quiet: false,
            backend: None,
            direct: false,
            cmd: Vec::new(),
        }
    }
}

/// `Ok(None)` means help was asked for.
pub fn parse(args: &[OsString]) -> Result<Option<AbOptions>, String> {
    let mut o = AbOptions::default();
    let mut i = 0;
    while i < args.len() {
        let Some(a) = args[i].to_str() else { break };
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(v) = long_value("--runs", args, &mut i) {
            let v = v?;
            o.runs = v
                .to_str()
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&n| (1..=1000).contains(&n))
                .ok_or_else(|| {
                    format!(
                        "invalid value '{}' for --runs (expected 1 to 1000)",
                        v.to_string_lossy()
                    )
                })?;
        } else if let Some(v) = long_value("--lib", args, &mut i) {
            o.lib = Some(v?).filter(|p| !p.is_empty());
            if o.lib.is_none() {
                return Err("option '--lib' requires a non-empty path".into());
            }
        } else if let Some(v) = long_value("--backend", args, &mut i) {
            o.backend = Some(one_of("--backend", &v?, cli::BACKENDS)?);
        } else if a == "--direct" {
            o.direct = true;
        } else if a == "-q" || a == "--quiet" {
            o.quiet = true;
        } else if a == "-h" || a == "--help" {
            return Ok(None);
        } else {
            return Err(format!("unrecognized option '{a}'"));
        }
        i += 1;
    }
    o.cmd = args[i..].to_vec();
    if o.cmd.is_empty() {
        return Err("no command given".into());
    }
    Ok(Some(o))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Glibc,
    Shim,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Glibc => "glibc",
            Side::Shim => "shim",
        }
    }
}

struct RunResult {
    side: Side,
    /// 1-based within its side.
    index: usize,
    status: ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    elapsed: Duration,
    /// Shim runs only: the stats file's content, `None` if never written.
    stats: Option<String>,
}

impl RunResult {
    fn label(&self) -> String {
        format!("{} run {}", self.side.name(), self.index)
    }
}

pub fn status_text(s: &ExitStatus) -> String {
    if let Some(c) = s.code() {
        return format!("exit {c}");
    }
    if let Some(sig) = s.signal() {
        // SAFETY: strsignal returns a valid string for any number.
        let name = unsafe { std::ffi::CStr::from_ptr(libc::strsignal(sig)) }
            .to_string_lossy()
            .into_owned();
        let core = if s.core_dumped() { ", core dumped" } else { "" };
        return format!("killed by signal {sig} ({name}{core})");
    }
    format!("{s}")
}

/// Milliseconds below 0.1 s (judged on `scale`, so that numbers shown side
/// by side share a unit), seconds above.
fn secs(d: Duration, scale: Duration) -> String {
    let s = d.as_secs_f64();
    if scale.as_secs_f64() < 0.1 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.3} s")
    }
}

pub fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    let n = v.len();
    if n == 0 {
        Duration::ZERO
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    }
}

fn show_line(b: &[u8]) -> String {
    let s = String::from_utf8_lossy(b);
    let s = s.strip_suffix('\r').unwrap_or(&s);
    if s.chars().count() > 200 {
        format!("{}...", s.chars().take(200).collect::<String>())
    } else {
        s.to_string()
    }
}

/// The first differing line: its 1-based number and the line on each side
/// (`None` for a side whose output has ended).
pub type LineDiff<'a> = (usize, Option<&'a [u8]>, Option<&'a [u8]>);

/// Where two outputs first differ; `None` if they are identical.
pub fn first_difference<'a>(a: &'a [u8], b: &'a [u8]) -> Option<LineDiff<'a>> {
    if a == b {
        return None;
    }
    let mut la = a.split_inclusive(|&c| c == b'\n');
    let mut lb = b.split_inclusive(|&c| c == b'\n');
    let mut n = 0;
    loop {
        n += 1;
        let (x, y) = (la.next(), lb.next());
        if x != y {
            let trim = |l: &'a [u8]| l.strip_suffix(b"\n").unwrap_or(l);
            return Some((n, x.map(trim), y.map(trim)));
        }
        x?; // both ended: unreachable since a != b
    }
}

/// Human-readable lines explaining how `b` differs from `a` (empty if they
/// agree in exit status and stdout).
fn describe_difference(a: &RunResult, b: &RunResult) -> Vec<String> {
    let mut out = Vec::new();
    if a.status != b.status {
        out.push(format!(
            "exit status differs: {} {}, {} {}",
            a.label(),
            status_text(&a.status),
            b.label(),
            status_text(&b.status)
        ));
    }
    if let Some((n, x, y)) = first_difference(&a.stdout, &b.stdout) {
        let show = |l: Option<&[u8]>| match l {
            Some(l) => format!("{:?}", show_line(l)),
            None => "(end of output)".to_string(),
        };
        out.push(format!("stdout differs at line {n}:"));
        out.push(format!("  {:<12} {}", format!("{}:", a.label()), show(x)));
        out.push(format!("  {:<12} {}", format!("{}:", b.label()), show(y)));
        if x.is_some() && y.is_some() && a.stdout.len() != b.stdout.len() {
            out.push(format!(
                "  ({} bytes vs {} bytes in all)",
                a.stdout.len(),
                b.stdout.len()
            ));
        }
    }
    out
}

fn stderr_tail(r: &RunResult, lines: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(&r.stderr);
    let all: Vec<&str> = text.lines().collect();
    let start = all.len().saturating_sub(lines);
    all[start..]
        .iter()
        .map(|l| format!("  | {}", show_line(l.as_bytes())))
        .collect()
}

/// A line from `ld.so` saying it skipped the library, if any.
fn preload_failure(r: &RunResult) -> Option<String> {
    String::from_utf8_lossy(&r.stderr)
        .lines()
        .find(|l| {
            l.contains("cannot be preloaded") || (l.contains("ld.so") && l.contains("LD_PRELOAD"))
        })
        .map(|l| l.trim().to_string())
}

/// One counter across runs: `512` when every run agrees, else `1549/1549/1614`.
fn across(values: &[i64]) -> String {
    if values.windows(2).all(|w| w[0] == w[1]) {
        values.first().map(|v| v.to_string()).unwrap_or_default()
    } else {
        values
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("/")
    }
}

/// The report lines for the shim's counters: each run's counters summed
/// over its processes, one value per counter when the runs agree.
pub fn stats_lines(runs: &[(usize, &Summary)]) -> Vec<String> {
    if runs.is_empty() {
        return Vec::new();
    }
    let mut keys: Vec<&str> = Vec::new();
    for (_, s) in runs {
        for (k, _) in &s.fields {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
    }
    let values =
        |k: &str| -> Vec<i64> { runs.iter().map(|(_, s)| s.get(k).unwrap_or(0)).collect() };
    let group = |names: &[&str]| -> Vec<String> {
        names
            .iter()
            .filter(|k| keys.contains(k))
            .map(|k| format!("{k} {}", across(&values(k))))
            .collect()
    };
    const MAIN: &[&str] = &["calls", "submitted", "completed", "cancelled", "errors"];
    const BACKENDS: &[&str] = &["kaio", "nowait", "uring", "pool", "immediate"];

    let procs: Vec<i64> = runs.iter().map(|(_, s)| s.processes as i64).collect();
    let which = if runs.len() == 1 {
        format!("shim run {}", runs[0].0)
    } else {
        let idx: Vec<String> = runs.iter().map(|(i, _)| i.to_string()).collect();
        format!("shim runs {}; a/b/c = one value per run", idx.join("/"))
    };
    let plural = if procs.iter().all(|&p| p == 1) {
        "process"
    } else {
        "processes"
    };
    let mut out = vec![format!(
        "shim stats ({which}; summed over {} {plural} per run):",
        across(&procs)
    )];
    let main = group(MAIN);
    if !main.is_empty() {
        out.push(format!("  {}", main.join(", ")));
    }
    let backends = group(BACKENDS);
    if !backends.is_empty() {
        out.push(format!("  requests by backend: {}", backends.join(", ")));
    }
    let others: Vec<&str> = keys
        .iter()
        .copied()
        .filter(|k| !MAIN.contains(k) && !BACKENDS.contains(k) && values(k).iter().any(|&v| v != 0))
        .collect();
    if !others.is_empty() {
        out.push(format!(
            "  other counters (nonzero): {}",
            group(&others).join(", ")
        ));
    }
    let malformed: usize = runs.iter().map(|(_, s)| s.malformed).sum();
    if malformed > 0 {
        out.push(format!(
            "  ({malformed} unreadable lines in the stats files were ignored)"
        ));
    }
    out
}

struct Runner<'a> {
    prog: PathBuf,
    opts: &'a AbOptions,
    lib: PathBuf,
    stats_dir: PathBuf,
}

impl Runner<'_> {
    fn run(&self, side: Side, index: usize) -> Result<RunResult, String> {
        let o = self.opts;
        let mut c = Command::new(&self.prog);
        c.arg0(&o.cmd[0]).args(&o.cmd[1..]);
        c.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let old_preload = std::env::var_os("LD_PRELOAD");
        let mut stats_path = None;
        match side {
            Side::Glibc => {
                // The baseline must not carry the shim, even if the caller's
                // environment already preloads it.
                match preload::remove_from_preload(old_preload.as_deref(), &self.lib) {
                    Some(v) => c.env("LD_PRELOAD", v),
                    None => c.env_remove("LD_PRELOAD"),
                };
                c.env_remove("AIO_SHIM_STATS");
            }
            Side::Shim => {
                c.env(
                    "LD_PRELOAD",
                    preload::prepend_preload(old_preload.as_deref(), &self.lib),
                );
                let p = self.stats_dir.join(format!("shim-run-{index}.jsonl"));
                c.env("AIO_SHIM_STATS", &p);
                if let Some(b) = &o.backend {
                    c.env("AIO_SHIM_BACKEND", b);
                }
                if o.direct {
                    c.env("AIO_SHIM_DIRECT", "1");
                }
                stats_path = Some(p);
            }
        }
        let start = Instant::now();
        let out = c.output().map_err(|e| {
            format!(
                "cannot run {}: {}",
                self.prog.display(),
                preload::errstr(&e)
            )
        })?;
        let elapsed = start.elapsed();
        let stats = stats_path
            .and_then(|p| std::fs::read(p).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        let stats = stats.filter(|s| !s.trim().is_empty());
        Ok(RunResult {
            side,
            index,
            status: out.status,
            stdout: out.stdout,
            stderr: out.stderr,
            elapsed,
            stats,
        })
    }
}

fn make_stats_dir() -> Result<PathBuf, String> {
    let base = std::env::temp_dir();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    for attempt in 0..100u32 {
        let d = base.join(format!(
            "aio-shim-ab.{}.{:x}",
            std::process::id(),
            nanos.wrapping_add(attempt)
        ));
        match std::fs::DirBuilder::new().mode(0o700).create(&d) {
            Ok(()) => return Ok(d),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "cannot create a directory in {}: {}",
                    base.display(),
                    preload::errstr(&e)
                ))
            }
        }
    }
    Err(format!(
        "cannot create a unique directory in {}",
        base.display()
    ))
}

/// Removes the stats directory when dropped, whatever path `main` takes.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn say(msg: &str) {
    cli::error(SUB, msg);
}

pub fn main(args: &[OsString]) -> i32 {
    let o = match parse(args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{USAGE}");
            return 0;
        }
        Err(e) => {
            say(&e);
            eprintln!("Try 'aio-shim ab --help' for more information.");
            return EXIT_ERROR;
        }
    };
    let (lib, lib_info) = match run::library(o.lib.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            say(&e);
            return EXIT_ERROR;
        }
    };
    let prog = match run::resolve_and_check(&o.cmd[0], Some(&lib_info)) {
        Ok(p) => p,
        Err((_, msg)) => {
            say(&msg);
            return EXIT_ERROR;
        }
    };
    let stats_dir = match make_stats_dir() {
        Ok(d) => TempDir(d),
        Err(e) => {
            say(&e);
            return EXIT_ERROR;
        }
    };
    let runner = Runner {
        prog,
        opts: &o,
        lib: lib.clone(),
        stats_dir: stats_dir.0.clone(),
    };

    say(&format!(
        "{} ({} run{} per side, alternating; library {})",
        shell_words(&o.cmd),
        o.runs,
        if o.runs == 1 { "" } else { "s" },
        lib.display()
    ));
    let mut glibc = Vec::new();
    let mut shim = Vec::new();
    let mut scale: Option<Duration> = None; // the first run's time sets the unit
    for i in 1..=o.runs {
        for side in [Side::Glibc, Side::Shim] {
            let r = match runner.run(side, i) {
                Ok(r) => r,
                Err(e) => {
                    say(&e);
                    return EXIT_ERROR;
                }
            };
            say(&format!(
                "{:<5} run {i}/{}: {:>10}, {}",
                side.name(),
                o.runs,
                secs(r.elapsed, *scale.get_or_insert(r.elapsed)),
                status_text(&r.status)
            ));
            match side {
                Side::Glibc => glibc.push(r),
                Side::Shim => shim.push(r),
            }
        }
    }
    let code = report(&o, &glibc, &shim);
    drop(stats_dir);
    code
}

fn report(o: &AbOptions, glibc: &[RunResult], shim: &[RunResult]) -> i32 {
    let g0 = &glibc[0];
    if !o.quiet && !g0.stdout.is_empty() {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(&g0.stdout);
        let _ = out.flush();
    }

    let mut lines: Vec<String> = Vec::new();
    let mut code = EXIT_SAME;

    // 1. glibc against itself: if the program is not deterministic, nothing can be compared.
    if let Some(bad) = glibc[1..]
        .iter()
        .find(|r| !describe_difference(g0, r).is_empty())
    {
        lines.push("result: CANNOT COMPARE: glibc's own runs differ (nondeterministic exit status or stdout)".into());
        lines.extend(
            describe_difference(g0, bad)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        code = EXIT_ERROR;
    } else if let Some(bad) = shim.iter().find(|r| !describe_difference(g0, r).is_empty()) {
        // 2. every shim run against glibc.
        let differing = shim
            .iter()
            .filter(|r| !describe_difference(g0, r).is_empty())
            .count();
        lines.push(format!(
            "result: DIFFERENT: {differing} of {} shim runs differ from glibc in exit status or stdout",
            shim.len()
        ));
        lines.extend(
            describe_difference(g0, bad)
                .into_iter()
                .map(|l| format!("  {l}")),
        );
        if g0.status != bad.status || !bad.status.success() {
            for r in [g0, bad] {
                let tail = stderr_tail(r, 8);
                if !tail.is_empty() {
                    lines.push(format!("  stderr of {} (last lines):", r.label()));
                    lines.extend(tail);
                }
            }
        }
        code = EXIT_DIFFERENT;
    } else {
        let nlines = g0.stdout.split_inclusive(|&c| c == b'\n').count();
        lines.push(format!(
            "result: SAME: {} in all {} runs, identical stdout ({} line{}, {} bytes)",
            status_text(&g0.status),
            glibc.len() + shim.len(),
            nlines,
            if nlines == 1 { "" } else { "s" },
            g0.stdout.len()
        ));
        if let Some(r) = shim.iter().find(|r| r.stderr != g0.stderr) {
            lines.push(format!(
                "  note: stderr of {} differs from glibc run 1 (stderr is not compared)",
                r.label()
            ));
        }
    }

    // Timing.
    let gm = median(&glibc.iter().map(|r| r.elapsed).collect::<Vec<_>>());
    let sm = median(&shim.iter().map(|r| r.elapsed).collect::<Vec<_>>());
    let speedup = if sm.as_secs_f64() > 0.0 {
        gm.as_secs_f64() / sm.as_secs_f64()
    } else {
        f64::NAN
    };
    lines.push(format!(
        "wall time (median of {}): glibc {}, shim {}, speedup {:.2}x (glibc/shim)",
        o.runs,
        secs(gm, gm.max(sm)),
        secs(sm, gm.max(sm)),
        speedup
    ));

    // The shim's own account.
    let summaries: Vec<Option<Summary>> = shim
        .iter()
        .map(|r| r.stats.as_deref().map(stats::summarize))
        .collect();
    let unwritten: Vec<usize> = shim
        .iter()
        .zip(&summaries)
        .filter(|(_, s)| s.is_none())
        .map(|(r, _)| r.index)
        .collect();
    let written: Vec<(usize, &Summary)> = shim
        .iter()
        .zip(&summaries)
        .filter_map(|(r, s)| s.as_ref().map(|s| (r.index, s)))
        .collect();
    lines.extend(stats_lines(&written));
    let total_calls: i64 = summaries.iter().flatten().map(Summary::calls).sum();
    if code == EXIT_SAME {
        if !unwritten.is_empty() {
            let runs: Vec<String> = unwritten.iter().map(|i| i.to_string()).collect();
            lines.push(format!(
                "WARNING: the shim's stats file was never written in shim run(s) {}: the shim was not loaded or CMD made no POSIX AIO calls (or the processes that made them ended with _exit() before reporting); nothing was proven",
                runs.join(", ")
            ));
            if let Some(r) = shim.iter().find(|r| unwritten.contains(&r.index)) {
                if let Some(l) = preload_failure(r) {
                    lines.push(format!("  the dynamic linker said: {l}"));
                }
            }
            code = EXIT_UNPROVEN;
        } else if total_calls == 0 {
            lines.push(
                "WARNING: the shim counted 0 POSIX AIO calls: CMD made no POSIX AIO calls (or they bypassed the shim); nothing was proven"
                    .into(),
            );
            code = EXIT_UNPROVEN;
        }
    }

    for l in lines {
        say(&l);
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    #[test]
    fn parse_defaults() {
        let o = parse(&v(&["--", "legacy_app", "--direct"]))
            .unwrap()
            .unwrap();
        assert_eq!(o.runs, 3);
        assert!(!o.quiet && !o.direct);
        assert_eq!(o.cmd, v(&["legacy_app", "--direct"]));
        // Without "--", the first non-option starts CMD.
        let o = parse(&v(&["--quiet", "echo", "--runs", "9"]))
            .unwrap()
            .unwrap();
        assert!(o.quiet);
        assert_eq!(o.runs, 3);
        assert_eq!(o.cmd, v(&["echo", "--runs", "9"]));
    }

    #[test]
    fn parse_options() {
        let o = parse(&v(&[
            "--runs",
            "5",
            "--lib=/l.so",
            "-q",
            "--backend",
            "pool",
            "--direct",
            "--",
            "x",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(o.runs, 5);
        assert_eq!(o.lib, Some("/l.so".into()));
        assert!(o.quiet && o.direct);
        assert_eq!(o.backend.as_deref(), Some("pool"));
        assert_eq!(parse(&v(&["--runs=1", "x"])).unwrap().unwrap().runs, 1);
        assert_eq!(parse(&v(&["-h"])).unwrap(), None);
    }

    #[test]
    fn parse_errors() {
        assert!(parse(&v(&["--runs", "0", "x"])).is_err());
        assert!(parse(&v(&["--runs", "abc", "x"])).is_err());
        assert!(parse(&v(&["--runs"])).is_err());
        assert!(parse(&v(&["--runs", "2"])).is_err()); // no command
        assert!(parse(&v(&["--"])).is_err());
        assert!(parse(&v(&["--bogus", "x"])).is_err());
        assert!(parse(&v(&["--backend=none", "x"])).is_err());
    }

    #[test]
    fn differences() {
        assert_eq!(first_difference(b"a\nb\n", b"a\nb\n"), None);
        assert_eq!(
            first_difference(b"a\nb\n", b"a\nc\n"),
            Some((2, Some(&b"b"[..]), Some(&b"c"[..])))
        );
        assert_eq!(
            first_difference(b"a\n", b"a\nb\n"),
            Some((2, None, Some(&b"b"[..])))
        );
        // A missing final newline is a difference on that line.
        assert_eq!(
            first_difference(b"a\nb", b"a\nb\n"),
            Some((2, Some(&b"b"[..]), Some(&b"b"[..])))
        );
        assert_eq!(
            first_difference(b"", b"x"),
            Some((1, None, Some(&b"x"[..])))
        );
    }

    #[test]
    fn medians() {
        let d = |ms: u64| Duration::from_millis(ms);
        assert_eq!(median(&[d(3), d(1), d(2)]), d(2));
        assert_eq!(
            median(&[d(4), d(1), d(2), d(3)]),
            Duration::from_micros(2500)
        );
        assert_eq!(median(&[]), Duration::ZERO);
    }

    #[test]
    fn stats_report() {
        let a = stats::summarize(
            r#"{"pid":1,"calls":10,"submitted":4,"kaio":4,"pool":0,"suspend_calls":2,"x":0}"#,
        );
        let b = stats::summarize(
            r#"{"pid":2,"calls":12,"submitted":4,"kaio":4,"pool":0,"suspend_calls":3,"x":0}"#,
        );
        let l = stats_lines(&[(1, &a), (2, &b)]);
        assert_eq!(l[1], "  calls 10/12, submitted 4");
        assert_eq!(l[2], "  requests by backend: kaio 4, pool 0");
        assert_eq!(l[3], "  other counters (nonzero): suspend_calls 2/3");
        assert_eq!(l.len(), 4);
        assert!(l[0].contains("1 process"), "{}", l[0]);
        assert!(stats_lines(&[]).is_empty());
        assert_eq!(across(&[5, 5, 5]), "5");
        assert_eq!(across(&[5, 6]), "5/6");
    }

    #[test]
    fn statuses() {
        assert_eq!(status_text(&ExitStatus::from_raw(0)), "exit 0");
        assert_eq!(status_text(&ExitStatus::from_raw(3 << 8)), "exit 3");
        assert!(status_text(&ExitStatus::from_raw(11)).starts_with("killed by signal 11"));
    }
}
