//! Raw ABI types, in one place: glibc's user-visible structures (`glibc`)
//! and the kernel's native AIO structures (`kernel`). Nothing here has
//! behaviour; layout is checked at compile time and by `tests/layout.rs`
//! against the system's `<aio.h>`.
pub mod glibc;
pub mod kernel;
