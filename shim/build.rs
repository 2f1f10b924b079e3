// Link libaio_shim.so with our version script: it defines glibc's version
// nodes so that each AIO symbol is exported under every version glibc
// exports it with (see src/lib.rs). GNU ld merges it with rustc's own
// anonymous script, which still makes everything else local.
fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=aio_shim.map");
    println!("cargo:rustc-cdylib-link-arg=-Wl,--version-script={dir}/aio_shim.map");
}
