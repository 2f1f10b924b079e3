//! `aio-shim`: the command-line front end of libaio_shim.
//!
//! - `aio-shim [OPTIONS] [--] CMD ARGS...` runs CMD with the shim preloaded (run.rs)
//! - `aio-shim ab ...` compares CMD under glibc and under the shim (ab.rs)
//! - `aio-shim doctor ...` checks the machine, a file and a program (doctor.rs)
//! - `aio-shim bench ...` runs the source tree's `scripts/bench --quick` (bench.rs)
//!
//! This binary does not link the engine: it only starts programs with
//! `LD_PRELOAD`, reads ELF files and the stats the library writes.

mod ab;
mod bench;
mod cli;
mod doctor;
mod elf;
mod preload;
mod run;
mod stats;

use std::ffi::OsString;

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = match args.first().and_then(|a| a.to_str()) {
        Some("ab") => ab::main(&args[1..]),
        Some("doctor") => doctor::main(&args[1..]),
        Some("bench") => bench::main(&args[1..]),
        _ => run::main(&args),
    };
    std::process::exit(code);
}
