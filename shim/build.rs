// Builds libaio_shim.so, the preloaded stub (stub.rs), next to the engine
// library cargo builds from src/lib.rs (libaio_shim_engine.so).
//
// The stub is `no_std` and needs `-C panic=abort`, which a workspace
// profile cannot give one crate, so it is compiled here with the same rustc
// and linked with our version script (aio_shim.map: glibc's version nodes,
// bound per symbol with .symver in stub.rs). The result is copied into the
// profile directory (target/<profile>/, where cargo puts the engine) by
// rename, so a process that has the old file mapped keeps it intact.
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap());
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    for f in ["stub.rs", "table.rs", "aio_shim.map"] {
        println!("cargo:rerun-if-changed={}", dir.join(f).display());
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let target = std::env::var("TARGET").unwrap();
    let built = out.join("libaio_shim.so");
    // Two LOAD segments (text+rodata, data) instead of four (rodata, text,
    // RELRO, data): the loader maps the stub with two mmaps and no mprotect.
    // Every preloaded process pays for these: 4000 interleaved execs of
    // /bin/true cost about +70 µs with four segments, +47 µs with two (and
    // +37 µs for a one-function C library linked the same way). Giving up
    // RELRO leaves the GOT (the stub's 19 libc imports) writable; the stub's own
    // dispatch table, ENTRY, is writable by design anyway. The first set is
    // lld's (rustc's default linker here), the second GNU ld's; with neither,
    // the default layout.
    let layouts: [&[&str]; 3] = [
        &["-Wl,--no-rosegment", "-Wl,-z,norelro"],
        &["-Wl,-z,noseparate-code", "-Wl,-z,norelro"],
        &[],
    ];
    let mut ok = false;
    for (i, layout) in layouts.iter().enumerate() {
        let mut cmd = Command::new(&rustc);
        cmd.args(["--edition", "2021", "--crate-type", "cdylib", "--crate-name", "aio_shim"])
            .args(["--target", &target])
            .args(["-C", "panic=abort", "-C", "opt-level=2", "-C", "codegen-units=1"])
            .args(["-C", "strip=debuginfo"])
            .arg("-C")
            .arg(format!("link-arg=-Wl,--version-script={}", dir.join("aio_shim.map").display()));
        for a in layout.iter() {
            cmd.arg("-C").arg(format!("link-arg={a}"));
        }
        let last = i + 1 == layouts.len();
        if !last {
            // A linker that does not know the flags fails; say nothing then.
            cmd.stderr(std::process::Stdio::null());
        }
        let status = cmd.arg("-o").arg(&built).arg(dir.join("stub.rs")).status().expect("cannot run rustc for the stub");
        if status.success() {
            if layout.is_empty() {
                println!("cargo:warning=libaio_shim.so: the linker took neither two-segment layout; start-up costs more");
            }
            ok = true;
            break;
        }
    }
    assert!(ok, "building libaio_shim.so (shim/stub.rs) failed");

    // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
    let profile_dir = out.ancestors().nth(3).expect("OUT_DIR layout").to_path_buf();
    let tmp = profile_dir.join(".libaio_shim.so.tmp");
    std::fs::copy(&built, &tmp).expect("copy libaio_shim.so");
    std::fs::rename(&tmp, profile_dir.join("libaio_shim.so")).expect("place libaio_shim.so");
}
