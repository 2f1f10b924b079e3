//! The backends that do the I/O: `kaio` (the kernel's native AIO, for
//! O_DIRECT files and block devices), `nowait` (RWF_NOWAIT on buffered
//! files: the page cache at once, the rest elsewhere), `uring` (io_uring:
//! streams; with `AIO_SHIM_BACKEND=uring` also O_DIRECT files and fsync),
//! `twin` (AIO_SHIM_DIRECT) and `pool` (worker threads doing
//! `pread`/`pwrite`/`fsync`, the universal fallback). All finish requests
//! through `complete::finish`.
pub mod kaio;
pub mod nowait;
pub mod pool;
pub mod twin;
pub mod uring;
