//! aio_engine: the POSIX AIO engine behind `libaio_shim.so`.
//!
//! The cdylib in `shim/` holds only the `extern "C"` exports; everything
//! else lives here, one module per idea:
//!
//! | module      | owns                                                                   |
//! |-------------|------------------------------------------------------------------------|
//! | `abi`       | raw ABI types: glibc's `struct aiocb`/`sigevent`/`aioinit`, kernel `iocb` |
//! | `sys`       | raw syscalls (io_setup/submit/getevents, futex, rt_sigqueueinfo)        |
//! | `config`    | `AIO_SHIM_*` settings and `aio_init`                                   |
//! | `log`       | `aio_shim:` diagnostics on stderr, only when asked                     |
//! | `stats`     | counters and the report at exit                                        |
//! | `request`   | one validated, copied-out request and its state machine                |
//! | `slots`     | lock-free liveness tags for in-flight aiocbs (`aio_suspend`, duplicates) |
//! | `protocol`  | the lock-free protocols: result words, completing window, completion counter, LIO count |
//! | `sync`      | what `protocol` and `slots` use from outside (loom-models/ swaps it for loom) |
//! | `fdq`       | per-fd ordering: streams, `O_APPEND`, `aio_fsync` barriers, cancel lookup |
//! | `route`     | which backend serves a request                                         |
//! | `backend`   | kernel AIO (`kaio`) and worker threads (`pool`)                        |
//! | `complete`  | the one completion path: store results, wake, notify, finish lists     |
//! | `notify`    | SIGEV_NONE / SIGNAL / THREAD / THREAD_ID                               |
//! | `wait`      | the completion futex: `aio_suspend` and `LIO_WAIT`                     |
//! | `engine`    | the lazily built global state, reset in a forked child                 |
//! | `ops`       | the POSIX operations in Rust terms                                     |
#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
pub mod backend;
pub mod complete;
pub mod config;
pub mod engine;
pub mod fdmemo;
pub mod fdq;
pub mod log;
pub mod notify;
pub mod ops;
pub mod protocol;
pub mod request;
pub mod route;
pub mod slots;
pub mod stats;
pub mod sync;
pub mod sys;
pub mod threads;
pub mod wait;
