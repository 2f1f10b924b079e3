//! What every subcommand needs to start a program under the shim: find
//! `libaio_shim.so`, put it at the front of `LD_PRELOAD`, resolve the command
//! through `PATH` like `execvp`, and refuse programs that `ld.so` would not
//! preload into (static, set-user-ID, file capabilities, another machine).

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::elf::{self, ExecKind};

pub const LIB_NAME: &str = "libaio_shim.so";
/// What libaio_shim.so loads at the first AIO call, from its own directory
/// unless `AIO_SHIM_ENGINE` names another file (shim/stub.rs).
pub const ENGINE_NAME: &str = "libaio_shim_engine.so";

/// The engine `lib` will load: `AIO_SHIM_ENGINE`, else its sibling.
pub fn engine_for(lib: &Path) -> PathBuf {
    match std::env::var_os("AIO_SHIM_ENGINE") {
        Some(e) if !e.is_empty() => PathBuf::from(e),
        _ => lib.with_file_name(ENGINE_NAME),
    }
}

/// `Err` when the engine `lib` would load is missing: the program would run
/// on glibc's POSIX AIO.
pub fn check_engine(lib: &Path) -> Result<PathBuf, String> {
    let e = engine_for(lib);
    if e.is_file() {
        Ok(e)
    } else {
        Err(format!(
            "no engine at {}: {} loads {ENGINE_NAME} from its own directory (copy both files, or set AIO_SHIM_ENGINE)",
            e.display(),
            lib.display()
        ))
    }
}

/// Exit statuses, as `env`, `stdbuf` and `nice` use them.
pub const EXIT_OWN_FAILURE: i32 = 125;
pub const EXIT_CANNOT_RUN: i32 = 126;
pub const EXIT_NOT_FOUND: i32 = 127;

/// Where the library was found, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LibSource {
    Option,
    Env,
    NextToExe,
    InstallPrefix,
}

impl LibSource {
    pub fn describe(self) -> &'static str {
        match self {
            LibSource::Option => "from --lib",
            LibSource::Env => "from AIO_SHIM_LIB",
            LibSource::NextToExe => "next to aio-shim",
            LibSource::InstallPrefix => "in ../lib/aio-shim/ next to aio-shim",
        }
    }
}

/// The places searched when neither `--lib` nor `AIO_SHIM_LIB` is given,
/// relative to the directory holding the `aio-shim` executable.
pub fn default_candidates(exe_dir: &Path) -> Vec<(PathBuf, LibSource)> {
    vec![
        (exe_dir.join(LIB_NAME), LibSource::NextToExe),
        (
            exe_dir.join("../lib/aio-shim").join(LIB_NAME),
            LibSource::InstallPrefix,
        ),
    ]
}

/// Finds the library: `--lib` first, then `AIO_SHIM_LIB`, then next to the
/// executable, then in `../lib/aio-shim/`. An explicit path that does not
/// exist is an error (no silent fallback). The result is absolute, so that a
/// program that changes directory before starting a child still finds it.
pub fn locate_library(
    opt: Option<&OsStr>,
    env: Option<&OsStr>,
    exe: Option<&Path>,
) -> Result<(PathBuf, LibSource), String> {
    let explicit = match (opt, env) {
        (Some(p), _) => Some((p, LibSource::Option)),
        (None, Some(p)) if !p.is_empty() => Some((p, LibSource::Env)),
        _ => None,
    };
    if let Some((p, src)) = explicit {
        let p = Path::new(p);
        return match std::fs::metadata(p) {
            Ok(m) if m.is_file() => Ok((absolute(p), src)),
            Ok(_) => Err(format!(
                "{} ({}) is not a regular file",
                p.display(),
                src.describe()
            )),
            Err(e) => Err(format!(
                "cannot use {} ({}): {}",
                p.display(),
                src.describe(),
                errstr(&e)
            )),
        };
    }
    let Some(exe) = exe else {
        return Err(format!(
            "cannot find {LIB_NAME}: the location of aio-shim is unknown; pass --lib PATH or set AIO_SHIM_LIB"
        ));
    };
    let dir = exe.parent().unwrap_or(Path::new("/"));
    let cands = default_candidates(dir);
    for (p, src) in &cands {
        if p.is_file() {
            return Ok((absolute(p), *src));
        }
    }
    let tried: Vec<String> = cands.iter().map(|(p, _)| p.display().to_string()).collect();
    Err(format!(
        "cannot find {LIB_NAME} (tried {}); build it with `cargo build --release`, or pass --lib PATH, or set AIO_SHIM_LIB",
        tried.join(", ")
    ))
}

