//! `aio-shim [OPTIONS] [--] CMD ARGS...`: run CMD with libaio_shim.so
//! preloaded. CMD replaces aio-shim (exec), so its exit status, signals and
//! process id are its own.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::cli::{self, error, long_value, one_of};
use crate::elf::{self, ExecKind};
use crate::preload::{self, Refusal, Resolved, EXIT_CANNOT_RUN, EXIT_NOT_FOUND, EXIT_OWN_FAILURE};

pub const USAGE: &str = "\
Usage: aio-shim [OPTIONS] [--] CMD [ARGS...]
       aio-shim ab [--runs N] [--lib PATH] [--quiet] [--] CMD [ARGS...]
       aio-shim doctor [--dir DIR] [--file PATH] [--lib PATH] [BINARY]
       aio-shim bench [ARGS...]

Run CMD with libaio_shim.so preloaded, so that its POSIX AIO calls (aio_read,
aio_write, lio_listio, ...) are served by native kernel AIO instead of glibc's
helper threads. CMD is executed in place of aio-shim: its exit status is
aio-shim's.

Options:
  --backend auto|kaio|uring|pool
                     force a backend (sets AIO_SHIM_BACKEND; default auto)
  --stats[=PATH]     report the shim's counters at exit, on stderr or appended
                     to PATH as one JSON line per process (sets AIO_SHIM_STATS)
  --direct           sets AIO_SHIM_DIRECT=1
  --log off|warn|debug
                     the shim's diagnostics on stderr (sets AIO_SHIM_LOG)
  --lib PATH         use this libaio_shim.so (default: AIO_SHIM_LIB, else next
                     to aio-shim, else ../lib/aio-shim/ relative to it)
  -h, --help         show this help
  --version          show the version

Subcommands:
  ab        run CMD N times with glibc and N times with the shim, alternating,
            and compare exit status and stdout (see 'aio-shim ab --help')
  doctor    check kernel AIO, io_uring, O_DIRECT in a directory, the backend
            a file would get, and whether a program can be preloaded and
            what it imports (see 'aio-shim doctor --help')
  bench     run the source tree's scripts/bench --quick ARGS... (see
            'aio-shim bench --help')
To run a program that is itself called 'ab', 'doctor' or 'bench', put '--'
before it.

aio-shim refuses statically linked, set-user-ID/set-group-ID and
file-capability programs: the dynamic linker would not preload into them.

Exit status: CMD's own; 125 if aio-shim itself fails (bad option, library
not found), 126 if CMD is found but cannot be run or is refused, 127 if CMD
is not found.
";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct RunOptions {
    pub backend: Option<String>,
    /// `1` (report on stderr) or an absolute path.
    pub stats: Option<OsString>,
    pub direct: bool,
    pub log: Option<String>,
    pub lib: Option<OsString>,
    pub cmd: Vec<OsString>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    Run(RunOptions),
    Help,
    Version,
}

