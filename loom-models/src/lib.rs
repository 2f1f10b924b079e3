//! The shim's lock-free protocols under loom.
//!
//! `protocol` and `slots` are the engine's own `src/protocol.rs` and
//! `src/slots.rs`, compiled unchanged: they name nothing but `crate::sync`
//! (and libc's errno numbers), which here is built on loom. The models are
//! in `tests/protocols.rs`; run them with
//! `cargo test --release -p loom-models` (scripts/test does).
pub mod sync;

#[path = "../../src/protocol.rs"]
pub mod protocol;
#[path = "../../src/slots.rs"]
pub mod slots;