/// `locate_library` with this process's `AIO_SHIM_LIB` and executable.
pub fn locate_library_here(opt: Option<&OsStr>) -> Result<(PathBuf, LibSource), String> {
    let env = std::env::var_os("AIO_SHIM_LIB");
    let exe = std::env::current_exe().ok();
    locate_library(opt, env.as_deref(), exe.as_deref())
}

/// An absolute, normalized path (symlinks resolved when possible).
pub fn absolute(p: &Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

/// `ld.so` splits `LD_PRELOAD` on spaces and colons, so a path containing
/// either cannot be preloaded.
pub fn check_preloadable_path(lib: &Path) -> Result<(), String> {
    if lib
        .as_os_str()
        .as_bytes()
        .iter()
        .any(|&c| c == b':' || c == b' ' || c == b'\t' || c == b'\n')
    {
        return Err(format!(
            "{} contains a space or a colon and cannot be put in LD_PRELOAD; copy the library elsewhere and pass --lib",
            lib.display()
        ));
    }
    Ok(())
}

fn preload_entries(existing: Option<&OsStr>) -> Vec<&[u8]> {
    existing
        .map(|v| {
            v.as_bytes()
                .split(|&c| c == b':' || c == b' ' || c == b'\t' || c == b'\n')
                .filter(|e| !e.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Is this `LD_PRELOAD` entry a copy of the shim? Either the same path, the
/// same file, or any file called `libaio_shim.so`: two copies of the shim in
/// one process would both interpose and both start threads.
fn is_shim_entry(entry: &[u8], lib: &Path) -> bool {
    let ep = Path::new(OsStr::from_bytes(entry));
    if ep == lib || ep.file_name() == Some(OsStr::new(LIB_NAME)) {
        return true;
    }
    match (std::fs::metadata(ep), std::fs::metadata(lib)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// The new `LD_PRELOAD`: the shim first, then every other entry that was
/// there, in order, without any other copy of the shim.
pub fn prepend_preload(existing: Option<&OsStr>, lib: &Path) -> OsString {
    let mut out: Vec<u8> = lib.as_os_str().as_bytes().to_vec();
    for e in preload_entries(existing) {
        if !is_shim_entry(e, lib) {
            out.push(b':');
            out.extend_from_slice(e);
        }
    }
    OsString::from_vec(out)
}

/// `LD_PRELOAD` with every copy of the shim removed; `None` when nothing is
/// left (then the variable should be removed).
pub fn remove_from_preload(existing: Option<&OsStr>, lib: &Path) -> Option<OsString> {
    let kept: Vec<&[u8]> = preload_entries(existing)
        .into_iter()
        .filter(|e| !is_shim_entry(e, lib))
        .collect();
    if kept.is_empty() {
        None
    } else {
        Some(OsString::from_vec(kept.join(&b':')))
    }
}

/// How a command name resolved.
#[derive(Debug)]
pub enum Resolved {
    Found(PathBuf),
    /// It exists but cannot be executed (not executable, a directory...).
    NotExecutable(PathBuf, String),
    NotFound,
}

fn is_executable(p: &Path) -> Result<(), String> {
    let m = std::fs::metadata(p).map_err(|e| errstr(&e))?;
    if m.is_dir() {
        return Err("is a directory".into());
    }
    let c =
        CString::new(p.as_os_str().as_bytes()).map_err(|_| "contains a NUL byte".to_string())?;
    // SAFETY: c is a valid NUL-terminated string.
    if unsafe { libc::access(c.as_ptr(), libc::X_OK) } != 0 {
        return Err(errstr(&io::Error::last_os_error()));
    }
    Ok(())
}

/// Resolves `cmd` like `execvp`: a name with a slash is used as is; otherwise
/// each `PATH` entry is tried in order (an empty entry is the current
/// directory; no `PATH` means `/bin:/usr/bin`, glibc's default). A match that
/// exists but is not executable is remembered and reported only if nothing
/// later matches, as `execvp` does with EACCES.
pub fn resolve_command(cmd: &OsStr, path_var: Option<&OsStr>) -> Resolved {
    let bytes = cmd.as_bytes();
    if bytes.is_empty() {
        return Resolved::NotFound;
    }
    if bytes.contains(&b'/') {
        let p = PathBuf::from(cmd);
        if std::fs::symlink_metadata(&p).is_err() || std::fs::metadata(&p).is_err() {
            return Resolved::NotFound;
        }
        return match is_executable(&p) {
            Ok(()) => Resolved::Found(p),
            Err(e) => Resolved::NotExecutable(p, e),
        };
    }
    let default_path = OsStr::new("/bin:/usr/bin");
    let path_var = path_var.unwrap_or(default_path);
    let mut first_bad: Option<(PathBuf, String)> = None;
    for dir in path_var.as_bytes().split(|&c| c == b':') {
        let dir = if dir.is_empty() {
            Path::new(".")
        } else {
            Path::new(OsStr::from_bytes(dir))
        };
        let p = dir.join(cmd);
        if std::fs::metadata(&p).is_err() {
            continue;
        }
        match is_executable(&p) {
            Ok(()) => return Resolved::Found(p),
            Err(e) => {
                if first_bad.is_none() {
                    first_bad = Some((p, e));
                }
            }
        }
    }
    match first_bad {
        Some((p, e)) => Resolved::NotExecutable(p, e),
        None => Resolved::NotFound,
    }
}

/// Why `ld.so` would not preload the shim into a program.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    SetId(&'static str),
    Capabilities,
    Static(String),
    Machine {
        program: String,
        lib: String,
    },
    /// The file could not be read or parsed (reported, the caller decides).
    Unreadable(String),
}

impl Refusal {
    pub fn message(&self, prog: &Path) -> String {
        let p = prog.display();
        match self {
            Refusal::SetId(what) => format!(
                "refusing to run {p}: it is {what}, and the dynamic linker ignores LD_PRELOAD for such programs (secure-execution mode)"
            ),
            Refusal::Capabilities => format!(
                "refusing to run {p}: it has file capabilities, and the dynamic linker ignores LD_PRELOAD for such programs (secure-execution mode)"
            ),
            Refusal::Static(how) => format!(
                "refusing to run {p}: it is {how}, so LD_PRELOAD cannot apply; its POSIX AIO is glibc's, linked in"
            ),
            Refusal::Machine { program, lib } => format!(
                "refusing to run {p}: it is {program} but {LIB_NAME} is {lib}; the dynamic linker would skip the library"
            ),
            Refusal::Unreadable(e) => format!("cannot inspect {p}: {e}"),
        }
    }
}

/// Set-user-ID / set-group-ID bits (a set-group-ID bit without group execute
/// is the mandatory-locking mark, not set-group-ID).
pub fn setid_kind(mode: u32) -> Option<&'static str> {
    let suid = mode & libc::S_ISUID != 0;
    let sgid = mode & libc::S_ISGID != 0 && mode & libc::S_IXGRP != 0;
    match (suid, sgid) {
        (true, true) => Some("set-user-ID and set-group-ID"),
        (true, false) => Some("set-user-ID"),
        (false, true) => Some("set-group-ID"),
        (false, false) => None,
    }
}

fn has_file_caps(p: &Path) -> bool {
    let Ok(c) = CString::new(p.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: valid NUL-terminated strings; a NULL buffer of size 0 only asks the size.
    let n = unsafe {
        libc::getxattr(
            c.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    n > 0
}

/// The checks made before starting `prog` (already resolved) under the shim.
/// `lib` is the library's ELF description when known, to compare machines.
/// Scripts are followed to their interpreter (the kernel ignores set-ID bits
/// on scripts, so only the interpreter's matter).
pub fn preflight(prog: &Path, lib: Option<&elf::ElfInfo>) -> Result<(), Refusal> {
    let mut cur = prog.to_path_buf();
    for _ in 0..5 {
        let kind = elf::inspect_exec(&cur).map_err(|e| Refusal::Unreadable(e.to_string()))?;
        match kind {
            ExecKind::Script { interp } => {
                if interp.is_empty() {
                    return Ok(());
                }
                cur = PathBuf::from(interp);
            }
            ExecKind::Unknown => return Ok(()),
            ExecKind::Elf(info) => {
                let meta = std::fs::metadata(&cur).map_err(|e| Refusal::Unreadable(errstr(&e)))?;
                if let Some(what) = setid_kind(meta.permissions().mode()) {
                    return Err(Refusal::SetId(what));
                }
                if has_file_caps(&cur) {
                    return Err(Refusal::Capabilities);
                }
                if !info.is_dynamic() {
                    let how = info.static_description();
                    return Err(Refusal::Static(if cur == prog {
                        how
                    } else {
                        format!("a script whose interpreter {} is {}", cur.display(), how)
                    }));
                }
                if let Some(lib) = lib {
                    if !info.compatible_with(lib) {
                        return Err(Refusal::Machine {
                            program: info.describe_machine(),
                            lib: lib.describe_machine(),
                        });
                    }
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

/// "No such file or directory" without the " (os error 2)" suffix.
pub fn errstr(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(code) => {
            // SAFETY: strerror returns a valid static string for any code.
            let s = unsafe { std::ffi::CStr::from_ptr(libc::strerror(code)) };
            s.to_string_lossy().into_owned()
        }
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn prepend_to_empty() {
        let lib = Path::new("/opt/x/libaio_shim.so");
        assert_eq!(
            prepend_preload(None, lib),
            OsString::from("/opt/x/libaio_shim.so")
        );
        assert_eq!(
            prepend_preload(Some(os("")), lib),
            OsString::from("/opt/x/libaio_shim.so")
        );
    }

    #[test]
    fn prepend_keeps_others_in_order() {
        let lib = Path::new("/opt/x/libaio_shim.so");
        assert_eq!(
            prepend_preload(Some(os("/a/liba.so:/b/libb.so")), lib),
            OsString::from("/opt/x/libaio_shim.so:/a/liba.so:/b/libb.so")
        );
        // Spaces are separators too; empty entries vanish.
        assert_eq!(
            prepend_preload(Some(os("/a/liba.so /b/libb.so::")), lib),
            OsString::from("/opt/x/libaio_shim.so:/a/liba.so:/b/libb.so")
        );
    }

    #[test]
    fn prepend_never_duplicates() {
        let lib = Path::new("/opt/x/libaio_shim.so");
        let once = prepend_preload(Some(os("/a/liba.so")), lib);
        let twice = prepend_preload(Some(&once), lib);
        assert_eq!(once, twice);
        // Already present later in the list: moved to the front, not repeated.
        assert_eq!(
            prepend_preload(Some(os("/a/liba.so:/opt/x/libaio_shim.so:/b/libb.so")), lib),
            OsString::from("/opt/x/libaio_shim.so:/a/liba.so:/b/libb.so")
        );
        // Another copy of the shim elsewhere is dropped too.
        assert_eq!(
            prepend_preload(Some(os("/usr/lib/aio-shim/libaio_shim.so:/a/liba.so")), lib),
            OsString::from("/opt/x/libaio_shim.so:/a/liba.so")
        );
    }

    #[test]
    fn prepend_same_file_by_inode() {
        let dir = std::env::temp_dir().join(format!("aio-shim-test-ino-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("libaio_shim.so");
        std::fs::write(&real, b"x").unwrap();
        let link = dir.join("link.so");
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let v = prepend_preload(Some(link.as_os_str()), &real);
        assert_eq!(v, real.as_os_str());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn remove_shim() {
        let lib = Path::new("/opt/x/libaio_shim.so");
        assert_eq!(
            remove_from_preload(Some(os("/opt/x/libaio_shim.so")), lib),
            None
        );
        assert_eq!(remove_from_preload(None, lib), None);
        assert_eq!(
            remove_from_preload(Some(os("/opt/x/libaio_shim.so:/a/liba.so")), lib),
            Some(OsString::from("/a/liba.so"))
        );
    }

    #[test]
    fn preloadable_paths() {
        assert!(check_preloadable_path(Path::new("/a/b/libaio_shim.so")).is_ok());
        assert!(check_preloadable_path(Path::new("/a b/libaio_shim.so")).is_err());
        assert!(check_preloadable_path(Path::new("/a:b/libaio_shim.so")).is_err());
    }

    #[test]
    fn locate_order() {
        let dir = std::env::temp_dir().join(format!("aio-shim-test-loc-{}", std::process::id()));
        let bin = dir.join("bin");
        let libdir = dir.join("lib/aio-shim");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&libdir).unwrap();
        let exe = bin.join("aio-shim");
        std::fs::write(&exe, b"").unwrap();

        // Nothing there: an error naming both places.
        let e = locate_library(None, None, Some(&exe)).unwrap_err();
        assert!(
            e.contains("bin/libaio_shim.so") && e.contains("lib/aio-shim/libaio_shim.so"),
            "{e}"
        );

        // Install prefix layout.
        std::fs::write(libdir.join(LIB_NAME), b"").unwrap();
        let (p, src) = locate_library(None, None, Some(&exe)).unwrap();
        assert_eq!(src, LibSource::InstallPrefix);
        assert_eq!(p, std::fs::canonicalize(libdir.join(LIB_NAME)).unwrap());

        // Next to the executable wins over the prefix.
        std::fs::write(bin.join(LIB_NAME), b"").unwrap();
        let (_, src) = locate_library(None, None, Some(&exe)).unwrap();
        assert_eq!(src, LibSource::NextToExe);

        // The environment wins over both; an empty value is ignored.
        let other = dir.join("other.so");
        std::fs::write(&other, b"").unwrap();
        let (p, src) = locate_library(None, Some(other.as_os_str()), Some(&exe)).unwrap();
        assert_eq!(
            (p.file_name().unwrap(), src),
            (OsStr::new("other.so"), LibSource::Env)
        );
        let (_, src) = locate_library(None, Some(os("")), Some(&exe)).unwrap();
        assert_eq!(src, LibSource::NextToExe);

        // --lib wins over everything; a missing explicit path is an error.
        let (_, src) = locate_library(
            Some(other.as_os_str()),
            Some(os("/nonexistent")),
            Some(&exe),
        )
        .unwrap();
        assert_eq!(src, LibSource::Option);
        assert!(locate_library(None, Some(os("/nonexistent/x.so")), Some(&exe)).is_err());
        assert!(locate_library(Some(os("/nonexistent/x.so")), None, Some(&exe)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn resolve_like_execvp() {
        match resolve_command(os("sh"), Some(os("/nonexistent:/bin:/usr/bin"))) {
            Resolved::Found(p) => assert!(p.ends_with("sh")),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            resolve_command(os("no-such-cmd-xyz"), Some(os("/bin"))),
            Resolved::NotFound
        ));
        assert!(matches!(
            resolve_command(os("/no/such/file"), None),
            Resolved::NotFound
        ));
        let f = std::env::temp_dir().join(format!("aio-shim-test-noexec-{}", std::process::id()));
        std::fs::write(&f, b"data").unwrap();
        assert!(matches!(
            resolve_command(f.as_os_str(), None),
            Resolved::NotExecutable(..)
        ));
        // Found through PATH but not executable: reported as such, not "not found".
        let name = f.file_name().unwrap();
        assert!(matches!(
            resolve_command(name, Some(std::env::temp_dir().as_os_str())),
            Resolved::NotExecutable(..)
        ));
        let _ = std::fs::remove_file(&f);
        assert!(matches!(
            resolve_command(os("/tmp/"), None),
            Resolved::NotExecutable(..)
        ));
        assert!(matches!(resolve_command(os(""), None), Resolved::NotFound));
    }

    #[test]
    fn setid_bits() {
        assert_eq!(setid_kind(0o4755), Some("set-user-ID"));
        assert_eq!(setid_kind(0o2755), Some("set-group-ID"));
        assert_eq!(setid_kind(0o2745), None); // mandatory-locking mark
        assert_eq!(setid_kind(0o6755), Some("set-user-ID and set-group-ID"));
        assert_eq!(setid_kind(0o755), None);
    }

    #[test]
    fn preflight_dynamic_and_script() {
        assert_eq!(preflight(Path::new("/bin/ls"), None), Ok(()));
        let dir = std::env::temp_dir().join(format!("aio-shim-test-pf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let s = dir.join("s.sh");
        std::fs::write(&s, "#!/bin/sh\necho hi\n").unwrap();
        assert_eq!(preflight(&s, None), Ok(()));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