/// Parses the options before CMD. Option parsing stops at `--` or at the
/// first argument that does not start with `-` (like `env` and `nice`), so
/// CMD's own options are never looked at.
pub fn parse(args: &[OsString]) -> Result<Parsed, String> {
    let mut o = RunOptions::default();
    let mut i = 0;
    while i < args.len() {
        let raw = &args[i];
        let Some(a) = raw.to_str() else { break };
        if a == "--" {
            i += 1;
            break;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        if let Some(v) = long_value("--backend", args, &mut i) {
            o.backend = Some(one_of("--backend", &v?, cli::BACKENDS)?);
        } else if let Some(v) = long_value("--log", args, &mut i) {
            o.log = Some(one_of("--log", &v?, cli::LOG_LEVELS)?);
        } else if let Some(v) = long_value("--lib", args, &mut i) {
            let v = v?;
            if v.is_empty() {
                return Err("option '--lib' requires a non-empty path".into());
            }
            o.lib = Some(v);
        } else if a == "--stats" {
            o.stats = Some("1".into());
        } else if let Some(p) = a.strip_prefix("--stats=") {
            if p.is_empty() {
                return Err("option '--stats=PATH' requires a non-empty path".into());
            }
            // The library opens the path in CMD's process, which may change
            // directory first: make it absolute now.
            o.stats = Some(if p == "1" || p.starts_with('/') {
                p.into()
            } else {
                std::env::current_dir()
                    .map_err(|e| e.to_string())?
                    .join(p)
                    .into_os_string()
            });
        } else if a == "--direct" {
            o.direct = true;
        } else if a == "-h" || a == "--help" {
            return Ok(Parsed::Help);
        } else if a == "--version" {
            return Ok(Parsed::Version);
        } else {
            return Err(format!("unrecognized option '{a}'"));
        }
        i += 1;
    }
    o.cmd = args[i..].to_vec();
    if o.cmd.is_empty() {
        return Err("no command given".into());
    }
    Ok(Parsed::Run(o))
}

/// The environment changes the options make (besides `LD_PRELOAD`).
pub fn shim_env(o: &RunOptions) -> Vec<(&'static str, OsString)> {
    let mut env = Vec::new();
    if let Some(b) = &o.backend {
        env.push(("AIO_SHIM_BACKEND", OsString::from(b)));
    }
    if let Some(s) = &o.stats {
        env.push(("AIO_SHIM_STATS", s.clone()));
    }
    if o.direct {
        env.push(("AIO_SHIM_DIRECT", OsString::from("1")));
    }
    if let Some(l) = &o.log {
        env.push(("AIO_SHIM_LOG", OsString::from(l)));
    }
    env
}

/// The library to preload, checked: found, preloadable path, an ELF shared object.
pub fn library(opt: Option<&OsStr>) -> Result<(std::path::PathBuf, elf::ElfInfo), String> {
    let (lib, _) = preload::locate_library_here(opt)?;
    preload::check_preloadable_path(&lib)?;
    preload::check_engine(&lib)?;
    match elf::inspect_exec(&lib) {
        Ok(ExecKind::Elf(info)) => Ok((lib, info)),
        Ok(_) => Err(format!("{} is not an ELF shared object", lib.display())),
        Err(e) => Err(format!("cannot read {}: {e}", lib.display())),
    }
}

/// Resolves CMD and runs the refusal checks, mapping failures to exit
/// statuses: `Err((status, message))`.
pub fn resolve_and_check(
    cmd: &OsStr,
    lib: Option<&elf::ElfInfo>,
) -> Result<std::path::PathBuf, (i32, String)> {
    let shown = cmd.to_string_lossy();
    let prog = match preload::resolve_command(cmd, std::env::var_os("PATH").as_deref()) {
        Resolved::Found(p) => p,
        Resolved::NotExecutable(p, why) => {
            return Err((
                EXIT_CANNOT_RUN,
                format!("cannot run {}: {why}", p.display()),
            ));
        }
        Resolved::NotFound => {
            return Err((EXIT_NOT_FOUND, format!("{shown}: command not found")));
        }
    };
    match preload::preflight(&prog, lib) {
        Ok(()) => {}
        // An execute-only program cannot be inspected but runs fine.
        Err(Refusal::Unreadable(e)) => {
            error(
                None,
                &format!(
                    "warning: cannot inspect {} ({e}); running it anyway",
                    prog.display()
                ),
            );
        }
        Err(r) => return Err((EXIT_CANNOT_RUN, r.message(&prog))),
    }
    Ok(prog)
}

pub fn main(args: &[OsString]) -> i32 {
    let o = match parse(args) {
        Ok(Parsed::Run(o)) => o,
        Ok(Parsed::Help) => {
            print!("{USAGE}");
            return 0;
        }
        Ok(Parsed::Version) => {
            println!("aio-shim {}", env!("CARGO_PKG_VERSION"));
            return 0;
        }
        Err(e) => {
            error(None, &e);
            eprintln!("Try 'aio-shim --help' for more information.");
            return EXIT_OWN_FAILURE;
        }
    };
    let (lib, lib_info) = match library(o.lib.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            error(None, &e);
            return EXIT_OWN_FAILURE;
        }
    };
    let prog = match resolve_and_check(&o.cmd[0], Some(&lib_info)) {
        Ok(p) => p,
        Err((code, msg)) => {
            error(None, &msg);
            return code;
        }
    };
    exec(&prog, &o, &lib)
}

