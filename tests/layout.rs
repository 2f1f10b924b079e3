//! The Rust mirrors in `src/abi/glibc.rs` against the system's `<aio.h>`:
//! a C program generated from the Rust tables prints every offset, size and
//! constant as the C compiler sees them; any difference fails. Run for
//! `struct aiocb` and, with `-D_FILE_OFFSET_BITS=64`, for `struct aiocb64`.
use aio_engine::abi::glibc::{constant_table, layout_table};
use std::process::Command;

fn c_program(aiocb_name: &str) -> String {
    let mut p = String::from(
        "#define _GNU_SOURCE\n#include <aio.h>\n#include <limits.h>\n#include <signal.h>\n#include <stddef.h>\n#include <stdio.h>\nint main(void){\n",
    );
    for (name, _, _) in layout_table() {
        if let Some(ty) = name.strip_prefix("sizeof(struct ").and_then(|s| s.strip_suffix(')')) {
            let ty = if ty == "aiocb" { aiocb_name } else { ty };
            p += &format!("printf(\"{name} 0 %zu\\n\", sizeof(struct {ty}));\n");
        } else {
            let (ty, field) = name.split_once('.').unwrap();
            let ty = if ty == "aiocb" { aiocb_name } else { ty };
            p += &format!(
                "printf(\"{name} %zu %zu\\n\", offsetof(struct {ty}, {field}), sizeof(((struct {ty}*)0)->{field}));\n"
            );
        }
    }
    for (name, _) in constant_table() {
        p += &format!("printf(\"{name} %ld\\n\", (long)({name}));\n");
    }
    p + "return 0;}\n"
}

fn expected() -> String {
    let mut s = String::new();
    for (name, off, size) in layout_table() {
        s += &format!("{name} {off} {size}\n");
    }
    for (name, v) in constant_table() {
        s += &format!("{name} {v}\n");
    }
    s
}

fn run_c(aiocb_name: &str, extra: &[&str]) -> String {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("aio-shim-layout-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let bin = dir.join("layout");
    std::fs::write(&src, c_program(aiocb_name)).unwrap();
    let st = Command::new("cc").args(extra).arg("-o").arg(&bin).arg(&src).status().expect("a C compiler (cc)");
    assert!(st.success(), "compiling the layout probe failed");
    let out = Command::new(&bin).output().unwrap();
    std::fs::remove_dir_all(&dir).ok();
    String::from_utf8(out.stdout).unwrap()
}

fn compare(got: &str, want: &str) {
    for (g, w) in got.lines().zip(want.lines()) {
        assert_eq!(g, w, "C says `{g}`, the Rust mirror says `{w}`");
    }
    assert_eq!(got.lines().count(), want.lines().count());
}

#[test]
fn aiocb_layout_matches_aio_h() {
    compare(&run_c("aiocb", &[]), &expected());
}

#[test]
fn aiocb64_layout_matches_aio_h() {
    compare(&run_c("aiocb64", &["-D_FILE_OFFSET_BITS=64", "-D_LARGEFILE64_SOURCE"]), &expected());
}

#[test]
fn a_moved_field_is_caught() {
    // The comparison itself must be able to fail.
    let want = expected().replace("aiocb.aio_offset 128 8", "aiocb.aio_offset 136 8");
    let got = run_c("aiocb", &[]);
    assert!(std::panic::catch_unwind(|| compare(&got, &want)).is_err());
}