fn exec(prog: &Path, o: &RunOptions, lib: &Path) -> i32 {
    let mut c = Command::new(prog);
    c.arg0(&o.cmd[0]).args(&o.cmd[1..]);
    c.env(
        "LD_PRELOAD",
        preload::prepend_preload(std::env::var_os("LD_PRELOAD").as_deref(), lib),
    );
    for (k, v) in shim_env(o) {
        c.env(k, v);
    }
    let e = c.exec(); // returns only on failure
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_RUN
    };
    error(
        None,
        &format!("cannot run {}: {}", prog.display(), preload::errstr(&e)),
    );
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<OsString> {
        a.iter().map(OsString::from).collect()
    }

    fn run(a: &[&str]) -> RunOptions {
        match parse(&v(a)).unwrap() {
            Parsed::Run(o) => o,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn plain_command() {
        let o = run(&["fio", "--ioengine=posixaio"]);
        assert_eq!(o.cmd, v(&["fio", "--ioengine=posixaio"]));
        assert_eq!(
            o,
            RunOptions {
                cmd: o.cmd.clone(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn all_options() {
        let o = run(&[
            "--backend",
            "kaio",
            "--stats=/tmp/s.json",
            "--direct",
            "--log=debug",
            "--lib",
            "/x/libaio_shim.so",
            "--",
            "--weird-cmd",
            "-x",
        ]);
        assert_eq!(o.backend.as_deref(), Some("kaio"));
        assert_eq!(o.stats, Some("/tmp/s.json".into()));
        assert!(o.direct);
        assert_eq!(o.log.as_deref(), Some("debug"));
        assert_eq!(o.lib, Some("/x/libaio_shim.so".into()));
        assert_eq!(o.cmd, v(&["--weird-cmd", "-x"]));
        let env = shim_env(&o);
        assert_eq!(
            env,
            vec![
                ("AIO_SHIM_BACKEND", "kaio".into()),
                ("AIO_SHIM_STATS", "/tmp/s.json".into()),
                ("AIO_SHIM_DIRECT", "1".into()),
                ("AIO_SHIM_LOG", "debug".into()),
            ]
        );
    }

    #[test]
    fn stats_forms() {
        assert_eq!(run(&["--stats", "x"]).stats, Some("1".into()));
        assert_eq!(run(&["--stats", "x"]).cmd, v(&["x"])); // --stats takes no separate value
        let rel = run(&["--stats=out.jsonl", "x"]).stats.unwrap();
        assert!(Path::new(&rel).is_absolute() && rel.to_str().unwrap().ends_with("/out.jsonl"));
        assert!(parse(&v(&["--stats=", "x"])).is_err());
    }

    #[test]
    fn options_stop_at_cmd() {
        let o = run(&["--direct", "ls", "--backend", "bogus"]);
        assert!(o.direct);
        assert_eq!(o.cmd, v(&["ls", "--backend", "bogus"]));
        assert_eq!(run(&["--", "ab"]).cmd, v(&["ab"]));
    }

    #[test]
    fn errors() {
        assert!(parse(&v(&[])).is_err());
        assert!(parse(&v(&["--direct"])).is_err());
        assert!(parse(&v(&["--backend", "bogus", "ls"]))
            .unwrap_err()
            .contains("bogus"));
        assert!(parse(&v(&["--backend"])).is_err());
        assert!(parse(&v(&["--log=loud", "ls"])).is_err());
        assert!(parse(&v(&["--frobnicate", "ls"]))
            .unwrap_err()
            .contains("--frobnicate"));
        assert!(parse(&v(&["--lib=", "ls"])).is_err());
    }

    #[test]
    fn help_and_version() {
        assert_eq!(parse(&v(&["-h"])).unwrap(), Parsed::Help);
        assert_eq!(parse(&v(&["--help", "ls"])).unwrap(), Parsed::Help);
        assert_eq!(parse(&v(&["--version"])).unwrap(), Parsed::Version);
        // After CMD, --help belongs to CMD.
        assert!(matches!(
            parse(&v(&["ls", "--help"])).unwrap(),
            Parsed::Run(_)
        ));
    }
}
